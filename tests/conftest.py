"""Shared fixtures: isolated cache dirs, a real Streamlit server, and the system Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# One day for the whole run, in this process and every process it starts: the clock reads today's
# 12:00 UTC at the start of the run and advances from there, so a run that crosses midnight does not
# see the demo account and the dashboard's "today" disagree.
_real_ms = int(time.time() * 1000)
os.environ.setdefault("LD_CLOCK_OFFSET_MS", str(_real_ms // 86_400_000 * 86_400_000 + 43_200_000 - _real_ms))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """No test reads a real token or writes the user's cache."""
    for name in (
        "LD_API_TOKEN",
        "LD_BASE_URL",
        "LD_STORE_URL",
        "LD_TIMEZONE",
        "LD_WORK_TIMEZONE",
        "LD_WORK_HOURS",
        "LD_WORK_DAYS",
        "LD_PROJECT_WORK_HOURS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LD_CACHE_DIR", str(tmp_path / "cache"))
    yield
    loaders = sys.modules.get("dashboard.loaders")
    if loaders is not None:  # an Overview under AppTest records its snapshot beside the run: let it finish
        loaders.wait_for_snapshots()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    def __init__(self, url: str, proc: subprocess.Popen, log: Path) -> None:
        self.url, self.proc, self.log = url, proc, log


def start_app(cache_dir: Path, env_extra: dict[str, str] | None = None, attempts: int = 3) -> AppServer:
    """A real Streamlit server on a free port. A port picked free can be taken before Streamlit binds it;
    then Streamlit exits at once and the next attempt takes another port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LD_") or k == "LD_CLOCK_OFFSET_MS"}
    env.update({"LD_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1"}, **(env_extra or {}))
    cache_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        port = free_port()
        log = cache_dir.parent / f"streamlit-{port}.log"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "serve.py"),  # what `make run` serves: app.py behind the start-up step
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                    return AppServer(url, proc, log)
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        if proc.poll() is None:
            proc.kill()
            break  # it ran but never became healthy: not a port clash
    raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> Iterator[AppServer]:
    server = start_app(tmp_path_factory.mktemp("app") / "cache")
    yield server
    server.proc.terminate()
    server.proc.wait(10)


@pytest.fixture(scope="module")  # Playwright's loop leaves the main thread when its module ends
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs /usr/bin/chromium: .ci/run installs it with apt-get")
        pytest.skip(
            "no system Chromium: run `sudo apt-get install chromium` (or `.ci/run`) to run browser tests"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    p = context.new_page()
    yield p
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def copy_to_docs(path: Path, name: str) -> None:
    docs = ROOT / "docs" / "images"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, docs / name)
