"""Variation labels of the flag-detail split chart: short and unique in the legend, the value in the tooltip."""

from __future__ import annotations

import json

import pytest

from dashboard import charts
from ldclient.frame import events_to_frame
from ldclient.report import FULL_VALUE_LIMIT, LABEL_LIMIT, short_labels, variation_rows

BIG = json.dumps(
    {"theme": {"primary": "#405BFF", "secondary": "#D55E00"}, "layout": "grid", "items": 24}, sort_keys=True
)


def test_short_labels_are_kept_as_they_are():
    values = ["true", "false", "", "blue", "x" * LABEL_LIMIT]
    assert short_labels(values) == {v: v for v in values}


def test_a_long_label_is_cut_with_an_ellipsis():
    labels = short_labels([BIG])
    assert len(BIG) > LABEL_LIMIT
    assert len(labels[BIG]) == LABEL_LIMIT and labels[BIG].endswith("…")
    assert BIG.startswith(labels[BIG][:-1])


def test_labels_that_collide_after_the_cut_get_a_suffix_within_the_limit():
    a, b, c = BIG, BIG[:-2] + "9}", BIG + " "  # the same first 40 characters
    labels = short_labels([a, b, c, a])
    assert list(labels) == [a, b, c]
    assert len(set(labels.values())) == 3
    assert labels[a].endswith("…") and labels[b].endswith("… (2)") and labels[c].endswith("… (3)")
    assert all(len(label) <= LABEL_LIMIT for label in labels.values())
    assert labels[b].startswith(labels[a][:30])


def test_a_value_that_fits_keeps_its_text_even_when_a_cut_label_would_be_the_same():
    cut = short_labels([BIG])[BIG]
    labels = short_labels([BIG, cut, "on (2)", "on", "on\n"])
    assert labels[cut] == cut and labels[BIG] == cut[: -1 - 4].rstrip() + "… (2)"
    assert labels["on"] == "on" and labels["on (2)"] == "on (2)" and labels["on\n"] == "on (3)"
    assert len(set(labels.values())) == len(labels)


def test_whitespace_runs_become_one_space():
    assert short_labels(['{"a":\n    1}'])['{"a":\n    1}'] == '{"a": 1}'


@pytest.mark.parametrize("limit", [10, 12, 40])
def test_many_colliding_values_stay_unique_and_within_the_limit(limit):
    values = [f"{'v' * 60}{i}" for i in range(120)]
    labels = short_labels(values, limit)
    assert len(set(labels.values())) == 120
    assert all(len(label) <= limit for label in labels.values())


def test_a_limit_without_room_for_a_suffix_is_refused():
    with pytest.raises(ValueError):
        short_labels(["x"], 9)


def event(i: int, variations: list[dict]) -> dict:
    return {
        "id": f"ev-{i}",
        "projectKey": "p",
        "environmentKey": "production",
        "flagKey": "f",
        "eventType": "flag-updated",
        "eventTime": 1_767_571_200_000 + i * 60_000,
        "description": f"change {i}",
        "impact": {"size": "large", "percentage": 50.0, "evaluationsSummary": {"variations": variations}},
    }


def test_variation_rows_label_for_the_legend_and_keep_the_value_for_the_tooltip():
    twin = json.loads(BIG) | {
        "theme": {"primary": "#405BFF"}
    }  # differs from BIG after the first 40 characters
    huge = "L" * 5_000
    events = events_to_frame(
        [
            event(
                0,
                [
                    {"value": json.loads(BIG), "before": 10, "after": 0},
                    {"value": twin, "before": 0, "after": 10},
                ],
            ),
            event(
                1,
                [
                    {"value": json.loads(BIG), "before": 3, "after": 1},
                    {"value": huge, "before": 1, "after": 3},
                    {"value": False, "before": 0, "after": 0},
                ],
            ),
        ]
    )
    rows = variation_rows(events, "UTC")
    assert list(rows.columns) == [
        "event",
        "event_time",
        "phase",
        "variation",
        "variation_full",
        "count",
        "share",
    ]
    assert len(rows) == 2 * (2 + 3)
    pairs = set(zip(rows["variation_full"], rows["variation"], strict=True))
    full_twin = json.dumps(twin, sort_keys=True)
    assert {full for full, _ in pairs} == {BIG, full_twin, huge[: FULL_VALUE_LIMIT - 1] + "…", "false"}
    assert len({label for _, label in pairs}) == len(pairs) == 4  # one label per value, none shared
    assert all(len(label) <= LABEL_LIMIT for _, label in pairs)
    by_full = dict(pairs)
    assert by_full[BIG].endswith("…") and by_full[full_twin].endswith("… (2)") and by_full["false"] == "false"
    first = rows[(rows["event"].str.endswith("change 0")) & (rows["phase"] == "before")]
    assert first["share"].tolist() == [1.0, 0.0]


def test_the_chart_colours_by_the_label_and_shows_the_value_in_the_tooltip():
    rows = variation_rows(
        events_to_frame([event(0, [{"value": json.loads(BIG), "before": 1, "after": 2}])]), "UTC"
    )
    spec = charts.variation_split(rows).to_dict()
    assert spec["encoding"]["color"]["field"] == "variation"
    assert "variation_full" in [t["field"] for t in spec["encoding"]["tooltip"]]


def test_event_labels_name_the_environment_only_when_the_events_span_several():
    split = [{"value": True, "before": 1, "after": 2}]
    one_env = variation_rows(events_to_frame([event(0, split), event(1, split)]), "UTC")
    assert set(one_env["event"]) == {"2026-01-05 00:00 · change 0", "2026-01-05 00:01 · change 1"}
    staging = dict(event(2, split), id="ev-s", environmentKey="staging")
    several = variation_rows(events_to_frame([event(0, split), staging]), "UTC")
    assert set(several["event"]) == {
        "2026-01-05 00:00 · production · change 0",
        "2026-01-05 00:02 · staging · change 2",
    }
