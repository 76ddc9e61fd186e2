"""The vectorised engine behind the public metrics: events as category codes, the variation summaries as
numbers (``ldclient.summaries``), rollbacks and flapping found with sorts and bincounts, never a Python loop
over events."""

from __future__ import annotations

import functools
import weakref
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from .. import summaries
from ..summaries import PARSE_CHUNK, bytes_at
from ..vocabulary import DAY_MS, IMPACT_SIZES
from ..working_hours import WorkingHours
from .definitions import (
    _IMPACTFUL,
    _UNKNOWN,
    DEFAULT_WORKING_HOURS,
    FLAP_TOGGLES,
    FLAP_WINDOW_MS,
    IMPACT_KEYS,
    MINUTE_MS,
    ROLLBACK_MAX_TVD,
    ROLLBACK_WINDOW_MS,
    TOGGLE_ACTION,
    TVD_EPSILON,
    BoolArray,
    FloatArray,
    IntArray,
)

# --------------------------------------------------------------------------------------------------
# Column extraction: the frame becomes plain numpy arrays once, every metric works on those.
# --------------------------------------------------------------------------------------------------


def _codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 = NA, narrowest int dtype) and their labels; categoricals already are that."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), np.asarray(series.cat.categories.astype(str), dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes, np.asarray(pd.Index(uniques).astype(str), dtype=object)


def _key_codes(series: pd.Series) -> tuple[IntArray, np.ndarray]:
    """Codes as int32, so that arithmetic on them (after an explicit int64 cast) cannot wrap."""
    codes, labels = _codes(series)
    return codes.astype(np.int32), labels


def _label_lut(labels: np.ndarray, fn: Any, dtype: Any, na: Any) -> np.ndarray:
    """Per-label lookup table with one extra slot at the end, so ``lut[codes]`` maps NA (-1) to ``na``."""
    return np.array([fn(label) for label in labels] + [na], dtype=dtype)


def _has_toggle(actions: str) -> bool:
    return TOGGLE_ACTION in (a.strip() for a in actions.split(","))


# ``id`` columns already checked to be duplicate-free. pyarrow arrays are immutable, so a column that
# is still the same array object still holds the same ids; a weak reference keeps nothing alive.
_UNIQUE_IDS: dict[int, weakref.ref[Any]] = {}
_KEY_MIX = tuple(
    np.uint64(k) for k in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5)
)


def _string_keys(texts: pa.ChunkedArray) -> npt.NDArray[np.uint64]:
    """A 64-bit key per string from its length and its first, middle and last 8 bytes: equal strings
    always get equal keys, different ones rarely do (and a clash only costs an exact check)."""
    keys = []
    for chunk in texts.chunks:
        chunk = chunk.cast(pa.large_string())
        for lo in range(0, len(chunk), PARSE_CHUNK):
            part = chunk.slice(lo, PARSE_CHUNK)
            offsets = np.frombuffer(part.buffers()[1], dtype=np.int64)[
                part.offset : part.offset + len(part) + 1
            ]
            data = (
                np.frombuffer(part.buffers()[2], dtype=np.uint8)
                if part.buffers()[2]
                else np.zeros(1, np.uint8)
            )
            start, length = offsets[:-1], np.diff(offsets)
            key = length.astype(np.uint64) * _KEY_MIX[0]
            for at, mix in (
                (start, _KEY_MIX[1]),
                (start + np.maximum(length - 8, 0) // 2, _KEY_MIX[2]),
                (start + np.maximum(length - 8, 0), _KEY_MIX[3]),
            ):
                word = np.zeros(len(part), dtype=np.uint64)
                for k in range(8):  # bytes past the string's end count as 0, never as a neighbour's
                    byte = np.where(k < length, bytes_at(data, at + k), 0).astype(np.uint64)
                    word |= byte << np.uint64(8 * k)
                key ^= word * mix
            keys.append(key)
    return np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)


