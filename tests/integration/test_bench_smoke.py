"""The benchmarks still run: tiny versions, results written to a temporary directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.opensearch

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_the_benchmarks_run_and_write_their_tables(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), "--smoke", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert any(name.startswith("node-1000-") and name.endswith(".md") for name in written)
    assert any(name.startswith("scale-") and name.endswith(".json") for name in written)
    node_table = next(tmp_path.glob("node-1000-*.md")).read_text()
    assert "| ingest throughput (records/s) |" in node_table
    layers = next(tmp_path.glob("federation-*.md")).read_text()
    for path in ("a. OpenSearch, straight", "b. node gRPC", "c. federation", "d. gateway REST"):
        assert f"| {path}" in layers
    images = next(tmp_path.glob("pdq-2000-*.md")).read_text()
    for row in ("| near, 31 bits |", "| near, 16 bits |", "| exact PDQ |", "| resize_50 |"):
        assert row in images
    floors = next(tmp_path.glob("floors-*.md")).read_text()
    for row in ("| coordinator, per query | **floor**", "| node, per search | **floor**"):
        assert row in floors
    summary = next(tmp_path.glob("summary-*.md")).read_text()
    for measure in (
        "ratio b/a",
        "ratio c/max(a)",
        "ratio d/c",
        "20 agencies: p50 / p99",
        "20 agencies: the fan-out alone, CPU ms/query",
        "20 agencies: the fan-out's floor, CPU ms/query: stream messages alone",
        "ingest with / without watches (ratio)",
        "alert latency, poll every 5s",
        "near, 31 bits: p50 / p99 (ms), candidates, p50 / exact",
        "cets hash, jobs 1 (images/s)",
        "coordinator CPU per 5-agency query: stream messages (calls) + verify = floor (ms)",
    ):
        assert measure in summary
