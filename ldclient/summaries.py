"""Variation summaries (``impact.evaluationsSummary.variations``) as numbers, and the readers around them.

Why numbers: at a million events the summaries written as JSON text were 94 MB, 80 % of the metric frame;
as a list of (value code, before, after) per event they are about 44 MB. The frame, the store's chunks and
the rollback metric all hold this one shape, ``SUMMARY_TYPE``: per event a list (null: no summary) of
``{value, before, after}``, ``value`` the canonical JSON of the variation's value (``canonical_json``:
sorted keys, no spaces, so equal values have equal text), dictionary-coded.

JSON text is still read: PostgreSQL keeps a summary as text, stores written by earlier versions hold text
chunks, and callers may build a frame from text. ``from_text`` turns it into numbers with a numpy reader of
the canonical text (no Python loop over events) and ``json.loads`` for anything else.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SUMMARY_TYPE = pa.list_(
    pa.struct(
        [
            pa.field("value", pa.dictionary(pa.int32(), pa.string())),
            pa.field("before", pa.int64()),
            pa.field("after", pa.int64()),
        ]
    )
)


def canonical_json(value: Any) -> str:
    """Variation values are matched by this text, so ``{"a":1,"b":2}`` equals ``{"b":2,"a":1}``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _plain_scalar(value: Any) -> bool:
    """Values whose orjson text is byte for byte ``canonical_json``'s: booleans, null, 64-bit integers and
    strings without control characters (floats are left out: the two write exponents differently)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return _INT64_MIN <= value <= _INT64_MAX
    return isinstance(value, str) and value.isprintable()


def value_text(value: Any) -> str:
    """``canonical_json(value)``, fast for the usual values."""
    if _plain_scalar(value):
        return orjson.dumps(value).decode()
    return canonical_json(value)


_ELEMENT_KEY = b'{"after":'
_BEFORE_KEY = b',"before":'
_VALUE_KEY = b',"value":'
_MAX_DIGITS = 18  # longer counts are not read by the fast path (they would not fit int64 safely)
PARSE_CHUNK = 1 << 16  # summaries per vectorised pass


@dataclass(frozen=True)
class Elements:
    """Summaries exploded to one entry per variation, in summary order; ``owner`` indexes the summaries."""

    owner: IntArray
    value: IntArray  # code of the variation's canonical value JSON (equal codes = equal values)
    before: FloatArray
    after: FloatArray


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def bytes_at(data: np.ndarray, pos: IntArray) -> np.ndarray:
    """Bytes at these positions; positions past either end read the edge byte. No check below
    can pass on such a read (keys have distinct bytes, a value needs its closing ``}``), so bad text
    just falls back to the slow path, and the text buffer is used as is, without a padded copy."""
    return np.take(data, pos, mode="clip")


def _find(data: np.ndarray, pattern: bytes, chunk: int = 1 << 22) -> IntArray:
    """Start positions of ``pattern`` in ``data``; scanned in chunks so the byte masks stay small."""
    found = []
    for lo in range(0, len(data), chunk):  # a loop over 4 MiB chunks, not events
        first = np.flatnonzero(data[lo : lo + chunk] == pattern[0]) + lo
        found.append(first[_matches(data, first + 1, pattern[1:])])
    return np.concatenate(found) if found else np.array([], dtype=np.int64)


def _matches(data: np.ndarray, pos: IntArray, pattern: bytes) -> BoolArray:
    """``data[pos:pos + len(pattern)] == pattern`` at every position (a loop over the pattern's bytes)."""
    ok = np.ones(len(pos), dtype=bool)
    for k, byte in enumerate(pattern):
        ok &= bytes_at(data, pos + k) == byte
    return ok


def _digits(data: np.ndarray, pos: IntArray) -> tuple[IntArray, IntArray]:
    """Value and length of the run of ASCII digits starting at each position (length 0: none)."""
    value = np.zeros(len(pos), dtype=np.int64)
    length = np.zeros(len(pos), dtype=np.int64)
    alive = np.ones(len(pos), dtype=bool)
    for k in range(_MAX_DIGITS):
        digit = bytes_at(data, pos + k) - np.uint8(48)  # uint8 wraps, so "is a digit" is just < 10
        alive &= digit < 10
        if not alive.any():
            break
        np.multiply(value, 10, out=value, where=alive)
        np.add(value, digit, out=value, where=alive)
        length += alive
    return value, length


_STRUCTURAL = np.zeros(256, dtype=bool)
_STRUCTURAL[list(b'"{}[]')] = True


def _escaped(data: np.ndarray, pos: IntArray) -> BoolArray:
    """Whether each byte is escaped, i.e. preceded by an odd run of backslashes."""
    odd = np.zeros(len(pos), dtype=bool)
    alive = np.ones(len(pos), dtype=bool)
    k = 1
    while True:  # a loop over the longest backslash run, not over events
        alive &= (pos >= k) & (bytes_at(data, pos - k) == ord("\\"))
        if not alive.any():
            return odd
        odd ^= alive
        k += 1


def _structural_starts(data: np.ndarray, offsets: IntArray) -> tuple[IntArray, BoolArray]:
    """Element starts found from the JSON structure: a ``{"after":`` whose ``{`` is outside string
    literals at nesting depth 1. Needed once values may be objects or arrays, which can themselves
    contain ``{"after":``. Works on the sparse structural bytes only, with running counts over the
    whole chunk; a summary counts as readable only if quotes and brackets are balanced at both of
    its ends (so an unbalanced neighbour cannot shift it). Returns (starts, readable per summary)."""
    pos = np.flatnonzero(_STRUCTURAL[data])
    char = data[pos]
    quote = (char == ord('"')) & ~_escaped(data, pos)
    quotes = np.cumsum(quote, dtype=np.int64)
    in_string = (quotes - quote) % 2 == 1
    step = (
        ((char == ord("{")) | (char == ord("["))).astype(np.int64) - ((char == ord("}")) | (char == ord("]")))
    ) * ~in_string
    depth = np.cumsum(step)
    at_bound = np.searchsorted(pos, offsets)  # first structural byte of each summary (and the end)
    balanced = (np.concatenate([[0], quotes])[at_bound] % 2 == 0) & (
        np.concatenate([[0], depth])[at_bound] == 0
    )
    candidates = pos[(char == ord("{")) & ~in_string & (depth - step == 1)]
    return candidates[_matches(data, candidates + 1, _ELEMENT_KEY[1:])], balanced[:-1] & balanced[1:]


@dataclass(frozen=True)
class _Read:
    owner: IntArray
    ok: BoolArray  # the element has the canonical shape
    nested: BoolArray  # its value is an object or array
    value_start: IntArray
    value_end: IntArray  # exclusive
    before: IntArray
    after: IntArray


def _read_elements(data: np.ndarray, offsets: IntArray, start: IntArray) -> _Read:
    """Read every element given the positions of its ``{"after":`` and check its shape: digits, keys,
    the value up to the ``}`` before the next element (or before the closing ``]``), no gaps."""
    owner = np.searchsorted(offsets, start, side="right") - 1
    after, after_len = _digits(data, start + len(_ELEMENT_KEY))
    before_key = start + len(_ELEMENT_KEY) + after_len
    before, before_len = _digits(data, before_key + len(_BEFORE_KEY))
    value_key = before_key + len(_BEFORE_KEY) + before_len
    value_start = value_key + len(_VALUE_KEY)
    last = np.ones(len(start), dtype=bool)
    last[:-1] = owner[1:] != owner[:-1]
    first = np.ones(len(start), dtype=bool)
    first[1:] = last[:-1]
    value_end = np.where(last, offsets[owner + 1], np.append(start[1:], 0)) - 2  # the element's closing "}"
    head, tail = bytes_at(data, value_start), bytes_at(data, value_end - 1)
    ok = (
        (after_len > 0)
        & (before_len > 0)
        & _matches(data, before_key, _BEFORE_KEY)
        & _matches(data, value_key, _VALUE_KEY)
        & (value_end > value_start)
        & (bytes_at(data, value_end) == ord("}"))
        & (bytes_at(data, value_end + 1) == np.where(last, ord("]"), ord(",")))
        & (~first | ((start == offsets[owner] + 1) & (bytes_at(data, offsets[owner]) == ord("["))))
        & ((head != ord('"')) | (tail == ord('"')))
        & ((head != ord("{")) | (tail == ord("}")))
        & ((head != ord("[")) | (tail == ord("]")))
    )
    nested = (head == ord("{")) | (head == ord("["))
    return _Read(owner, ok, nested, value_start, value_end, before, after)


def _ranges(starts: IntArray, lengths: IntArray) -> IntArray:
    """Concatenated ``arange(start, start + length)`` for every range, without a Python loop."""
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)


