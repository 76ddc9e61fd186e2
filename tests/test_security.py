"""Secrets and access: the token goes nowhere but the Authorization header, the client can only read,
only allowed people get in, links and command lines cannot do harm, and no page renders unsafe HTML."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import logging
import re
import subprocess
import sys
import threading
import tomllib
import traceback
import uuid
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode

import httpx
import pytest
import streamlit as st
from hypothesis import given, settings
from hypothesis import strategies as hs
from streamlit.testing.v1 import AppTest

from ldclient import cli
from ldclient.api.client import LDClient, RateGate, ReadOnlyTransport, RetryPolicy
from ldclient.demo import default_now_ms, generate_account, start_server_in_thread
from ldclient.errors import AuthenticationError, ConfigError, LDError, ReadOnlyError
from ldclient.links import IMPACT_CHOICES, KNOWN_PARAMS, MAX_TEXT, View, encode_view, parse_view
from ldclient.settings import Settings
from ldclient.store import SQLiteStore, StoreKey
from ldclient.timeutil import MAX_RANGE_DAYS, timezone_names
from tests.conftest import ROOT, start_app
from tests.fakeapi import TOKEN, FakeAPI, make_event
from tests.support import Sleeps, cli_env, run_cli, wait_ready
from tests.test_browser import PAGES

DAY = 86_400_000
ANCHOR = default_now_ms()
PROJECT, ENV = "web-storefront", "production"
CANARY_ID = str(uuid.uuid4())
CANARY = f"api-SECRET-canary-{CANARY_ID}"


def leaks(text: str | bytes) -> list[str]:
    """Which recognisable forms of the token a text contains."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    return [
        form
        for form in (CANARY, quote(CANARY, safe=""), CANARY_ID, CANARY_ID.replace("-", ""))
        if form.encode() in data
    ]


class Recorder:
    """Wraps a DemoApi's handler: every URL and Authorization header the server received."""

    def __init__(self, api) -> None:
        self.requests: list[tuple[str, str, str | None]] = []
        self._inner = api.handle
        api.handle = self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, str(request.url), request.headers.get("Authorization")))
        return self._inner(request)


class EchoServer:
    """A careless API that echoes the Authorization header back in its error messages."""

    def __init__(self, status: int) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                body = json.dumps(
                    {
                        "code": "unauthorized",
                        "message": f"Invalid token {self.headers.get('Authorization')} for {self.path}",
                    }
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        ).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- the token ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def account():
    return generate_account(seed=7, now_ms=ANCHOR)


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_the_token_appears_nowhere_but_the_authorization_header(account, browser, tmp_path, capfd):
    outputs: dict[str, str | bytes] = {}
    with start_server_in_thread(account, verbose=True) as server:
        recorder = Recorder(server.api)
        cache = tmp_path / "cli-cache"
        env = cli_env(cache, LD_API_TOKEN=CANARY, LD_BASE_URL=server.base_url)
        frm = (date.fromtimestamp(ANCHOR / 1000) - timedelta(days=7)).isoformat()
        commands = {
            "projects": ["projects", "--format", "json"],
            "events": ["events", "--project", PROJECT, "--env", ENV, "--from", frm],
            "events-csv": ["events", "--project", PROJECT, "--env", ENV, "--from", frm, "--format", "csv"],
            "metrics": ["metrics", "--project", PROJECT, "--env", ENV, "--format", "table"],
            "sync": ["sync", "--project", PROJECT, "--days", "30"],
            "cache-info": ["cache", "info"],
            "bad-project": ["events", "--project", "nope", "--env", ENV],
        }
        echo = EchoServer(401)
        echo_env = cli_env(tmp_path / "echo-cache", LD_API_TOKEN=CANARY, LD_BASE_URL=echo.base_url)
        results: dict[str, subprocess.CompletedProcess] = {}

        def command_lines() -> None:  # one after another, while the browser works
            for name, args in commands.items():
                results[name] = run_cli(args, env)
            results["401"] = run_cli(["projects"], echo_env)

        cli_thread = threading.Thread(target=command_lines)
        cli_thread.start()

        app_cache = tmp_path / "app" / "cache"
        app = start_app(app_cache, {"LD_API_TOKEN": CANARY, "LD_BASE_URL": server.base_url})
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            frames: list[str | bytes] = []
            page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))
            for name, path in PAGES.items():
                page.goto(f"{app.url}/{path}")
                wait_ready(page)
                outputs[f"page {name}"] = page.content()
                outputs[f"page {name} text"] = page.inner_text("body")
            assert "The token is set and never shown" in outputs["page data text"]
            assert server.base_url in outputs["page data text"]
            cookies = {c["name"] for c in context.cookies()}
            assert "_streamlit_xsrf" in cookies, "Streamlit's XSRF protection is off in the running app"
            context.close()
        finally:
            app.proc.terminate()
            app.proc.wait(10)
            cli_thread.join(180)
            echo.stop()
        for name, out in results.items():
            assert out.returncode == (0 if name not in ("bad-project", "401") else 2), (name, out.stderr)
            outputs[f"cli {name} stdout"], outputs[f"cli {name} stderr"] = out.stdout, out.stderr
        assert len(results) == len(commands) + 1
        assert (
            "events added" in outputs["cli sync stdout"]
            and "rejected the API token" in outputs["cli 401 stderr"]
        )
        outputs["streamlit log"] = app.log.read_text()
        assert frames and len(outputs["streamlit log"]) > 0
        for i, frame in enumerate(frames):
            outputs[f"websocket frame {i}"] = frame
    outputs["demo server log (stderr)"] = capfd.readouterr().err
    assert "GET /api/v2/engineering-insights/flag-events?" in outputs["demo server log (stderr)"]
    for root in (cache, app_cache):
        files = [p for p in root.rglob("*") if p.is_file()]
        assert any(p.name == "events.sqlite" for p in files)
        for path in files:
            outputs[f"file {path.relative_to(tmp_path)}"] = path.read_bytes()

    found = {name: forms for name, text in outputs.items() if (forms := leaks(text))}
    assert not found, f"the token leaked into: {found}"
    assert len(recorder.requests) > 50
    assert all(method == "GET" for method, _, _ in recorder.requests)
    assert not [url for _, url, _ in recorder.requests if leaks(url)], "the token was sent in a URL"
    assert {auth for _, _, auth in recorder.requests} == {CANARY}, "the token did not travel in Authorization"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 503])
