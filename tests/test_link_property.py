"""No link can crash the app: generated links through app.py under AppTest, on every page, and one
regression test per crash that was found by hand.

"Today" is pinned by patching ``ldclient.clock.today`` (the one function the app asks for today in a
timezone), so what is tested never depends on when the tests run: AppTest runs the app in this process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
import streamlit as st
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from streamlit.testing.v1 import AppTest

from ldclient.links import KNOWN_PARAMS, MAX_TEXT
from ldclient.timeutil import MAX_RANGE_DAYS

ROOT = Path(__file__).resolve().parent.parent
TITLES = {
    "app_pages/overview.py": "Overview",
    "app_pages/flag_events.py": "Flag events",
    "app_pages/flag_health.py": "Flag health",
    "app_pages/flag_detail.py": "Flag detail",
    "app_pages/changes.py": "Changes",
    "app_pages/cleanup.py": "Cleanup",
    "app_pages/environments.py": "Environments",
    "app_pages/all_projects.py": "All projects",
    "app_pages/data.py": "Data",
}
PAGES = list(TITLES)
APPS = ["web", "mobile", "backend", "no-such-app", ""]  # the demo account's applications, and junk
AFTERNOON = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 01:00 on Dec 2 in Tokyo: Tokyo is on tomorrow


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """The app's "today" in any timezone is the date of ``moment`` there."""
    with mock.patch("ldclient.clock.today", lambda tz: moment.astimezone(ZoneInfo(tz)).date()):
        yield