def _collect(data: np.ndarray, read: _Read, keep: BoolArray) -> tuple[IntArray, pa.Array, IntArray, IntArray]:
    """(owner, value text, before, after) of the kept elements; value texts copied out of ``data``."""
    vs, ve = read.value_start[keep], read.value_end[keep]
    value_offsets = np.zeros(len(vs) + 1, dtype=np.int64)
    np.cumsum(ve - vs, out=value_offsets[1:])
    text = bytes_at(data, _ranges(vs, ve - vs)) if len(data) else np.zeros(0, dtype=np.uint8)
    values = pa.LargeStringArray.from_buffers(len(vs), pa.py_buffer(value_offsets), pa.py_buffer(text))
    return read.owner[keep], values, read.before[keep], read.after[keep]


def _all_ok(read: _Read, n: int) -> BoolArray:
    """Summaries with at least one element and no malformed one."""
    return (np.bincount(read.owner, minlength=n) > 0) & (np.bincount(read.owner[~read.ok], minlength=n) == 0)


def _fast_elements(summaries: pa.Array) -> tuple[IntArray, pa.Array, IntArray, IntArray, BoolArray]:
    """Read canonical summaries straight from their UTF-8 buffer with numpy.

    Canonical JSON (``canonical_json``: sorted keys, no spaces) writes an element as
    ``{"after":N,"before":N,"value":V}``, elements joined by ``,`` inside ``[...]``, and V is then the
    canonical JSON of the value: exactly the text to compare. While every V is a scalar, a raw ``"``
    never occurs inside a string literal (it is escaped), so every ``{"after":`` is an element start.
    Summaries with an object or array value are re-read with starts found from the nesting structure.
    A summary is taken only if all its elements have the exact shape (1-18 digit counts).
    Returns (owner, value text, before, after) of the taken summaries and their mask.
    """
    n = len(summaries)
    empty = np.array([], dtype=np.int64)
    nothing = (empty, pa.array([], pa.large_string()), empty, empty, np.zeros(n, dtype=bool))
    if not n:
        return nothing
    offsets = np.frombuffer(summaries.buffers()[1], dtype=np.int64)[
        summaries.offset : summaries.offset + n + 1
    ]
    lo, hi = int(offsets[0]), int(offsets[-1])
    if hi == lo:
        return nothing
    data = np.frombuffer(summaries.buffers()[2], dtype=np.uint8)[lo:hi]  # zero-copy, read via _at
    offsets = offsets - lo
    valid = np.ones(n, dtype=bool) if summaries.null_count == 0 else _np(summaries.is_valid())
    read = _read_elements(data, offsets, _find(data, _ELEMENT_KEY))
    nested = np.bincount(read.owner[read.nested], minlength=n) > 0
    owner_ok = valid & ~nested & _all_ok(read, n)
    parts = [_collect(data, read, owner_ok[read.owner])]
    rows = np.flatnonzero(nested & valid)
    if len(rows):  # their values may hold a '{"after":' that starts no element: use the structure
        lengths = offsets[rows + 1] - offsets[rows]
        sub_data = data[_ranges(offsets[rows], lengths)]
        sub_offsets = np.concatenate([[0], np.cumsum(lengths)])
        starts, readable = _structural_starts(sub_data, sub_offsets)
        sub = _read_elements(sub_data, sub_offsets, starts)
        sub_ok = readable & _all_ok(sub, len(rows))
        owner, values, before, after = _collect(sub_data, sub, sub_ok[sub.owner])
        parts.append((rows[owner], values, before, after))
        owner_ok[rows] = sub_ok
    return (
        np.concatenate([p[0] for p in parts]),
        pa.chunked_array([p[1] for p in parts]).combine_chunks(),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
        owner_ok,
    )