def test_error_messages_and_logs_never_carry_the_token_even_when_the_api_echoes_it(status, caplog):
    caplog.set_level(logging.DEBUG)

    def echo(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(
            status,
            json={"code": "x", "message": f"bad token {request.headers['Authorization']}"},
            headers={"Retry-After": "0"},
        )

    client = LDClient(
        CANARY,
        "https://ld.test",
        transport=httpx.MockTransport(FakeAPI([], fault=echo)),
        sleep=Sleeps(),
        seed=1,
        retry=RetryPolicy(max_elapsed_s=2),
    )
    for call in (client.projects, lambda: client.flag_events("web", "production", ANCHOR - DAY, ANCHOR)):
        with pytest.raises(LDError) as info:
            call()
        exc = info.value
        texts = [str(exc), repr(exc), *map(str, exc.args), "".join(traceback.format_exception(exc))]
        assert not [t for t in texts if leaks(t)], texts[0]
        assert getattr(exc, "status", None) == status
    assert not leaks(caplog.text)


def test_a_401_is_a_typed_error_that_names_the_fix_not_the_token():
    client = LDClient(CANARY, "https://ld.test", transport=httpx.MockTransport(FakeAPI([])), sleep=Sleeps())
    with pytest.raises(AuthenticationError) as info:
        client.flag_events("web", "production", ANCHOR - DAY, ANCHOR)
    assert "LD_API_TOKEN" in str(info.value) and not leaks(str(info.value)) and not leaks(repr(client))


def test_settings_and_sources_never_show_the_token(tmp_path):
    settings_ = Settings.load({"LD_API_TOKEN": CANARY, "LD_CACHE_DIR": str(tmp_path)})
    assert not leaks(repr(settings_)) and not leaks(str(settings_.token))
    with pytest.raises(ConfigError) as info:
        Settings.load({"LD_API_TOKEN": CANARY, "LD_BASE_URL": f"https://user:{CANARY}@ld.example"})
    assert not leaks(str(info.value))


# -- GET only ----------------------------------------------------------------------------------------------


def run_async(coro):
    """asyncio.run on a thread of its own: the session's Playwright keeps an event loop on this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


PUBLIC_CALLS = {
    "projects": lambda c: c.projects(),
    "environments": lambda c: c.environments("web"),
    "flags": lambda c: c.flags("web", "production"),
    "flag_statuses": lambda c: c.flag_statuses("web", "production"),
    "flag_events": lambda c: c.flag_events("web", "production", ANCHOR - 3 * DAY, ANCHOR),
    "aprojects": lambda c: run_async(c.aprojects()),
    "aenvironments": lambda c: run_async(c.aenvironments("web")),
    "aflags": lambda c: run_async(c.aflags("web")),
    "aflag_statuses": lambda c: run_async(c.aflag_statuses("web", "production")),
    "aflag_events": lambda c: run_async(c.aflag_events("web", "production", ANCHOR - DAY, ANCHOR)),
    "applications": lambda c: c.applications(),
    "aapplications": lambda c: run_async(c.aapplications()),
    "flag_configs": lambda c: c.flag_configs("web", "production"),
    "aflag_configs": lambda c: run_async(c.aflag_configs("web", "production")),
    "code_ref_statistics": lambda c: c.code_ref_statistics("web"),
    "acode_ref_statistics": lambda c: run_async(c.acode_ref_statistics("web")),
    "members": lambda c: c.members(),
    "amembers": lambda c: run_async(c.amembers()),
    "teams": lambda c: c.teams(),
    "ateams": lambda c: run_async(c.ateams()),
    # a client that shares another's rate gate is still read-only: it is checked by what it sends
    "with_shared_gate": lambda c: c.with_shared_gate(RateGate()).projects(),
    "new_gate": lambda c: c.with_shared_gate(c.new_gate()).projects(),
    # many keys in one loop share one session: what goes through it is checked by what it sends too
    "session": lambda c: run_async(_through_a_session(c)),
}


async def _through_a_session(client: LDClient) -> None:
    async with client.session() as http:
        await client.aflag_events("web", "production", ANCHOR - DAY, ANCHOR, http=http, probe=True)


def test_every_public_client_method_sends_only_gets():
    public = {
        name for name, _ in inspect.getmembers(LDClient, inspect.isfunction) if not name.startswith("_")
    }
    assert public == set(PUBLIC_CALLS), "a public LDClient method is not covered here: add it to PUBLIC_CALLS"
    api = FakeAPI([make_event(i, ANCHOR - DAY + i) for i in range(30)])
    client = LDClient(TOKEN, "https://ld.test", transport=httpx.MockTransport(api), sleep=Sleeps())
    for name, call in PUBLIC_CALLS.items():
        before = len(api.requests)
        try:
            call(client)
        except LDError:
            pass  # the fake does not serve every endpoint; what matters is what was sent
        assert len(api.requests) > before, name
    assert {r.method for r in api.requests} == {"GET"}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_the_transport_refuses_every_method_but_get(method):
    sent: list[httpx.Request] = []
    inner = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200, json={}))
    transport = ReadOnlyTransport(inner)
    request = httpx.Request(method, "https://ld.test/api/v2/flags/web/x", json={"op": "replace"})
    with pytest.raises(ReadOnlyError, match=method):
        transport.handle_request(request)
    with pytest.raises(ReadOnlyError):
        run_async(transport.handle_async_request(request))
    client = LDClient(TOKEN, "https://ld.test", transport=inner, sleep=Sleeps())

    async def through_the_client() -> None:
        async with client.session() as http:
            await http.request(method, "/api/v2/flags/web/x", json={"op": "replace"})

    with pytest.raises(ReadOnlyError):
        run_async(through_the_client())
    assert sent == []
    assert transport.handle_request(httpx.Request("GET", "https://ld.test/api/v2")).status_code == 200


def test_a_redirect_is_not_followed():
    api = FakeAPI([], fault=lambda r, n: httpx.Response(307, headers={"Location": "https://evil.example/x"}))
    client = LDClient(TOKEN, "https://ld.test", transport=httpx.MockTransport(api), sleep=Sleeps())
    with pytest.raises(LDError):
        client.projects()
    assert all(r.url.host == "ld.test" for r in api.requests) and len(api.requests) == 1


# -- access control under AppTest ---------------------------------------------------------------------------

OIDC = {
    "auth": {
        "redirect_uri": "https://flags.example.com/oauth2callback",
        "cookie_secret": "a long random string",
        "client_id": "abc",
        "client_secret": "s",
        "server_metadata_url": "https://accounts.example.com/.well-known/openid-configuration",
    },
    "flag_health": {"allowed_domains": ["example.com"], "allowed_emails": ["contractor@partner.io"]},
}


@pytest.fixture
def fresh_streamlit():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def run_app(user: dict | None, secrets: dict | None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for name, value in (secrets or {}).items():
        at.secrets[name] = value
    if user is not None:
        at.user = user
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def shows_no_data(at: AppTest, cache: Path) -> None:
    assert len(at.metric) == 0 and len(at.get("vega_lite_chart")) == 0 and len(at.dataframe) == 0
    assert len(at.sidebar.selectbox) == 0 and len(at.selectbox) == 0
    assert not (cache / "events.sqlite").exists(), "the data source was opened before access was decided"


def test_oidc_without_login_shows_only_the_login_prompt(fresh_streamlit, tmp_path):
    at = run_app({"is_logged_in": False}, OIDC)
    assert [b.label for b in at.button] == ["Log in"]
    assert "Log in" in at.info[0].value
    shows_no_data(at, tmp_path / "cache")


@pytest.mark.parametrize("email", ["eve@evil-example.com", "ada@example.com.evil.io", "other@partner.io"])
def test_a_logged_in_user_not_on_the_allow_list_is_refused(fresh_streamlit, tmp_path, email):
    at = run_app({"is_logged_in": True, "email": email}, OIDC)
    assert "allow-list" in at.error[0].value
    assert [b.label for b in at.button] == ["Log out"]
    shows_no_data(at, tmp_path / "cache")


def test_an_allowed_user_sees_the_dashboard_and_who_they_are(fresh_streamlit, tmp_path):
    at = run_app({"is_logged_in": True, "email": "ada@example.com"}, OIDC, page="app_pages/data.py")
    assert any("Logged in as ada@example.com" in m.value for m in at.markdown)
    at = run_app({"is_logged_in": True, "email": "contractor@partner.io"}, OIDC)
    assert len(at.metric) >= 6 and (tmp_path / "cache" / "events.sqlite").exists()


def test_without_oidc_the_data_page_says_the_dashboard_is_open(fresh_streamlit):
    at = run_app(None, None, page="app_pages/data.py")
    access = [m.value for m in at.markdown if m.value.startswith("Access:")]
    assert access and "anyone who can reach this dashboard" in access[0]


# -- configuration and code that must stay safe ---------------------------------------------------------------


def test_streamlit_xsrf_protection_stays_on():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"].get("enableCORS", True) is True
    launchers = [ROOT / "Makefile", *sorted((ROOT / ".ci").glob("*")), ROOT / "README.md"]
    for path in launchers:
        text = path.read_text()
        assert not re.search(r"enableXsrfProtection[\s=]+false|enableCORS[\s=]+false", text, re.I), path


UNSAFE = re.compile(
    r"unsafe_allow_html\s*=\s*True|\bst\.html\s*\(|components\.(v1\.)?html\s*\(|"
    r"components\.(v1\.)?iframe\s*\(|\bhtml\s*\(\s*f?[\"']|unsafe_allow_javascript"
)


def test_no_page_renders_unsafe_html():
    files = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py"))]
    assert len(files) > 5
    offenders = [
        f"{path.name}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if UNSAFE.search(line)
    ]
    assert not offenders, offenders
    assert UNSAFE.search("st.markdown(text, unsafe_allow_html=True)") and UNSAFE.search("st.html(x)")
    assert UNSAFE.search("components.html(x)") and UNSAFE.search(
        "import streamlit.components.v1 as c; c.components.v1.html(x)"
    )


# -- link parameters: every one of them, hostile or valid -------------------------------------------------------

PROJECTS = {"web": ["production", "staging", "test"], "mobile": ["production", "prod-eu"]}
TODAY = date(2026, 11, 26)
ZONES = timezone_names()
hostile_text = hs.one_of(
    hs.text(max_size=MAX_TEXT + 5),  # text cut at the limit must still round-trip
    hs.sampled_from(
        [
            "<img src=x onerror=alert(1)>",
            "`**x**`",
            "[a](javascript:alert(1))",
            "\u202e\u200b🚩é",
            "x" * 10_000,
            "2026-02-30",
            "2026-11-20",
            "9999d",
            "0d",
            "-1d",
            "30d",
            "only",
            "exclude",
            "large,,huge",
            "Europe/Berlin",
            "\n\r\t",
            "%00",
            "web",
            "production",
        ]
    ),
)
any_params = hs.dictionaries(
    hs.one_of(hs.sampled_from(KNOWN_PARAMS), hs.text(max_size=20)),
    hs.one_of(hostile_text, hs.lists(hostile_text, max_size=3)),
    max_size=14,
)


@settings(max_examples=400, deadline=None)
@given(any_params)
def test_every_link_parameter_is_parsed_safely(params):
    parsed = parse_view(params, PROJECTS, today=TODAY)
    v = parsed.view
    assert v.project in PROJECTS and v.env in PROJECTS[v.project] and v.tz in ZONES
    assert set(v.impact) <= set(IMPACT_CHOICES) and list(v.impact) == sorted(
        v.impact, key=IMPACT_CHOICES.index
    )
    assert len(v.query) <= MAX_TEXT and (v.flag is None or 0 < len(v.flag) <= MAX_TEXT)
    first, last = v.dates(TODAY)
    assert first <= last and (last - first).days < MAX_RANGE_DAYS
    bad = {k for k in params if k not in KNOWN_PARAMS}
    assert len(parsed.warnings) <= len(set(params) - bad) + 1
    for w in parsed.warnings:  # shown as Markdown: one short line, input only inside code spans
        assert "\n" not in w and "\r" not in w and len(w) < 240 and w.count("`") % 2 == 0
        assert "x" * 41 not in w and all(ch.isprintable() for ch in w)
        assert not re.search(r"[<>\[\]*_~\\]", re.sub(r"`[^`]*`", "", w)), w
    # the link the app writes for this view opens exactly this view, with no warning
    link = urlencode(encode_view(v, today=TODAY))
    again = parse_view(parse_qs(link, keep_blank_values=True), PROJECTS, today=TODAY)
    assert again.warnings == [] and again.view == v


printable = hs.text(hs.characters(blacklist_categories=("Cs",)), max_size=MAX_TEXT).map(str.strip)


@hs.composite
def views(draw):
    project = draw(hs.sampled_from(list(PROJECTS)))
    relative = draw(hs.booleans())
    start = end = None
    range_days = draw(hs.integers(1, MAX_RANGE_DAYS)) if relative else None
    if not relative:
        end = TODAY - timedelta(days=draw(hs.integers(0, 3000)))
        start = end - timedelta(days=draw(hs.integers(0, MAX_RANGE_DAYS - 1)))
    return View(
        project=project,
        env=draw(hs.sampled_from(PROJECTS[project])),
        range_days=range_days,
        start=start,
        end=end,
        tz=draw(hs.sampled_from(ZONES)),
        impact=tuple(s for s in IMPACT_CHOICES if s in draw(hs.sets(hs.sampled_from(IMPACT_CHOICES)))),
        experiments_only=draw(hs.booleans()),
        include_global=draw(hs.booleans()),
        query=draw(printable),
        flag=draw(printable) or None,
    )


@settings(max_examples=300, deadline=None)
@given(views())
def test_every_view_round_trips_through_a_real_link(view):
    link = urlencode(encode_view(view, today=TODAY))
    parsed = parse_view(parse_qs(link, keep_blank_values=True), PROJECTS, today=TODAY)
    assert parsed.warnings == [] and parsed.view == view


def test_a_long_flag_cut_at_a_space_round_trips():
    v = parse_view(
        {"flag": "a" * (MAX_TEXT - 1) + " b", "q": "q" * (MAX_TEXT - 1) + " z"}, PROJECTS, today=TODAY
    ).view
    link = urlencode(encode_view(v, today=TODAY))
    assert parse_view(parse_qs(link, keep_blank_values=True), PROJECTS, today=TODAY).view == v


# -- command-line arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,needle",
    [
        (["sync", "--days", str(MAX_RANGE_DAYS + 1)], "longer than 5 years"),
        (["sync", "--days", "200000000000"], "longer than 5 years"),
        (["sync", "--days", "0"], "must be positive"),
        (["sync", "--project", "nope"], "unknown project"),
        (["sync", "--project", PROJECT, "--env", "nope"], "unknown environment"),
        (["metrics", "--project", "nope", "--env", ENV], "unknown project"),
        (["metrics", "--project", PROJECT, "--env", "nope"], "unknown environment"),
        (["metrics", "--project", PROJECT, "--env", ENV, "--from", "2020-01-01"], "longer than 5 years"),
        (["events", "--project", PROJECT, "--env", ENV, "--from", "1999-06-01"], "before the year 2000"),
        (["events", "--project", PROJECT, "--env", ENV, "--from", "2026-11-01T25:00"], "not a date"),
        (["events", "--project", PROJECT, "--env", ENV, "--from", "99999999999999"], "is after today"),
        (["events", "--project", "evil\x1b[2J\u202e" + "k" * 5000, "--env", ENV], "unknown project"),
        (["events", "--project", PROJECT, "--env", ENV, "--to", "2026-11-26\nFAKE: line"], "not a date"),
    ],
)
def test_bad_command_lines_are_one_clear_line(args, needle, capsys):
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2 and needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "\x1b" not in err and "\u202e" not in err


@pytest.mark.timeout(30)
def test_sync_over_five_years_is_refused_before_any_request(tmp_path):
    out = run_cli(
        ["sync", "--days", "2000"],
        cli_env(tmp_path / "c", LD_API_TOKEN=TOKEN, LD_BASE_URL="http://127.0.0.1:9"),
    )
    assert out.returncode == 2 and "longer than 5 years" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


# -- memory on long ranges: the store streams ---------------------------------------------------------------

N_BIG = 30_000


@pytest.fixture(scope="module")
def big_store(tmp_path_factory, account):
    """A store holding 180 days of a key (30,000 events of about 1 kB), recorded complete."""
    cache = tmp_path_factory.mktemp("big") / "cache"
    server = start_server_in_thread(account)
    lo, hi = ANCHOR - 180 * DAY, ANCHOR
    events = account.make_events(N_BIG, PROJECT, ENV, lo + DAY, hi - DAY, seed=5)
    store = SQLiteStore(cache / "events.sqlite")
    key = StoreKey(server.base_url, PROJECT, ENV)
    store.write_page(key, events, (lo, hi))
    store.close()
    yield cache, server, key, lo, hi
    server.stop()


def test_iter_raw_reads_in_bounded_batches_and_lazily(big_store, monkeypatch):
    cache, _, key, lo, hi = big_store
    store = SQLiteStore(cache / "events.sqlite")
    reads: list[int] = []
    original = store._read

    def counting(sql, params=()):
        rows = original(sql, params)
        if "FROM events" in sql:
            reads.append(len(rows))
        return rows

    monkeypatch.setattr(store, "_read", counting)
    items = store.iter_raw(key, lo, hi)
    next(items)
    assert reads == [5000], "the first event was not available before the whole range was read"
    total = 1 + sum(1 for _ in items)
    assert total == N_BIG and max(reads) <= 5000 and len(reads) >= 3
    store.close()


def test_cli_events_writes_while_it_reads(big_store, monkeypatch):
    cache, server, key, lo, hi = big_store
    monkeypatch.setenv("LD_CACHE_DIR", str(cache))
    monkeypatch.setenv("LD_API_TOKEN", TOKEN)
    monkeypatch.setenv("LD_BASE_URL", server.base_url)
    rows_read = {"n": 0}
    original = SQLiteStore._read

    def counting(self, sql, params=()):
        rows = original(self, sql, params)
        if "FROM events" in sql:
            rows_read["n"] += len(rows)
        return rows

    monkeypatch.setattr(SQLiteStore, "_read", counting)

    class Sink:
        lines = 0
        read_at_first_write: int | None = None

        def write(self, text: str) -> int:
            if self.read_at_first_write is None:
                self.read_at_first_write = rows_read["n"]
            self.lines += text.count("\n")
            return len(text)

    sink = Sink()
    day = lambda ms: datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()  # noqa: E731
    code = cli.main(
        ["events", "--project", PROJECT, "--env", ENV, "--from", day(lo), "--to", day(hi - DAY)], out=sink
    )
    assert code == 0
    assert sink.lines >= N_BIG
    assert sink.read_at_first_write is not None and sink.read_at_first_write <= 5000


def peak_rss_mb(args: list[str], env: dict[str, str]) -> float:
    """The CLI's peak resident memory, measured by a parent that runs only it."""
    probe = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
        "assert p.returncode == 0, p.stderr\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "ldclient", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip()) / 1024


@pytest.mark.timeout(120)
def test_cli_events_over_180_days_stays_within_a_memory_bound(big_store):
    cache, server, key, lo, hi = big_store
    env = cli_env(cache, LD_API_TOKEN=TOKEN, LD_BASE_URL=server.base_url)
    day = lambda ms: datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()  # noqa: E731
    base = ["events", "--project", PROJECT, "--env", ENV, "--format", "csv", "--to", day(hi - DAY)]
    small = peak_rss_mb([*base, "--from", day(hi - 2 * DAY)], env)
    large = peak_rss_mb([*base, "--from", day(lo)], env)
    # 12,000 events of 4 kB: ~50 MB of text if read at once, ~20 MB per batch of 5,000
    print("RSS", small, large, flush=True)
    assert large - small < 45, f"180 days took {large:.0f} MB at peak, 2 days {small:.0f} MB"