def _ids_unique(ids: pd.Series) -> bool:
    """Whether no ``id`` repeats; cheap and small for pyarrow-backed strings, remembered per column."""
    texts = ids.array.__arrow_array__() if hasattr(ids.array, "__arrow_array__") else None
    if not isinstance(texts, pa.ChunkedArray) or texts.type not in (pa.string(), pa.large_string()):
        return bool(ids.is_unique)
    known = _UNIQUE_IDS.get(id(texts))
    if known is not None and known() is texts:
        return True
    keys = np.sort(_string_keys(texts))
    if texts.null_count or (keys[1:] == keys[:-1]).any():
        if not ids.is_unique:  # a clash of keys: decide exactly
            return False
    key = id(texts)

    def forget(_: object) -> None:
        _UNIQUE_IDS.pop(key, None)

    _UNIQUE_IDS[key] = weakref.ref(texts, forget)
    return True


def _dedup(events: pd.DataFrame) -> pd.DataFrame:
    """One row per ``id``; if copies differ, the latest ``event_time`` wins (ties: the later row). A frame
    without ``id`` is a store's (``METRIC_COLUMNS``): one row per event already, in (time, id) order."""
    if "id" not in events.columns or _ids_unique(events["id"]):
        return events
    ordered = events.sort_values("event_time", kind="stable")
    return ordered[~ordered["id"].duplicated(keep="last")]


_LABELS = {"flag": "flag_key", "env": "environment_key", "member": "member_email"}


