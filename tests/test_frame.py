"""The fetch's cheap storability check agrees with the full parse on every kind of malformed item."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldclient.demo import default_now_ms, generate_account
from ldclient.frame import INT64, flatten_event, storable_event_id
from tests.flag_event_model import FlagEvent

ODD_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    12,
    1.5,
    "",
    "x",
    "12",
    float("inf"),
    float("nan"),
    10**30,
    -(10**30),
    [],
    [1],
    [{}],
    {},
    {"a": 1},
)
PATHS = (
    ("id",),
    ("flagKey",),
    ("eventTime",),
    ("projectKey",),
    ("environmentKey",),
    ("description",),
    ("member",),
    ("member", "email"),
    ("member", "firstName"),
    ("actions",),
    ("impact",),
    ("impact", "size"),
    ("impact", "percentage"),
    ("impact", "evaluationsSummary"),
    ("impact", "evaluationsSummary", "variations"),
    ("impact", "evaluationsSummary", "variations", 0),
    ("impact", "evaluationsSummary", "variations", 0, "before"),
    ("impact", "evaluationsSummary", "variations", 0, "after"),
    ("impact", "evaluationsSummary", "variations", 0, "value"),
    ("experiments",),
    ("experiments", "totalCount"),
    ("experiments", "items"),
    ("experiments", "items", 0),
    ("experiments", "items", 0, "key"),
)


def full_verdict(item: Any) -> str | None:
    """What the fetch did before: build the event and its store row, and check the row fits 64 bits."""
    try:
        event = FlagEvent.from_api(item)
        row = flatten_event(item)
        for name in ("event_time", "experiments_count"):
            if row[name] is not None and not -INT64 <= row[name] < INT64:
                raise ValueError(f"{name} is out of range")
    except (ValueError, TypeError, OverflowError):
        return None
    return event.id


def quick_verdict(item: Any) -> str | None:
    try:
        return storable_event_id(item)
    except (ValueError, TypeError, OverflowError):
        return None


def with_value(item: dict, path: tuple, value: Any) -> dict | None:
    out = copy.deepcopy(item)
    node: Any = out
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None  # the path does not exist in this item
        if not isinstance(node, dict | list):
            return None
    try:
        node[path[-1]] = value
    except (IndexError, TypeError):
        return None
    return out


@pytest.fixture(scope="module")
def samples() -> list[dict]:
    events = generate_account(seed=7, now_ms=default_now_ms()).events
    with_experiments = next(e for e in events if e.get("experiments", {}).get("totalCount"))
    with_variations = next(e for e in events if e.get("impact", {}).get("evaluationsSummary"))
    global_event = next(e for e in events if not e.get("environmentKey"))
    return [with_experiments, with_variations, global_event]


def test_the_quick_check_gives_the_full_parse_verdict_for_every_odd_value(samples):
    checked = rejected = 0
    for item, path, value in itertools.product(samples, PATHS, ODD_VALUES):
        changed = with_value(item, path, value)
        if changed is None:
            continue
        expected = full_verdict(changed)
        assert quick_verdict(changed) == expected, (path, value)
        checked += 1
        rejected += expected is None
    for item in samples:
        assert quick_verdict(item) == full_verdict(item) == item["id"]
    for odd in ODD_VALUES:
        assert quick_verdict(odd) is None and full_verdict(odd) is None
    assert checked > 600 and rejected > 100, (checked, rejected)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(min_value=-(1 << 70), max_value=1 << 70),
            st.text(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        ),
        max_size=4,
    ),
    st.integers(min_value=0, max_value=1 << 66),
)
def test_summary_text_is_canonical_json_whatever_the_values(values, count):
    """Values are coded by their canonical text, written with a fast encoder where it is byte for byte the
    standard one: a value's code must not depend on which wrote it (rollbacks match values by it). A
    summary written back as text (PostgreSQL, CSV) is the canonical JSON of the summary."""
    from ldclient.summaries import canonical_json, element_rows, to_text, value_text

    for v in values:
        assert value_text(v) == canonical_json(v)
    elements = [{"value": v, "before": count, "after": i} for i, v in enumerate(values)]
    if (
        count >= 1 << 63 and elements
    ):  # the store keeps counts as 64-bit integers: such an event is refused whole
        with pytest.raises(ValueError):
            element_rows(elements)
        return
    assert to_text(element_rows(elements)) == canonical_json(elements)
