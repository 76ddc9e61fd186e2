"""The events DataFrame: one row per flag event, compact dtypes, the one shape metrics and pages read.

Raw API items (``FlagEventRep`` dicts) and the store's rows both end up here, so every consumer
sees the same columns whatever the source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from . import summaries

CATEGORY_COLUMNS = (
    "project_key",
    "environment_key",
    "flag_key",
    "event_type",
    "member_email",
    "member_name",
    "actions",
    "impact_size",
)
STRING_COLUMNS = ("id", "description", "experiment_keys")
SUMMARY_DTYPE = pd.ArrowDtype(summaries.SUMMARY_TYPE)  # ``variations``: numbers, see ldclient/summaries.py
COLUMNS = (
    "id",
    "project_key",
    "environment_key",
    "flag_key",
    "event_type",
    "event_time",
    "description",
    "member_email",
    "member_name",
    "actions",
    "impact_size",
    "impact_percentage",
    "variations",
    "experiments_count",
    "experiment_keys",
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def flatten_event(item: Mapping[str, Any]) -> dict[str, Any]:
    """One FlagEventRep as a flat row of the frame's columns; missing optional parts become None."""
    member = _v if isinstance(_v := item.get("member"), Mapping) else None
    impact = _v if isinstance(_v := item.get("impact"), Mapping) else {}
    summary = _v if isinstance(_v := impact.get("evaluationsSummary"), Mapping) else None
    variations = summaries.element_rows(summary.get("variations")) if summary is not None else None
    experiments = _v if isinstance(_v := item.get("experiments"), Mapping) else None
    exp_count = None
    exp_keys = None
    if experiments is not None:
        count = experiments.get("totalCount")
        exp_count = int(count) if isinstance(count, int | float) else len(experiments.get("items") or [])
        keys = [
            e["key"] for e in experiments.get("items") or [] if isinstance(e, Mapping) and _text(e.get("key"))
        ]
        exp_keys = ",".join(keys) if keys else None
    actions = item.get("actions")
    name = None
    if member is not None:
        name = (
            " ".join(p for p in (_text(member.get("firstName")), _text(member.get("lastName"))) if p) or None
        )
    pct = impact.get("percentage")
    size = impact.get("size")
    return {
        "id": str(item["id"]),
        "project_key": _text(item.get("projectKey")),
        "environment_key": _text(item.get("environmentKey")) or None,
        "flag_key": _text(item.get("flagKey")),
        "event_type": _text(item.get("eventType")),
        "event_time": int(item["eventTime"]),
        "description": _text(item.get("description")) or "",
        "member_email": _text(member.get("email")) if member else None,
        "member_name": name,
        "actions": ",".join(a for a in actions if isinstance(a, str)) if isinstance(actions, list) else None,
        "impact_size": size if isinstance(size, str) else None,
        "impact_percentage": float(pct) if isinstance(pct, int | float) else None,
        "variations": variations,
        "experiments_count": exp_count,
        "experiment_keys": exp_keys,
    }


INT64 = 1 << 63  # the store keeps times and counts as 64-bit integers


