"""Every script under bench/ runs to its figures on a tiny store: a refactor that breaks one
(bench/perf.py once called a helper that had been renamed) fails here, not on the day someone
needs the figures. Speed is not judged here; only that each prints what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPTS = [
    (
        ["bench/perf.py", "--count", "300", "--requests", "5", "--late", "0", "--storm", "0"],
        "summary: slash command",
    ),
    (["-m", "bench.sla_sweep", "--count", "300"], "sweep fired 300 stages"),
    (["-m", "bench.report_bench", "--count", "300"], "report October 2026 for service-"),
    (["-m", "bench.evidence_bench", "--count", "300"], "evidence pack for 2026 written in"),
    (["bench/ack_latency.py", "--requests", "5"], "modal submit"),
    (["bench/typeahead.py"], "ms/query"),
]


@pytest.mark.parametrize(("args", "expected"), SCRIPTS, ids=lambda v: str(v[0:2]))
def test_bench_script_prints_its_figures(args: list[str], expected: str, tmp_path: Path) -> None:
    # The benches default to SQLite files in the temp directory: point it at this test's.
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert expected in done.stdout, done.stdout[-3000:]
