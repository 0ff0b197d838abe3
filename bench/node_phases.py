"""Where a signed node search's time goes, phase by phase: wall time of each step, in process.

    .venv/bin/python bench/node_phases.py                  # 20,000 records, 3 rounds
    .venv/bin/python bench/node_phases.py --records 5000 --rounds 2

It ingests synthetic records into a real local OpenSearch, starts the node in this process
(signature checks, policy, audit log and all) and sends signed searches of each kind one at a
time. Each step of the node's answer is timed where it runs (a wrapper around the function
that does it); the first round warms up and is not counted. What the client sees less the
handler's time is the gRPC round trip (both ends in this process, sharing the interpreter
lock). The goal of "signed search ≤ OpenSearch + 3 ms" is the handler less the OpenSearch call.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import node_bench as nb
from _common import bench_key, bench_request, header, machine, one_agency_node, write

import cets.search.service as service
from cets.common.audit import AuditLog
from cets.search.background import BackgroundNode
from cets.search.embedded_opensearch import (
    EmbeddedOpenSearch,
    OpenSearchSettings,
    ensure_distribution,
)
from cets.search.guard import RequestGuard
from cets.search.store import RecordStore
from cets.v1 import search_pb2_grpc

TIMES: dict[str, list[float]] = {}
PHASES = [  # (name shown, owner, attribute), in the order a search runs through them
    ("handler, in all", service.SearchNodeService, "search_bytes"),
    ("check the request (signature, replay, audience)", RequestGuard, "check"),
    ("the query from protobuf", service, "query_from_proto"),
    ("OpenSearch call (client, HTTP, JSON)", RecordStore, "search"),
    ("search step in all (query body, call, parse)", service.SearchNodeService, "_run"),
    ("hits to protobuf, policy applied", service, "result_to_proto"),
    ("sign the answer", service, "sign_answer"),
    ("audit entry made durable", AuditLog, "append_async"),
]


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def waited(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                TIMES.setdefault(name, []).append(time.perf_counter() - started)

        return waited

    @functools.wraps(fn)
    def called(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES.setdefault(name, []).append(time.perf_counter() - started)

    return called


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds counted, after one warm-up")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    for name, owner, attribute in PHASES:
        setattr(owner, attribute, _timed(name, getattr(owner, attribute)))
    ensure_distribution()
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-phases", heap_mb=512)) as engine,
    ):
        fed, config, sample = one_agency_node(Path(tmp), engine.url, args.records, args.seed)
        queries = nb._queries(sample, random.Random(args.seed), 200)
        mixed = [q for group in zip(*queries.values(), strict=True) for q in group]
        key = bench_key(fed)
        seen: list[float] = []
        with BackgroundNode(config) as node, grpc.insecure_channel(node.target) as channel:
            stub = search_pb2_grpc.SearchNodeStub(channel)
            for round_ in range(args.rounds + 1):
                if round_ == 1:  # the warm-up is not counted
                    TIMES.clear()
                    seen.clear()
                for query in mixed:
                    request = bench_request(query, config.agency_id, key)
                    started = time.perf_counter()
                    stub.Search(request, timeout=10)
                    seen.append(time.perf_counter() - started)
    rows = {"client sees": _figures(seen)} | {n: _figures(TIMES[n]) for n, _, _ in PHASES}
    handler, store = rows["handler, in all"]["p50"], rows[PHASES[3][0]]["p50"]
    report = {
        "machine": machine(),
        "records": args.records,
        "searches": len(seen),
        "phases_ms": rows,
        "handler_less_opensearch_p50_ms": round(handler - store, 2),
    }
    md = header(report["machine"]) + (
        f"\n\nSigned searches over gRPC, one at a time, {len(seen):,} counted "
        f"({args.records:,} records; text, selector, name, text+filters interleaved), both "
        "ends in this process. Wall time of each step where it runs; steps inside others "
        "are included in them.\n\n| step | p50 ms | mean ms |\n|---|---|---|\n"
        + "".join(f"| {n} | {f['p50']} | {f['mean']} |\n" for n, f in rows.items())
        + f"\nThe node's own cost (handler less the OpenSearch call), p50: "
        f"{report['handler_less_opensearch_p50_ms']} ms.\n"
    )
    write("node-phases", report, "# Search node: where a signed search's time goes\n\n" + md)
    return 0


def _figures(seconds: list[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "p50": round(statistics.median(seconds) * 1000, 2),
        "mean": round(statistics.fmean(seconds) * 1000, 2),
    }


if __name__ == "__main__":
    raise SystemExit(main())