def stored_count(value: Any) -> int:
    """A count as the store keeps it: ``int(value or 0)`` (missing is 0), within 64 bits. Raises as ``int``
    does, or ValueError beyond 64 bits: the fetch refuses such an event (``frame.storable_event_id``)."""
    count = int(value or 0)
    if not _INT64_MIN <= count <= _INT64_MAX:
        raise ValueError("an evaluation count is out of range")
    return count


def _slow_elements(text: str | None) -> list[tuple[str, int, int]] | None:
    """Elements of one summary the fast path could not take; unreadable text counts as an empty summary."""
    if text is None:
        return None
    try:
        items = json.loads(text)
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        if isinstance(item, dict):
            counts = [item.get("before"), item.get("after")]
            with contextlib.suppress(ValueError, OverflowError):  # NaN, infinite or past 64 bits: left out
                before, after = (stored_count(c) if isinstance(c, int | float) else 0 for c in counts)
                out.append((value_text(item.get("value")), before, after))
    return out


def _build(
    owner: IntArray, values: pa.Array, before: IntArray, after: IntArray, valid: BoolArray
) -> pa.Array:
    """A ``SUMMARY_TYPE`` array of ``len(valid)`` summaries from elements sorted by owner."""
    n = len(valid)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(owner, minlength=n), out=offsets[1:])
    coded = (
        values.dictionary_encode() if len(values) else pa.array([], pa.dictionary(pa.int32(), pa.string()))
    )
    if coded.type != pa.dictionary(pa.int32(), pa.string()):
        coded = coded.cast(pa.dictionary(pa.int32(), pa.string()))
    struct = pa.StructArray.from_arrays(
        [coded, pa.array(before, pa.int64()), pa.array(after, pa.int64())],
        fields=list(SUMMARY_TYPE.value_type),
    )
    mask = None if valid.all() else pa.array(~valid)
    return pa.ListArray.from_arrays(pa.array(offsets), struct, type=SUMMARY_TYPE, mask=mask)


