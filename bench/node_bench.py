"""Benchmark one agency's search node: OpenSearch start, ingest throughput, search latency.

    .venv/bin/python bench/node_bench.py                    # 100k records, writes bench/results/
    .venv/bin/python bench/node_bench.py --records 10000 --queries 100 --starts 1   # quick

It starts a real OpenSearch with the project's launcher (timing ``--starts`` cold starts),
writes ``--records`` synthetic records for one agency, ingests them through the same code as
``cets ingest``, starts a search node, and times ``--queries`` searches of each kind over gRPC,
sequentially, after a warm-up. Results go to ``bench/results/node-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from cets.search.background import BackgroundNode
from cets.search.config import NodeConfig
from cets.search.display import build_query
from cets.search.embedded_opensearch import (
    DEFAULT_VERSION,
    EmbeddedOpenSearch,
    OpenSearchSettings,
    ensure_distribution,
    find_java,
)
from cets.search.ingest import ingest_file
from cets.search.records import IngestContext
from cets.search.sample_data import DEMO_AGENCIES, write_sample
from cets.search.store import connect
from cets.v1 import search_pb2, search_pb2_grpc

RESULTS = Path(__file__).resolve().parent / "results"
TEXT_QUERIES = [
    "shared link known hashes",
    "private app",
    "subpoena subscriber",
    "meet weekend",
    "uploaded files",
    "luring",
    "external drive",
    "gift card",
    "school",
    "webcam",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500, help="per query kind")
    parser.add_argument("--starts", type=int, default=3, help="cold OpenSearch starts to time")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    ensure_distribution()
    starts = [_time_start() for _ in range(args.starts)]
    agency = DEMO_AGENCIES[0]
    key = secrets.token_bytes(32)
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-bench", heap_mb=512)) as engine,
    ):
        write_sample(Path(tmp), [agency], args.records, seed=args.seed)
        sample = Path(tmp) / f"{agency.id}.ndjson"
        config = NodeConfig(
            agency_id=agency.id,
            opensearch_url=engine.url,
            card_key=key,
            listen="127.0.0.1:0",
            default_region=agency.region,
            grace_s=1.0,
        )
        client = connect(engine.url, timeout_s=120)
        try:
            summary = ingest_file(
                sample,
                client=client,
                names=config.index,
                ctx=IngestContext(agency.id, key, agency.region),
            )
        finally:
            client.close()
        queries = _queries(sample, random.Random(args.seed), args.queries)
        with BackgroundNode(config) as node:
            latencies = _run(node.target, queries)
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "records": args.records,
        "opensearch_start_s": [round(s, 2) for s in starts],
        "ingest": {
            "records": summary.read,
            "indexed": summary.indexed,
            "rejected": summary.rejected,
            "seconds": summary.seconds,
            "records_per_s": round(summary.read / summary.seconds),
        },
        "search_ms": {kind: _stats(values) for kind, values in latencies.items()},
    }
    _write(report)
    return 0


def _time_start() -> float:
    started = time.monotonic()
    with EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-bench-start", heap_mb=512)):
        return time.monotonic() - started


def _queries(sample: Path, rng: random.Random, count: int) -> dict[str, list[search_pb2.Query]]:
    """Realistic queries drawn from the records themselves."""
    emails: list[str] = []
    names: list[str] = []
    handles: list[str] = []
    with sample.open() as lines:
        for line in lines:
            record = json.loads(line)
            emails.extend(record.get("emails", []))
            handles.extend(record.get("usernames", []))
            if record["type"] == "person":
                names.append(record["name"])
    pick = rng.choice
    return {
        "text": [build_query(text=pick(TEXT_QUERIES)) for _ in range(count)],
        "selector": [
            build_query(selectors=[f"email:{pick(emails)}", f"username:{pick(handles)}"])
            for _ in range(count)
        ],
        "name": [build_query(name=pick(names)) for _ in range(count)],
        "text+filters": [
            build_query(text=pick(TEXT_QUERIES), types=["tip", "chat_message", "case_note"])
            for _ in range(count)
        ],
    }


def _run(target: str, queries: dict[str, list[search_pb2.Query]]) -> dict[str, list[float]]:
    with grpc.insecure_channel(target) as channel:
        stub = search_pb2_grpc.SearchNodeStub(channel)
        for query in [q for kind in queries.values() for q in kind[:20]]:  # warm-up
            stub.Search(search_pb2.SearchRequest(query=query), timeout=10)
        latencies: dict[str, list[float]] = {}
        for kind, items in queries.items():
            for query in items:
                started = time.perf_counter()
                stub.Search(search_pb2.SearchRequest(query=query), timeout=10)
                latencies.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    return latencies


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "max": round(ordered[-1], 2),
    }


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    java = find_java()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "java": java.major,
        "opensearch": DEFAULT_VERSION,
        "heap_mb": 512,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }


def _write(report: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"node-{report['records']}-{datetime.now(UTC):%Y%m%d}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    ingest = report["ingest"]
    starts = report["opensearch_start_s"]
    lines = [
        f"# Search node benchmark, {report['records']:,} records",
        "",
        f"{report['date']} · commit {m['commit']} · {m['cpus']} CPUs ({m['cpu']}) · "
        f"{m['memory_gib']} GiB · Python {m['python']} · Java {m['java']} · "
        f"OpenSearch {m['opensearch']} (heap {m['heap_mb']} MiB)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| OpenSearch cold start (s), each run | {', '.join(map(str, starts))} |",
        f"| ingest: records, rejected | {ingest['records']:,}, {ingest['rejected']} |",
        f"| ingest time (s) | {ingest['seconds']} |",
        f"| ingest throughput (records/s) | {ingest['records_per_s']:,} |",
        "",
        "| search kind | queries | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|",
    ]
    for kind, s in report["search_ms"].items():
        lines.append(f"| {kind} | {s['n']} | {s['p50']} | {s['p99']} | {s['max']} |")
    text = "\n".join(lines) + "\n"
    stem.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    raise SystemExit(main())
