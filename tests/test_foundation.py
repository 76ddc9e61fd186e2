"""The project's own ``ldclient`` is the one imported (LaunchDarkly's SDK uses the same name)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ldclient

ROOT = Path(__file__).resolve().parent.parent


def test_this_projects_ldclient_is_imported():
    assert getattr(ldclient, "FLAG_HEALTH", False) is True
    assert Path(ldclient.__file__).resolve().parent == ROOT / "ldclient"


def test_the_installed_package_is_this_project_from_any_directory(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", "import ldclient, sys; print(ldclient.__file__, ldclient.FLAG_HEALTH)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    path, marker = out.stdout.split()
    assert Path(path).resolve().parent == ROOT / "ldclient" and marker == "True"


def test_the_app_imports_this_ldclient():
    source = (ROOT / "app.py").read_text() + (ROOT / "dashboard" / "startup.py").read_text()
    assert "from ldclient" in source
    out = subprocess.run(
        [sys.executable, "-c", "import dashboard.startup, ldclient; print(ldclient.__file__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).resolve().parent == ROOT / "ldclient"
