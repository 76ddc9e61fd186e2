"""Link parameters: every filter round-trips, every bad parameter becomes a warning and a fallback."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from ldclient.links import KNOWN_PARAMS, View, encode_view, parse_view

PROJECTS = {"web": ["production", "staging", "test"], "mobile": ["production", "prod-eu"]}
TODAY = date(2026, 11, 26)


def parse(params):
    return parse_view(params, PROJECTS, today=TODAY)


def test_full_link_round_trips():
    params = {
        "project": "mobile",
        "env": "prod-eu",
        "from": "2026-10-01",
        "to": "2026-11-26",
        "tz": "Europe/Berlin",
        "impact": "large,medium",
        "flag": "new-checkout",
        "experiments": "only",
        "global": "exclude",
        "q": "checkout",
    }
    parsed = parse(params)
    assert parsed.warnings == []
    v = parsed.view
    assert (v.project, v.env, v.start, v.end, v.tz) == (
        "mobile",
        "prod-eu",
        date(2026, 10, 1),
        date(2026, 11, 26),
        "Europe/Berlin",
    )
    assert v.impact == ("medium", "large") and v.flag == "new-checkout" and v.experiments_only
    assert not v.include_global and v.query == "checkout"
    assert parse(encode_view(v, today=TODAY)).view == v


def test_relative_and_absolute_links():
    v = parse({"project": "web", "range": "90d"}).view
    assert v.range_days == 90 and v.env == "production"
    assert encode_view(v, today=TODAY)["range"] == "90d"
    absolute = encode_view(v, today=TODAY, absolute=True)
    assert absolute["from"] == "2026-08-29" and absolute["to"] == "2026-11-26"


def test_window_is_local_midnight_to_midnight():
    v = View(
        "web",
        "production",
        range_days=None,
        start=date(2026, 3, 29),
        end=date(2026, 3, 29),
        tz="Europe/Berlin",
    )
    start, end = v.window_ms(TODAY)
    assert end - start == 23 * 3_600_000  # the DST day is 23 hours long


def test_each_bad_parameter_warns_and_falls_back_alone():
    cases = {
        "project": (
            {"project": "nope", "env": "staging"},
            lambda v: v.project == "web" and v.env == "staging",
        ),
        "env": (
            {"project": "mobile", "env": "qa"},
            lambda v: v.project == "mobile" and v.env == "production",
        ),
        "date": ({"from": "2026-13-01", "to": "2026-11-20"}, lambda v: v.end == date(2026, 11, 20)),
        "order": ({"from": "2026-11-20", "to": "2026-11-01"}, lambda v: v.range_days == 30),
        "tz": ({"tz": "Mars/Olympus", "impact": "large"}, lambda v: v.tz == "UTC" and v.impact == ("large",)),
        "range": ({"range": "forever"}, lambda v: v.range_days == 30),
        "impact": ({"impact": "huge,small"}, lambda v: v.impact == ("small",)),
        "junk": ({"utm_source": "x", "project": "mobile"}, lambda v: v.project == "mobile"),
    }
    for name, (params, ok) in cases.items():
        parsed = parse(params)
        assert len(parsed.warnings) == 1, name
        assert ok(parsed.view), name


def test_warnings_cannot_carry_markup():
    parsed = parse({"project": "`<script>alert(1)</script>`\n" + "x" * 500})
    assert "`<script>" not in parsed.warnings[0] and "x" * 60 not in parsed.warnings[0]


texts = st.text(max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from([*KNOWN_PARAMS, "junk"]), st.one_of(texts, st.lists(texts, max_size=3)))
)
def test_arbitrary_parameters_never_raise(params):
    parsed = parse(params)
    v = parsed.view
    assert v.project in PROJECTS and v.env in PROJECTS[v.project]
    first, last = v.dates(TODAY)
    assert first <= last
    start, end = v.window_ms(TODAY)
    assert start < end
    assert parse(encode_view(v, today=TODAY)).warnings == []


def test_applications_moment_and_window_round_trip_and_bad_values_warn():
    params = {"project": "web", "app": "mobile,web", "at": "2026-11-25T14:05:00Z", "window": "90m"}
    parsed = parse_view(params, PROJECTS, today=TODAY, applications=["web", "mobile", "backend"])
    assert parsed.warnings == []
    v = parsed.view
    assert v.apps == ("mobile", "web") and v.half_window_ms == 90 * 60_000
    assert v.at == 1_795_615_500_000  # 2026-11-25T14:05:00Z
    encoded = encode_view(v, today=TODAY)
    assert encoded["app"] == "mobile,web" and encoded["at"] == "2026-11-25T14:05:00Z"
    assert encoded["window"] == "1h30m"
    assert parse_view(encoded, PROJECTS, today=TODAY, applications=["web", "mobile"]).view == v
    assert {"app", "at", "window"} <= set(KNOWN_PARAMS)

    bad = parse_view(
        {"app": "web,nope", "at": "half past two", "window": "soon"},
        PROJECTS,
        today=TODAY,
        applications=["web"],
    )
    assert bad.view.apps == ("web",) and bad.view.at is None and bad.view.half_window_ms == 2 * 3_600_000
    assert any("Unknown application `nope`" in w for w in bad.warnings)
    assert any("Bad `at`" in w and "half past two" in w for w in bad.warnings)
    assert any("Bad `window`" in w and "soon" in w for w in bad.warnings)
    future = parse_view({"at": "2027-01-01T00:00:00Z", "window": "48h"}, PROJECTS, today=TODAY)
    assert future.view.at is None and future.view.half_window_ms == 24 * 3_600_000
    assert any("in the future" in w for w in future.warnings) and any(
        "24 hours" in w for w in future.warnings
    )
    offset = parse_view({"at": "2026-11-25T15:05:00+01:00"}, PROJECTS, today=TODAY).view
    local = parse_view({"at": "2026-11-25T15:05", "tz": "Europe/Berlin"}, PROJECTS, today=TODAY).view
    assert offset.at == local.at == v.at  # no offset: in the link's timezone
    assert parse_view({"at": "now"}, PROJECTS, today=TODAY).view.at is None
