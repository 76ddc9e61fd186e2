"""The benchmark suite names source files to fingerprint its cached stores; a moved module must not crash it.

(A layout change once left ``ldclient/store.py`` in that list: every pytest test passed and ``make test``
failed in the benchmark step on a fresh machine.)
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"


def _load_run_module():
    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_every_source_path_the_benchmarks_name_exists() -> None:
    named = set(re.findall(r"[\"'](ldclient/[\w/]+\.py)[\"']", RUN.read_text()))
    assert named, "the benchmark suite should name the files its fingerprint covers"
    missing = sorted(name for name in named if not (ROOT / name).is_file())
    assert not missing


def test_store_fingerprints_compute_for_both_backends() -> None:
    run = _load_run_module()
    sqlite = run.code_fingerprint()
    postgres = run.code_fingerprint("ldclient/store/postgres.py")
    assert len(sqlite) == 16 and len(postgres) == 16
    assert sqlite != postgres
