"""CSV exports (the pages' "Download CSV" and ``python -m ldclient events --format csv``), safe to open in a
spreadsheet.

Why: descriptions, member names, flag keys and names, tags and variation values are typed by LaunchDarkly
users. A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by Excel, LibreOffice and Google Sheets when the file is opened (OWASP "CSV Injection"), e.g.
``=HYPERLINK("http://evil","x")``. Following OWASP, such text cells get a leading single quote, which
spreadsheets read as "this is text". Only text is touched: numbers (including negative ones) stay numbers,
and the JSONL output stays raw.

What a CSV holds is what the table shows: numbers rounded to the decimals the table displays (an age
shown as "12" is 12 in the file, not 11.958669907407407), and a cell the table shows as "—" (unknown) is
empty. Files are UTF-8 with a byte-order mark, which is how Excel knows a CSV is UTF-8: without it, a
flag named "Größe" or a member "Zoë" opens as "GrÃ¶ÃŸe" and "ZoÃ«".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Mapping
from typing import Any

import pandas as pd

from . import summaries

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLACEHOLDER = "—"  # what the tables show for an unknown value (dashboard/widgets.format_times)
ENCODING = "utf-8-sig"  # UTF-8 with a byte-order mark: Excel reads non-ASCII text right only with it
EVENTS_DECIMALS = {"impact_pct": 1}  # Flag events: "Impact %" is shown with one decimal
EVENT_ROW_DECIMALS = {"impact_percentage": 1}  # the same number in ``python -m ldclient events --format csv``
STALE_DECIMALS = {"age_days": 0, "days_since_change": 0}  # Cleanup: whole days
STALE_UNKNOWN = ("last_requested", "last_change")  # Cleanup: times shown as "—" when unknown


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
        renamed = (
            [neutralise_cell(c) for c in column.cat.categories]
            if isinstance(column.dtype, pd.CategoricalDtype)
            else []
        )
        if renamed and len(set(renamed)) == len(renamed):  # each distinct text once
            out[name] = column.cat.rename_categories(renamed)
        elif pd.api.types.is_string_dtype(column.dtype) and column.dtype != object:  # vectorised: big tables
            risky = column.str.startswith(FORMULA_STARTS).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                out[name] = column.where(~risky, "'" + column)
        else:  # object columns may mix text with numbers, which stay as they are
            out[name] = column.astype(object).map(neutralise_cell, na_action="ignore")
    return out


def round_number(value: Any, decimals: int) -> Any:
    """``value`` rounded as a table shows it with ``decimals`` places (``%.{decimals}f``); whole numbers
    for 0. Anything that is not a number (None, NaN, text, booleans) is returned as it is."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return value
    return int(round(value)) if decimals == 0 else round(float(value), decimals)


def round_columns(frame: pd.DataFrame, decimals: Mapping[str, int]) -> pd.DataFrame:
    """``frame`` with each numeric column in ``decimals`` rounded to that many places (0: whole numbers,
    written without ".0"); missing values stay missing, and other columns are untouched."""
    out = frame.copy()
    for name, places in decimals.items():
        if (
            name not in out.columns
            or not pd.api.types.is_numeric_dtype(out[name].dtype)
            or pd.api.types.is_bool_dtype(out[name].dtype)
        ):
            continue
        values = [round_number(v, places) for v in out[name].astype(object).where(out[name].notna(), None)]
        out[name] = pd.array(values, dtype="Int64" if places == 0 else "Float64")
    return out


def csv_bytes(
    frame: pd.DataFrame, *, decimals: Mapping[str, int] | None = None, unknown: Collection[str] = ()
) -> bytes:
    """``frame`` as a CSV file without the index: UTF-8 with a byte-order mark, every text cell safe to open
    in a spreadsheet, the columns in ``decimals`` rounded as the table shows them, and the "—" placeholder
    of the columns in ``unknown`` written as an empty cell (missing values are always empty).

    Rows end in CRLF (RFC 4180), which also makes the writer quote a cell holding a lone carriage return:
    with pandas' default "\n" such a cell is written bare, and a spreadsheet would start a new row at the
    "\r", so ``"x\r=1"`` would put an unquoted formula in a cell of its own.
    """
    out = round_columns(frame, decimals or {})
    for name in unknown:
        if name in out.columns:
            out[name] = out[name].where(out[name].astype(object) != PLACEHOLDER, None)
    return neutralise_frame(out).to_csv(index=False, lineterminator="\r\n").encode(ENCODING)


def events_csv(table: pd.DataFrame) -> bytes:
    """The Flag events page's download: ``report.events_table`` as shown."""
    return csv_bytes(table, decimals=EVENTS_DECIMALS)


def stale_flags_csv(table: pd.DataFrame) -> bytes:
    """The Cleanup page's download: the stale flags as shown (whole days, unknown times empty)."""
    return csv_bytes(table, decimals=STALE_DECIMALS, unknown=STALE_UNKNOWN)


def event_csv_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One ``frame.flatten_event`` row as ``python -m ldclient events --format csv`` writes it: missing
    values empty, the impact percentage with one decimal as the dashboard shows it, text neutralised."""
    row = {**row, "variations": summaries.to_text(row["variations"])} if "variations" in row else row
    return {
        k: ""
        if v is None
        else neutralise_cell(round_number(v, EVENT_ROW_DECIMALS[k]) if k in EVENT_ROW_DECIMALS else v)
        for k, v in row.items()
    }
