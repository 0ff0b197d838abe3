"""A small load test: officers searching a federation of separate processes for a bounded time.

``bench/load_test.py`` at CI size — 8 officers for 20 s, on the session's OpenSearch — run as
an operator would run it. Asserted: no error of any kind, every agency ok in every answer,
every search audited once by the gateway and once by every node, the audit chains intact, no
query term in any service's own log, and each service's resident memory after warm-up growing
by less than a generous bound (memory is a resource bound; latency is reported, not asserted).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.opensearch

LOAD_TEST = Path(__file__).resolve().parents[2] / "bench" / "load_test.py"
GROWTH_BOUND_MIB = 50


def test_officers_under_load_get_every_answer_from_every_agency_in_bounded_memory(
    tmp_path: Path, opensearch_url: str
) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            str(LOAD_TEST),
            "--officers",
            "8",
            "--duration",
            "20",
            "--warmup",
            "4",
            "--records",
            "3000",
            "--max-growth-mib",
            str(GROWTH_BOUND_MIB),
            "--opensearch-url",
            opensearch_url,
        ],
        env={**os.environ, "CETS_BENCH_RESULTS": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=240)
    finally:
        if process.poll() is None:  # SIGTERM lets the script stop the services it started
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()

    [result] = tmp_path.glob("load-*.json")
    report = json.loads(result.read_text())
    assert process.returncode == 0, output[-4000:]
    assert report["errors"] == {"total": 0, "by_kind": {}}
    requests = report["requests"]
    answered = requests["measured"] + requests["warmup"]
    assert requests["measured"] > 0
    assert requests["answers"] == requests["all_agencies_ok"] == answered
    assert report["agency_status"] == {a: {"ok": answered} for a in ("nca", "rcmp", "tps")}
    audits = report["audit_logs"]
    assert all(log["ok"] for log in audits.values()), audits
    assert audits["tps/gateway.log"]["entries"] == answered
    # every search once at every node (beside them, the gateway's alert collection pulls)
    assert all(
        audits[f"{a}/node.log"]["by_kind"]["node.search"] == answered
        for a in ("nca", "rcmp", "tps")
    )
    assert report["query_terms_in_service_logs"] == []
    assert sorted(report["memory"]) == [
        "nca node",
        "rcmp node",
        "tps federation",
        "tps gateway",
        "tps node",
    ]
    for name, memory in report["memory"].items():
        assert memory["samples"] >= 10, name
        assert memory["growth_mib"] < GROWTH_BOUND_MIB, (name, memory)
        # uvicorn re-raises the SIGTERM it handled, once it has shut down gracefully
        assert memory["exit_code"] in (0, -signal.SIGTERM), (name, memory)
    assert (tmp_path / result.name.replace(".json", ".md")).read_text().startswith("# Load test")
