"""CSV exports (the pages' "Download CSV" and ``python -m ldclient events --format csv``), safe to open in a
spreadsheet.

Why: descriptions, member names, flag keys and names, tags and variation values are typed by LaunchDarkly
users. A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by Excel, LibreOffice and Google Sheets when the file is opened (OWASP "CSV Injection"), e.g.
``=HYPERLINK("http://evil","x")``. Following OWASP, such text cells get a leading single quote, which
spreadsheets read as "this is text". Only text is touched: numbers (including negative ones) stay numbers,
and the JSONL output stays raw.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula; else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are neutralised; numeric, boolean and time columns are as they were."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_datetime64_any_dtype(column.dtype):
            continue  # numbers (booleans too) and times hold no text; categoricals are checked below
        renamed = [neutralise_cell(c) for c in column.cat.categories] \
            if isinstance(column.dtype, pd.CategoricalDtype) else []
        if renamed and len(set(renamed)) == len(renamed):  # each distinct text once
            out[name] = column.cat.rename_categories(renamed)
        elif pd.api.types.is_string_dtype(column.dtype) and column.dtype != object:  # vectorised: big tables
            risky = column.str.startswith(FORMULA_STARTS).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                out[name] = column.where(~risky, "'" + column)
        else:  # object columns may mix text with numbers, which stay as they are
            out[name] = column.astype(object).map(neutralise_cell, na_action="ignore")
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV without the index, every text cell safe to open in a spreadsheet.

    Rows end in CRLF (RFC 4180), which also makes the writer quote a cell holding a lone carriage return:
    with pandas' default "\n" such a cell is written bare, and a spreadsheet would start a new row at the
    "\r", so ``"x\r=1"`` would put an unquoted formula in a cell of its own.
    """
    return neutralise_frame(frame).to_csv(index=False, lineterminator="\r\n").encode()