def storable_event_id(item: Any) -> str:
    """The ``id`` of an API item the store can keep; ValueError, TypeError or OverflowError otherwise.

    Exactly what ``FlagEvent.from_api`` or ``flatten_event`` would reject (or the store could not hold),
    checked without building either: the fetch checks every event, and building both objects only to
    throw them away was a third of its CPU time. tests/test_frame.py holds the two to the same verdicts.
    """
    if not isinstance(item, Mapping):
        raise ValueError("item is not an object")
    for name in ("id", "flagKey"):
        value = item.get(name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")
    event_time = item.get("eventTime")
    if isinstance(event_time, bool) or not isinstance(event_time, int | float):
        raise ValueError("eventTime must be a number of milliseconds")
    if not -INT64 <= int(event_time) < INT64:
        raise ValueError("eventTime is out of range")
    impact = item.get("impact")
    summary = impact.get("evaluationsSummary") if isinstance(impact, Mapping) else None
    if isinstance(summary, Mapping) and isinstance(summary.get("variations"), list):
        for v in summary["variations"]:
            if isinstance(v, Mapping):
                summaries.stored_count(v.get("before")), summaries.stored_count(v.get("after"))
    experiments = item.get("experiments")
    if isinstance(experiments, Mapping):
        count, items = experiments.get("totalCount"), experiments.get("items") or []
        total = int(count) if isinstance(count, int | float) else len(items)
        if not -INT64 <= total < INT64:
            raise ValueError("experiments.totalCount is out of range")
        for _ in items:  # flatten_event reads their keys
            pass
    return item["id"]


def frame_from_columns(columns: Mapping[str, Any], names: Sequence[str] = COLUMNS) -> pd.DataFrame:
    """Build the frame's ``names`` columns from arrays, applying the compact dtypes.

    Columns already in their dtype are taken as they are (no copy): the store's Arrow-backed text stays
    shared with the chunk it was read from, which matters at a million events.
    """
    df = pd.DataFrame({name: columns.get(name, []) for name in names}, copy=False)
    for name in names:
        dtype = df[name].dtype
        if name in CATEGORY_COLUMNS and not isinstance(dtype, pd.CategoricalDtype):
            df[name] = df[name].astype("category")
        elif name in STRING_COLUMNS and dtype != "string":
            df[name] = df[name].astype("string")
        elif name == "event_time" and dtype != "int64":
            df[name] = df[name].astype("int64")
        elif name == "impact_percentage" and dtype != "float64":
            df[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
        elif name == "experiments_count" and dtype != "Int64":
            df[name] = pd.to_numeric(df[name], errors="coerce").astype("Int64")
        elif name == "variations" and dtype != SUMMARY_DTYPE:
            df[name] = _summary_series(df[name], df.index)
    return df


def _summary_series(column: Any, index: pd.Index | None = None) -> pd.Series:
    """A ``variations`` column of any kind (``summaries.as_summaries``) as the frame's: no copy of numbers."""
    return pd.Series(pd.arrays.ArrowExtensionArray(summaries.as_summaries(column)), index=index, copy=False)


def empty_frame() -> pd.DataFrame:
    return frame_from_columns({})


def events_to_frame(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """API items to the frame, deduplicated by ``id`` and sorted by time (then id) for stable output."""
    rows = [flatten_event(i) for i in items]
    if not rows:
        return empty_frame()
    df = frame_from_columns({name: [r[name] for r in rows] for name in COLUMNS})
    df = df.drop_duplicates("id", keep="last").sort_values(["event_time", "id"], kind="stable")
    return df.reset_index(drop=True)


def filter_frame(
    df: pd.DataFrame,
    *,
    impact: tuple[str, ...] = (),
    experiments_only: bool = False,
    include_global: bool = True,
    query: str = "",
) -> pd.DataFrame:
    """The dashboard's optional filters; an empty selection means no filter."""
    mask = pd.Series(True, index=df.index)
    if impact:
        mask &= df["impact_size"].isin(impact).to_numpy()
    if experiments_only:
        mask &= (df["experiments_count"].fillna(0) > 0).to_numpy()
    if not include_global:
        mask &= df["environment_key"].notna().to_numpy()
    if query:
        keys = df["flag_key"].astype("string").str.contains(query, case=False, regex=False)
        mask &= keys.fillna(False).to_numpy()
    return df if bool(mask.all()) else df[mask.to_numpy()]


ARROW_SCHEMA = None  # built lazily: pyarrow is only needed where the store reads


def arrow_schema() -> Any:
    """Column types of the store's columnar chunks (``COLUMNS`` then the write ``seq``)."""
    global ARROW_SCHEMA
    if ARROW_SCHEMA is None:
        import pyarrow as pa

        fields = []
        for name in COLUMNS:
            if name in CATEGORY_COLUMNS:
                kind = pa.dictionary(pa.int32(), pa.string())
            elif name in ("event_time", "experiments_count"):
                kind = pa.int64()
            elif name == "impact_percentage":
                kind = pa.float64()
            elif name == "variations":
                kind = summaries.SUMMARY_TYPE
            else:
                kind = pa.large_string()  # what pandas' Arrow-backed strings use: no conversion on load
            fields.append(pa.field(name, kind))
        ARROW_SCHEMA = pa.schema([*fields, pa.field("seq", pa.int64())])
    return ARROW_SCHEMA


def arrow_from_rows(rows: list[tuple[Any, ...]], seq_start: int = 0) -> Any:
    """Store rows (in ``COLUMNS`` order) as an Arrow chunk; ``seq`` numbers the rows from ``seq_start``."""
    import pyarrow as pa

    schema = arrow_schema()
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
    columns.append(range(seq_start, seq_start + len(rows)))
    arrays = []
    for field, values in zip(schema, columns, strict=True):
        if pa.types.is_dictionary(field.type):
            arrays.append(pa.array(values, type=pa.string()).dictionary_encode())
        else:
            arrays.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def frame_from_arrow(table: Any) -> pd.DataFrame:
    """Arrow to the events frame without materialising Python strings: the fast path for big stores.

    The frame has the table's columns among ``COLUMNS`` (a store may load only some of them).
    """
    import pyarrow as pa

    columns: dict[str, Any] = {}
    names = [name for name in COLUMNS if name in table.column_names]
    for name in names:
        column = table.column(name)
        if name in CATEGORY_COLUMNS:
            values = (
                column.to_pandas()
                if pa.types.is_dictionary(column.type)
                else column.to_pandas().astype("category")
            )
            columns[name] = values.cat.set_categories(sorted(values.cat.categories))
        elif name == "experiments_count":
            columns[name] = column.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        elif name == "variations":  # text from PostgreSQL or an earlier version's chunk: read as numbers
            columns[name] = _summary_series(column)
        elif name in STRING_COLUMNS:  # straight to the frame's "string" dtype: no copy of the text
            columns[name] = column.to_pandas(
                types_mapper={
                    pa.string(): pd.StringDtype("pyarrow"),
                    pa.large_string(): pd.StringDtype("pyarrow"),
                }.get
            )
        else:
            columns[name] = column.to_pandas()
    return frame_from_columns(columns, names)