def _column(df: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """One of ``_Events``' arrays for every row of ``df`` (and its labels, for the code columns)."""
    if name in _LABELS:
        return _key_codes(df[_LABELS[name]])
    if name == "time":
        return df["event_time"].to_numpy(dtype=np.int64), None
    if name == "impact":
        codes, labels = _codes(df["impact_size"])
        lut = _label_lut(
            labels, lambda s: IMPACT_KEYS.index(s) if s in IMPACT_SIZES else _UNKNOWN, np.int8, _UNKNOWN
        )
        return lut[codes], None
    if name == "toggle":
        codes, labels = _codes(df["actions"])
        return _label_lut(labels, _has_toggle, bool, False)[codes], None
    if name == "exp":
        exp = pd.to_numeric(df["experiments_count"], errors="coerce")
        return exp.to_numpy(dtype=np.float32, na_value=np.nan), None
    if name == "has_var":
        return df["variations"].notna().to_numpy(dtype=bool), None
    raise KeyError(name)


class _Events:
    """Numpy view of a (deduplicated) frame, or of a selection of its rows.

    Each array is built on first use, from the frame or as a take of the parent selection's: a metric
    pays only for the columns it reads (counts by day and impact need three of nine). Arrays are kept
    narrow (int32 codes, int8 impact, float32 counts): at a million events every freshly allocated
    temporary costs page faults, which dominate otherwise cheap passes.
    """

    time: IntArray
    flag: npt.NDArray[np.int32]
    env: npt.NDArray[np.int32]
    impact: npt.NDArray[np.int8]  # index into IMPACT_KEYS
    toggle: BoolArray
    member: npt.NDArray[np.int32]
    exp: npt.NDArray[np.float32]  # experiments.totalCount, NaN when not fetched
    has_var: BoolArray

    def __init__(
        self,
        df: pd.DataFrame,
        parent: _Events | None = None,
        rows: IntArray | slice | None = None,
    ) -> None:
        self.df = df
        self._parent, self._rows = parent, rows  # this selection is ``parent``'s ``rows``
        self._root: _Events = parent._root if parent is not None else self
        self._labels: dict[str, np.ndarray] = {}

    @classmethod
    def of(cls, events: pd.DataFrame, deduplicated: bool = False) -> _Events:
        """With ``deduplicated``, the caller vouches for the rows (``EventStore.load_frames``: each key's
        rows are, and an id shared by two keys is two events, one per key)."""
        return cls(events if deduplicated else _dedup(events))

    def __getattr__(self, name: str) -> Any:  # the arrays and labels, built on first use and kept
        if name in ("flags", "envs", "members"):
            root = self._root
            key = {"flags": "flag", "envs": "env", "members": "member"}[name]
            if key not in root._labels:
                getattr(root, key)
            value: Any = root._labels[key]
        elif name in _Events.__annotations__:
            if self._parent is None:
                value, labels = _column(self.df, name)
                if labels is not None:
                    self._labels[name] = labels
            else:
                value = getattr(self._parent, name)[self._rows]
        else:
            raise AttributeError(name)
        setattr(self, name, value)
        return value

    def __len__(self) -> int:
        if self._parent is None:
            return len(self.df)
        if isinstance(self._rows, slice):
            return len(range(*self._rows.indices(len(self._parent))))
        return len(self._rows)  # type: ignore[arg-type]

    def select(self, mask: BoolArray) -> _Events:
        if mask.all():
            return self
        rows = np.flatnonzero(mask)
        return _Events(self.df, self, rows)

    def rows(self, start: int, stop: int) -> _Events:
        """The contiguous rows ``[start, stop)`` (views, no copy): one key of a ``load_frames`` frame."""
        return _Events(self.df, self, slice(start, stop))

    @functools.cached_property
    def pos(self) -> IntArray | None:
        """Rows of ``df`` (None: all of them, in order), derived from the parent's when first needed."""
        if self._parent is None:
            return None
        rows, parent = self._rows, self._parent.pos
        if isinstance(rows, slice):
            return np.arange(len(self._parent))[rows] if parent is None else parent[rows]
        return rows if parent is None else parent[rows]

    def window(self, from_ms: int, to_ms: int, include_global: bool) -> _Events:
        if self._root.time_sorted:  # a store's frame: the window is a slice, found by two binary searches
            lo, hi = np.searchsorted(self.time, [from_ms, to_ms], side="left")
            part = self if lo == 0 and hi == len(self) else self.rows(int(lo), int(hi))
            return part if include_global else part.select(part.env >= 0)
        mask = (self.time >= from_ms) & (self.time < to_ms)
        if not include_global:
            mask &= self.env >= 0
        return self.select(mask)

    @functools.cached_property
    def time_sorted(self) -> bool:
        """Whether the rows are in time order (every selection keeps the order, so asked of the root)."""
        return bool(np.all(self.time[1:] >= self.time[:-1]))

    def df_rows(self, rows: IntArray) -> IntArray:
        """Positions in ``df`` of these rows of the selection."""
        return rows if self.pos is None else self.pos[rows]

    def ids(self, rows: IntArray) -> np.ndarray:
        return self.df["id"].iloc[self.df_rows(rows)].to_numpy(dtype=object)


def _check_window(from_ms: int, to_ms: int) -> None:
    if to_ms < from_ms:
        raise ValueError(f"reversed window: to_ms ({to_ms}) < from_ms ({from_ms})")


# --------------------------------------------------------------------------------------------------
# Local time: wall-clock milliseconds in the chosen zone, then integer arithmetic for day/hour/weekday.
# --------------------------------------------------------------------------------------------------


def _local_ms(time_ms: IntArray, tz: str) -> IntArray:
    """Unix ms -> local wall-clock ms (DST-aware: the offset is the one in force at each instant)."""
    if tz == "UTC":
        return time_ms
    utc = pd.DatetimeIndex(np.asarray(time_ms, dtype="datetime64[ms]")).tz_localize("UTC")
    return utc.tz_convert(tz).tz_localize(None).as_unit("ms").asi8


def _local_stamps(time_ms: IntArray, tz: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(time_ms, dtype="datetime64[ms]")).tz_localize("UTC").tz_convert(tz)


def _local_day(time_ms: IntArray, tz: str) -> IntArray:
    """Local calendar day as days since 1970-01-01 (so day strings and weekdays are cheap)."""
    return _local_ms(time_ms, tz) // DAY_MS


def _day_strings(days: IntArray) -> list[str]:
    return np.asarray(days, dtype="datetime64[D]").astype(str).tolist()


def _weekday(days: IntArray) -> IntArray:
    return (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0


def _day_range(from_ms: int, to_ms: int, tz: str, days: IntArray | None = None) -> tuple[int, int]:
    """First local day and number of days from the day of ``from_ms`` to the day of ``to_ms - 1``
    (none for an empty window). ``days`` (the events' local days) widen it in the one case they can
    fall outside: a zone whose clock goes back across midnight by less than a day's worth."""
    if to_ms <= from_ms:
        _local_ms(np.array([from_ms], dtype=np.int64), tz)  # still reject a bad timezone
        return 0, 0
    first, last = (int(d) for d in _local_day(np.array([from_ms, to_ms - 1], dtype=np.int64), tz))
    if days is not None and len(days):
        first, last = min(first, int(days.min())), max(last, int(days.max()))
    return first, last - first + 1


def _off_hours(
    time_ms: IntArray, work: WorkingHours | None, tz: str = "UTC", local_ms: IntArray | None = None
) -> BoolArray:
    """Off-hours in the team's working time: not on a working day, or outside ``[start, end)``, both in
    ``work.timezone``. ``local_ms`` (wall-clock ms in ``tz``) is reused when the zones are the same."""
    work = work or DEFAULT_WORKING_HOURS
    local = local_ms if local_ms is not None and tz == work.timezone else _local_ms(time_ms, work.timezone)
    minute = (local // MINUTE_MS) % (24 * 60)
    workday = np.array([d in work.days for d in range(7)], dtype=bool)[_weekday(local // DAY_MS)]
    return ~(workday & (minute >= work.start_minute) & (minute < work.end_minute))


# --------------------------------------------------------------------------------------------------
# Variations: TVD between summaries' (owner, value code, before, after) element arrays.
# --------------------------------------------------------------------------------------------------

_PAIR_CHUNK = 1 << 15  # candidate pairs per rollback pass (at most 2 summaries each)


def _expand(
    owner_of_pair: IntArray, starts: IntArray, lengths: IntArray, sorted_elements: IntArray
) -> tuple[IntArray, IntArray]:
    """For each pair, the elements of its summary: (pair index, element index) per element."""
    lens = lengths[owner_of_pair]
    pair = np.repeat(np.arange(len(owner_of_pair), dtype=np.int64), lens)
    offsets = np.cumsum(lens) - lens
    within = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(offsets, lens)
    return pair, sorted_elements[np.repeat(starts[owner_of_pair], lens) + within]


def _general_tvd(
    a: IntArray,
    b: IntArray,
    el: summaries.Elements,
    p: FloatArray,
    q: FloatArray,
    starts: IntArray,
    lengths: IntArray,
    sorted_elements: IntArray,
) -> FloatArray:
    """TVD for arbitrary summaries: one bucket per (pair, value), a value absent on one side counts 0."""
    pair_a, elem_a = _expand(a, starts, lengths, sorted_elements)
    pair_b, elem_b = _expand(b, starts, lengths, sorted_elements)
    n_values = int(el.value.max()) + 1
    keys = np.concatenate([pair_a * n_values + el.value[elem_a], pair_b * n_values + el.value[elem_b]])
    key_codes, unique_keys = pd.factorize(keys)
    diff = np.abs(np.bincount(key_codes, weights=np.concatenate([p[elem_a], -q[elem_b]])))
    return np.asarray(
        0.5 * np.bincount(unique_keys // n_values, weights=diff, minlength=len(a)), dtype=np.float64
    )


def _pair_tvd(
    owner_a: IntArray, owner_b: IntArray, el: summaries.Elements, n_owners: int
) -> tuple[BoolArray, FloatArray]:
    """TVD between summary ``owner_a``'s before- and ``owner_b``'s after-distribution, pairwise.

    Returns (defined, tvd); defined is False where a total is not positive (tvd is NaN there).
    Most summaries have one or two distinct values (boolean flags), so those pairs are computed
    directly from per-summary arrays; the rest go through the general bucketed computation.
    """
    lengths = np.bincount(el.owner, minlength=n_owners)
    sorted_elements = (
        np.arange(len(el.owner))
        if np.all(el.owner[1:] >= el.owner[:-1])
        else np.argsort(el.owner, kind="stable")
    )
    starts = np.cumsum(lengths) - lengths
    before_total = np.bincount(el.owner, weights=el.before, minlength=n_owners)
    after_total = np.bincount(el.owner, weights=el.after, minlength=n_owners)
    defined = (before_total[owner_a] > 0) & (after_total[owner_b] > 0)
    tvd = np.full(len(owner_a), np.nan)
    if not defined.any():
        return defined, tvd
    with np.errstate(divide="ignore", invalid="ignore"):
        p = el.before / before_total[el.owner]  # each element's share of its own summary
        q = el.after / after_total[el.owner]
    a, b = owner_a[defined], owner_b[defined]
    # per summary: its first two elements (-1 = none), so 1- and 2-value pairs need no expansion
    first = np.where(lengths > 0, sorted_elements[np.minimum(starts, len(el.owner) - 1)], -1)
    second = np.where(lengths > 1, sorted_elements[np.minimum(starts + 1, len(el.owner) - 1)], -1)
    v0, v1 = el.value[first], el.value[second]
    p0, p1, q0, q1 = p[first], p[second], q[first], q[second]
    la, lb = lengths[a], lengths[b]
    one = (la == 1) & (lb == 1)
    two = (la == 2) & (lb == 2) & (v0[a] != v1[a]) & (v0[b] != v1[b])
    same = two & (v0[a] == v0[b]) & (v1[a] == v1[b])
    swapped = two & (v0[a] == v1[b]) & (v1[a] == v0[b])
    result = np.full(len(a), np.nan)
    result[one] = np.where(v0[a[one]] == v0[b[one]], 0.0, 1.0)
    result[same] = 0.5 * (np.abs(p0[a[same]] - q0[b[same]]) + np.abs(p1[a[same]] - q1[b[same]]))
    result[swapped] = 0.5 * (
        np.abs(p0[a[swapped]] - q1[b[swapped]]) + np.abs(p1[a[swapped]] - q0[b[swapped]])
    )
    rest = ~(one | same | swapped)
    if rest.any():
        result[rest] = _general_tvd(a[rest], b[rest], el, p, q, starts, lengths, sorted_elements)
    tvd[defined] = result
    return defined, tvd


# --------------------------------------------------------------------------------------------------
# Rollbacks and flapping.
# --------------------------------------------------------------------------------------------------


def _group_time_order(group: IntArray, t: IntArray) -> IntArray:
    """Permutation sorting by (group, t). Frames usually come time-sorted (``events_to_frame`` sorts),
    then a stable radix sort on the small group codes is enough; else pack both into one int64 key."""
    if len(t) < 2:
        return np.arange(len(t))
    if np.all(t[1:] >= t[:-1]):
        return np.argsort(group.astype(np.uint16) if group.max() < 2**16 else group, kind="stable")
    t = t - t.min()
    if int(t.max()).bit_length() + int(group.max()).bit_length() <= 62:  # stable: ties keep row order
        return np.argsort((group.astype(np.int64) << int(t.max()).bit_length()) | t, kind="stable")
    return np.lexsort((t, group))


def _group(ev: _Events, rows: IntArray) -> IntArray:
    """One code per (flag, environment) of these rows: int32 where the codes fit (half the memory at a
    million rows), else int64. Computed in place: no temporaries beyond the result."""
    width = len(ev.envs) + 1
    wide = (len(ev.flags) + 1) * width >= 2**31
    group: IntArray = ev.flag[rows].astype(np.int64 if wide else np.int32, copy=False)
    group *= width
    group += ev.env[rows]
    return group


def _sorted_by_flag_env_time_id(ev: _Events, rows: IntArray) -> IntArray:
    """``rows`` ordered by (flag, environment, time, id); only the order *within* a flag/env matters."""
    if len(rows) < 2:
        return rows
    group = _group(ev, rows)
    t = ev.time[rows]
    order = _group_time_order(group, t)
    ordered = rows[order]
    sorted_group = group[order]
    del group  # each temporary goes as soon as it is used: at a million rows each is 4-8 MB
    same = sorted_group[1:] == sorted_group[:-1]
    del sorted_group
    sorted_time = t[order]
    del t, order
    same &= sorted_time[1:] == sorted_time[:-1]
    del sorted_time
    # equal (flag, env, time): order those runs by id. Without ids the frame is a store's, in (time, id)
    # order, and the stable sort above kept that order within each run.
    if "id" in ev.df.columns and same.any():
        tied = np.zeros(len(ordered), dtype=bool)
        tied[1:] |= same
        tied[:-1] |= same
        at = np.flatnonzero(tied)
        run = np.cumsum(np.concatenate([[True], ~same]))[at]  # run number keeps runs in place
        frame = pd.DataFrame({"run": run, "id": ev.ids(ordered[at]).astype(str)})
        perm = frame.sort_values(["run", "id"], kind="stable").index.to_numpy()
        ordered[at] = ordered[at][perm]
    return ordered


def _rollbacks(ev: _Events) -> tuple[IntArray, IntArray, FloatArray]:
    """Rollback pairs (A rows, B rows, tvd) among consecutive non-global events of a flag/environment."""
    rows = np.flatnonzero((ev.env >= 0) & (ev.flag >= 0))
    empty = np.array([], dtype=np.int64)
    if len(rows) < 2:
        return empty, empty, empty.astype(np.float64)
    ordered = _sorted_by_flag_env_time_id(ev, rows)
    a, b = ordered[:-1], ordered[1:]
    candidate = ev.flag[a] == ev.flag[b]  # the cheap tests first, each in place: few temporaries
    candidate &= ev.env[a] == ev.env[b]
    candidate &= ev.has_var[a]
    candidate &= ev.has_var[b]
    candidate &= _IMPACTFUL[ev.impact[a]]
    a, b = a[candidate], b[candidate]
    near = ev.time[b] - ev.time[a] <= ROLLBACK_WINDOW_MS
    a, b = a[near], b[near]
    if not len(a):
        return empty, empty, empty.astype(np.float64)
    lists = summaries.as_summaries(ev.df["variations"])
    hit = np.zeros(len(a), dtype=bool)
    tvd = np.full(len(a), np.nan)
    for lo in range(0, len(a), _PAIR_CHUNK):  # chunks bound the memory and keep it cache-warm
        part = slice(lo, lo + _PAIR_CHUNK)
        n = len(a[part])
        slots, rows = pd.factorize(np.concatenate([a[part], b[part]]))  # each summary read once
        taken = lists.take(pa.array(ev.df_rows(rows))).combine_chunks()
        defined, tvd[part] = _pair_tvd(slots[:n], slots[n:], summaries.elements(taken), len(rows))
        hit[part] = defined & (tvd[part] <= ROLLBACK_MAX_TVD + TVD_EPSILON)
    return a[hit], b[hit], tvd[hit]


def _flapping_codes(ev: _Events) -> IntArray:
    """Flag codes with >= 3 ``updateOn`` events within 7 days in one environment."""
    rows = np.flatnonzero(ev.toggle & (ev.env >= 0) & (ev.flag >= 0))
    if len(rows) < FLAP_TOGGLES:
        return np.array([], dtype=np.int64)
    rows = rows[_group_time_order(_group(ev, rows), ev.time[rows])]
    k = FLAP_TOGGLES - 1
    flag, env, t = ev.flag[rows], ev.env[rows], ev.time[rows]
    hit = (flag[k:] == flag[:-k]) & (env[k:] == env[:-k]) & (t[k:] - t[:-k] <= FLAP_WINDOW_MS)
    return np.unique(flag[k:][hit])


def _sorted_labels(labels: np.ndarray, codes: IntArray) -> list[str]:
    return sorted(str(labels[c]) for c in codes)