def open_link(params: dict[str, str], moment: datetime = AFTERNOON, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    with clock_at(moment):
        at.run()
        if page:
            at.switch_page(page).run()
    return at


def rerun(at: AppTest, moment: datetime = AFTERNOON) -> AppTest:
    with clock_at(moment):
        return at.run()


def warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def link(at: AppTest) -> dict[str, str]:
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def demo_keys() -> tuple[str, str]:
    from ldclient.demo import default_now_ms
    from ldclient.source import demo_account

    account = demo_account(7, default_now_ms())
    project = account.projects[0]["key"]
    return project, str(account.flags[project][0]["key"]) if account.flags.get(project) else "a-flag"


# -- the crashes found by hand, one test each (each failed on the code before this change) -------------------


def test_absolute_share_link_from_a_view_already_on_tomorrow_opens():
    at = open_link({"tz": "Asia/Tokyo", "range": "30d"})
    no_exception(at)
    fixed = next(c.value for c in at.sidebar.code if "from=" in c.value)
    shared = dict(parse_qsl(urlsplit(fixed).query))
    assert (shared["from"], shared["to"], shared["tz"]) == ("2026-11-03", "2026-12-02", "Asia/Tokyo")
    at = open_link(shared)
    no_exception(at)
    assert at.sidebar.date_input(key="w_dates").value == (date(2026, 11, 3), date(2026, 12, 2))
    assert not warnings(at)
    assert (link(at)["from"], link(at)["to"]) == ("2026-11-03", "2026-12-02")


def test_future_dates_are_clamped_to_today_with_a_warning():
    at = open_link({"from": "2030-01-01", "to": "2030-02-01"})
    no_exception(at)
    text = "\n".join(warnings(at))
    assert "`from` (2030-01-01) is in the future" in text and "`to` (2030-02-01) is in the future" in text
    assert at.sidebar.date_input(key="w_dates").value == (date(2026, 12, 1), date(2026, 12, 1))
    for page in PAGES:
        with clock_at(AFTERNOON):
            at.switch_page(page).run()
        no_exception(at)


def test_dates_before_2000_are_clamped_with_a_warning():
    at = open_link({"from": "1999-12-01", "to": "2000-01-05"})
    no_exception(at)
    assert any("`from` (1999-12-01) is before 2000-01-01" in w for w in warnings(at))
    assert at.sidebar.date_input(key="w_dates").value == (date(2000, 1, 1), date(2000, 1, 5))


@pytest.mark.parametrize("days", [14, 60, 999])
def test_any_range_of_n_days_is_kept_in_the_sidebar_and_the_link(days):
    at = open_link({"range": f"{days}d"})
    no_exception(at)
    assert not warnings(at)
    control = at.sidebar.segmented_control(key="w_range")
    assert control.value == f"{days}d" and f"{days} days" in control.options
    assert link(at)["range"] == f"{days}d" and "from" not in link(at)
    at.sidebar.segmented_control(key="w_range").set_value("7d")
    rerun(at)  # another choice still works, and the link follows it
    no_exception(at)
    assert link(at)["range"] == "7d"


def test_a_range_above_the_bound_is_clamped_with_a_warning():
    at = open_link({"range": "99999d"})
    no_exception(at)
    assert any(f"longer than {MAX_RANGE_DAYS} days" in w for w in warnings(at))
    assert link(at)["range"] == f"{MAX_RANGE_DAYS}d"


def test_switching_to_custom_in_tokyo_keeps_the_same_days():
    at = open_link({"tz": "Asia/Tokyo", "range": "30d"})
    no_exception(at)
    at.sidebar.segmented_control(key="w_range").set_value("Custom")
    rerun(at)
    no_exception(at)
    assert at.sidebar.date_input(key="w_dates").value == (date(2026, 11, 3), date(2026, 12, 2))
    assert (link(at)["from"], link(at)["to"]) == ("2026-11-03", "2026-12-02")


def test_custom_dates_after_today_in_a_new_timezone_are_clamped_not_a_crash():
    at = open_link({"tz": "Asia/Tokyo", "from": "2026-11-20", "to": "2026-12-02"})
    no_exception(at)
    at.sidebar.selectbox(key="w_tz").set_value("UTC")  # where it is still Dec 1
    rerun(at)
    no_exception(at)
    assert at.sidebar.date_input(key="w_dates").value == (date(2026, 11, 20), date(2026, 12, 1))
    assert any("reaches outside" in w for w in warnings(at))


def test_every_unknown_parameter_is_named_up_to_five():
    names = ["exp", "utm_source", "utm_medium", "ref", "fbclid", "gclid", "x"]
    at = open_link({name: "1" for name in names})
    no_exception(at)
    text = next(w for w in warnings(at) if "unknown link parameter" in w)
    assert all(f"`{name}`" in text for name in names[:5]) and "and 2 more" in text
    at = open_link({"exp": "1", "utm_source": "chat"})
    text = next(w for w in warnings(at) if "unknown link parameter" in w)
    assert "`exp`" in text and "`utm_source`" in text and "more" not in text


def test_a_search_text_longer_than_the_box_is_cut_with_a_warning():
    at = open_link({"q": "checkout-" * 40})
    no_exception(at)
    assert any(f"only its first {MAX_TEXT} are used" in w and "`q`" in w for w in warnings(at))
    assert len(at.sidebar.text_input(key="w_q").value) == MAX_TEXT
    assert len(link(at)["q"]) == MAX_TEXT


def test_the_data_status_under_the_title_says_what_the_page_fetched():
    at = open_link({})
    no_exception(at)
    captions = [c.value for c in at.main.caption]
    assert any("data as of" in c for c in captions), captions
    assert not any("data not fetched yet" in c for c in captions), captions


def test_more_filters_stays_open_when_the_last_filter_is_cleared():
    at = open_link({})
    at.sidebar.multiselect(key="w_impact").set_value(["large"])
    rerun(at)
    assert at.sidebar.expander[0].proto.expanded
    at.sidebar.multiselect(key="w_impact").set_value([])
    rerun(at)
    no_exception(at)
    assert at.sidebar.expander[0].proto.expanded


def test_the_project_picker_shows_names_not_cut_keys():
    from ldclient.demo import default_now_ms
    from ldclient.source import demo_account

    projects = demo_account(7, default_now_ms()).projects
    at = open_link({})
    picker = at.sidebar.selectbox(key="w_project")
    assert list(picker.options) == [p["name"] for p in projects]
    assert any(f"Key: `{projects[0]['key']}`" in c.value for c in at.sidebar.caption)


def test_no_legacy_pages_folder_and_no_private_streamlit_api():
    assert not (
        ROOT / "pages"
    ).exists()  # Streamlit would list its modules in the sidebar before st.navigation
    sources = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py"))]
    for path in sources:
        text = path.read_text()
        assert "streamlit.runtime" not in text and "PagesManager" not in text, path


# -- the property: any link, any moment around midnight anywhere, every page ----------------------------------

ZONES = [f"Etc/GMT{o:+d}" if o else "UTC" for o in range(12, -15, -1)]  # UTC−12 … UTC+14 (POSIX signs)
ZONES += [
    "Pacific/Kiritimati",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Asia/Tokyo",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Pacific/Pago_Pago",
]
junk = hs.text(hs.characters(exclude_categories=("Cs",)), max_size=30)
long_text = hs.text(hs.characters(exclude_categories=("Cs",)), min_size=MAX_TEXT - 5, max_size=600)


def iso_days(lo: date, hi: date) -> hs.SearchStrategy[str]:
    return hs.dates(lo, hi).map(date.isoformat)


@hs.composite
def cases(draw) -> tuple[dict[str, str], datetime, list[tuple[str, str]]]:
    """A link, the moment it is opened (within two hours of midnight in a zone from UTC−12 to UTC+14: the
    link's own zone or another) and what the person then clicks in the sidebar."""
    project, flag = demo_keys()
    tz = draw(hs.one_of(hs.sampled_from(ZONES), junk))
    zone = ZoneInfo(tz if tz in ZONES and draw(hs.booleans()) else draw(hs.sampled_from(ZONES)))
    local_day = date(2026, 12, 1) + timedelta(days=draw(hs.integers(-400, 400)))
    midnight = datetime(local_day.year, local_day.month, local_day.day, tzinfo=zone)
    moment = (midnight + timedelta(minutes=draw(hs.integers(-120, 120)))).astimezone(UTC)
    near = hs.integers(-40, 3).map(lambda n: (local_day + timedelta(days=n)).isoformat())  # around "today"
    day = hs.one_of(
        near,
        near,
        iso_days(date(1, 1, 1), date(9999, 12, 31)),
        iso_days(date(1990, 1, 1), date(2001, 1, 1)),
        hs.sampled_from(["2026-02-30", "20261201", "2026-W48-2", "", "today", "1999-12-31"]),
        junk,
    )
    values = {
        "project": hs.one_of(hs.just(project), junk, long_text),
        "env": hs.one_of(hs.sampled_from(["production", "staging", "test"]), junk),
        "from": day,
        "to": day,
        "tz": hs.just(tz),
        "impact": hs.one_of(
            hs.lists(hs.sampled_from(["none", "small", "medium", "large", "HUGE", ""])).map(",".join), junk
        ),
        "experiments": hs.sampled_from(["only", "all", "1", "0", "maybe", ""]),
        "global": hs.sampled_from(["include", "exclude", "yes", "no", "x", ""]),
        "q": hs.one_of(junk, long_text, hs.just("checkout")),
        "flag": hs.one_of(hs.just(flag), junk, long_text),
        "app": hs.one_of(
            hs.lists(hs.sampled_from(APPS), max_size=4).map(",".join),
            junk,
            long_text,
        ),
        "at": hs.one_of(
            hs.sampled_from(["now", "", "2026-11-30T14:05:00Z", "2026-11-30T14:05", "1999-12-31T23:00:00Z"]),
            hs.datetimes(datetime(1990, 1, 1), datetime(2030, 1, 1)).map(lambda d: d.isoformat() + "Z"),
            junk,
        ),
        "window": hs.one_of(hs.sampled_from(["2h", "30m", "1h30m", "0m", "25h", "9999d", ""]), junk),
    }
    params = draw(hs.fixed_dictionaries({}, optional=values))
    shape = draw(hs.sampled_from(["dates", "range", "dates", "both", "dates"]))
    if shape != "range" and draw(hs.booleans()):
        params["to"] = draw(near)  # most crashes were at "today", in one zone or another
    if shape != "dates":  # a relative range instead of (or besides) dates
        params["range"] = draw(
            hs.one_of(
                hs.integers(-5, 4000).map(lambda n: f"{n}d"),
                hs.sampled_from(["14d", "60d", "999d", "1d"]),
                hs.integers(0, 10**40).map(lambda n: f"{n}d"),
                junk,
            )
        )
    unknown = draw(hs.dictionaries(junk.filter(lambda k: k not in KNOWN_PARAMS), junk, max_size=8))
    clicks = draw(
        hs.lists(
            hs.one_of(
                hs.tuples(hs.just("w_range"), hs.sampled_from(["7d", "30d", "180d", "Custom"])),
                hs.tuples(
                    hs.just("w_tz"),
                    hs.sampled_from(["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Asia/Tokyo"]),
                ),
            ),
            max_size=3,
        )
    )
    return {**unknown, **params}, moment, clicks


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases(), first_page=hs.sampled_from(PAGES))
def test_no_link_crashes_any_page(case, first_page):
    params, moment, clicks = case
    at = open_link(params, moment, page=first_page)
    no_exception(at)
    for key, value in clicks:  # then a few clicks in the sidebar
        if key == "w_range":
            at.sidebar.segmented_control(key=key).set_value(value)
        else:
            at.sidebar.selectbox(key=key).set_value(value)
        rerun(at, moment)
        no_exception(at)
    for page in PAGES:  # then every page, keeping what the link set up
        with clock_at(moment):
            at.switch_page(page).run()
        no_exception(at)
        assert not at.error, (page, [e.value for e in at.error])
        assert [t.value for t in at.title] == [TITLES[page]]  # the page itself ran, under app.py