def from_text(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Summaries written as JSON text (null: none) as ``SUMMARY_TYPE``. Canonical text takes the numpy
    reader; anything else goes through ``json.loads`` once per summary with its values re-canonicalised,
    so both give the same elements; unreadable text becomes an empty summary."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks else pa.array([], pa.large_string())
    texts = texts.cast(pa.large_string())
    owners: list[IntArray] = []
    values: list[pa.Array] = []
    befores: list[np.ndarray] = []
    afters: list[np.ndarray] = []
    fast: list[BoolArray] = []
    for lo in range(0, len(texts), PARSE_CHUNK):  # chunks keep temporaries cache- and page-warm
        owner, value, before, after, fast_ok = _fast_elements(texts.slice(lo, PARSE_CHUNK))
        owners.append(owner + lo)
        values.append(value)
        befores.append(before)
        afters.append(after)
        fast.append(fast_ok)
    valid = _np(texts.is_valid()).astype(bool) if len(texts) else np.zeros(0, dtype=bool)
    fast_ok = np.concatenate(fast) if fast else np.zeros(0, dtype=bool)
    slow_idx = np.flatnonzero(~fast_ok & valid)
    if len(slow_idx):
        rows = [
            (i, *element)
            for i, text in zip(slow_idx.tolist(), texts.take(pa.array(slow_idx)).to_pylist(), strict=True)
            for element in _slow_elements(text) or ()
        ]
        owners.append(np.array([r[0] for r in rows], dtype=np.int64))
        values.append(pa.array([r[1] for r in rows], type=pa.large_string()))
        befores.append(np.array([r[2] for r in rows], dtype=np.int64))
        afters.append(np.array([r[3] for r in rows], dtype=np.int64))
    owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
    all_values = pa.chunked_array(values, type=pa.large_string()).combine_chunks()
    before = np.concatenate(befores or [np.zeros(0, dtype=np.int64)]).astype(np.int64)
    after = np.concatenate(afters or [np.zeros(0, dtype=np.int64)]).astype(np.int64)
    if len(owner) > 1 and not np.all(owner[1:] >= owner[:-1]):  # nested or slow summaries came last
        order = np.argsort(owner, kind="stable")
        owner, all_values, before, after = (
            owner[order],
            all_values.take(pa.array(order)),
            before[order],
            after[order],
        )
    return _build(owner, all_values, before, after, valid)


def element_rows(variations: Any) -> list[dict[str, Any]] | None:
    """One API summary (``evaluationsSummary.variations``) as the frame's cell: ``{value, before, after}``
    with the value's canonical text. ValueError for a count beyond 64 bits (the store could not hold it)."""
    if not isinstance(variations, list):
        return None
    return [
        {
            "value": value_text(v.get("value")),
            "before": stored_count(v.get("before")),
            "after": stored_count(v.get("after")),
        }
        for v in variations
        if isinstance(v, Mapping)
    ]


def from_cells(cells: Sequence[Any]) -> pa.Array:
    """Frame cells (lists of ``element_rows``, JSON text, or None) as ``SUMMARY_TYPE``."""
    if any(isinstance(c, str) for c in cells):
        texts = [c if isinstance(c, str) or c is None else to_text(c) for c in cells]
        return from_text(pa.array(texts, type=pa.large_string()))
    return pa.array([list(c) if _is_cell(c) else None for c in cells], type=SUMMARY_TYPE)


def _is_cell(cell: Any) -> bool:
    """Whether ``cell`` holds a summary (text or elements) rather than None, NaN or pandas' NA."""
    return isinstance(cell, str | list | tuple) or hasattr(cell, "__array__")


def as_summaries(column: Any) -> pa.ChunkedArray:
    """A ``variations`` column (a frame's, or Arrow) as ``SUMMARY_TYPE``: zero-copy when it already is, read
    from JSON text when it is text (PostgreSQL, earlier versions' chunks), built from cells otherwise."""
    data = column if isinstance(column, pa.Array | pa.ChunkedArray) else None
    if data is None and str(getattr(column, "dtype", "")) != "object":
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            data = pa.array(column)  # pandas' Arrow-backed columns: zero-copy
    if isinstance(data, pa.Array):
        data = pa.chunked_array([data])
    if isinstance(data, pa.ChunkedArray):
        if data.type == SUMMARY_TYPE:
            return data
        if pa.types.is_null(data.type):
            return pa.chunked_array([pa.nulls(len(data), SUMMARY_TYPE)])
        if pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
            return pa.chunked_array([from_text(data)])
        if pa.types.is_list(data.type):
            return pa.chunked_array([from_cells(data.to_pylist())])
    return pa.chunked_array([from_cells(list(column))], type=SUMMARY_TYPE)


def elements(summaries: pa.Array) -> Elements:
    """The elements of ``SUMMARY_TYPE`` summaries, values coded so that equal canonical texts share a code."""
    if isinstance(summaries, pa.ChunkedArray):
        summaries = summaries.combine_chunks()
    start, stop = _np(summaries.offsets)[[0, -1]] if len(summaries) else (0, 0)
    owner = (
        _np(pc.list_parent_indices(summaries)).astype(np.int64) if len(summaries) else np.zeros(0, np.int64)
    )
    struct = summaries.values.slice(int(start), int(stop - start))
    value = struct.field("value")
    # a dictionary may list a text twice (chunks concatenated): code the texts, not the indices
    codes = _np(value.dictionary.dictionary_encode().indices).astype(np.int64)
    return Elements(
        owner=owner,
        value=codes[_np(value.indices).astype(np.int64)] if len(value) else np.zeros(0, np.int64),
        before=_np(struct.field("before")).astype(np.float64),
        after=_np(struct.field("after")).astype(np.float64),
    )


def to_text(cell: Any) -> str | None:
    """A frame cell as canonical JSON text (``[{"after":N,"before":N,"value":V}, ...]``), as PostgreSQL and
    ``python -m ldclient events --format csv`` keep it; None stays None."""
    rows = decoded_rows(cell)
    if rows is None:
        return None
    return "[" + ",".join(f'{{"after":{a},"before":{b},"value":{v}}}' for v, b, a in rows) + "]"


def decoded_rows(cell: Any) -> list[tuple[str, int, int]] | None:
    """A frame cell as (value's canonical text, before, after) per variation; None: no summary."""
    if not _is_cell(cell):
        return None
    if isinstance(cell, str):
        return _slow_elements(cell)
    return [(str(e["value"]), int(e["before"]), int(e["after"])) for e in cell]


def decoded(cell: Any) -> list[tuple[Any, int, int]]:
    """A frame cell as (value, before, after) per variation, the value as LaunchDarkly sent it."""
    return [(json.loads(v), b, a) for v, b, a in decoded_rows(cell) or ()]
