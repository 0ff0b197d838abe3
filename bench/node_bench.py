"""Benchmark one agency's search node: OpenSearch start, ingest throughput, search latency.

    .venv/bin/python bench/node_bench.py                    # 100k records, writes bench/results/
    .venv/bin/python bench/node_bench.py --records 10000 --queries 100 --starts 1 --warmup-s 5

It starts a real OpenSearch with the project's launcher (timing ``--starts`` cold starts),
writes ``--records`` synthetic records for one agency, ingests them through the same code as
``cets ingest``, starts the agency's search node (signature checks, policy, audit log and all),
and times ``--queries`` signed searches of each kind over gRPC, one at a time, kinds
interleaved, in ``--rounds`` rounds: once OpenSearch has finished merging the ingest's
segments, and after ``--warmup-s`` seconds of other searches of the same kinds (the latency of
a node at work, not of one fresh from an ingest). ``--ingest-runs`` ingests the same file
that many times, each into a fresh index. Figures are medians over the runs or rounds, with
their spread. Results go to ``bench/results/node-<records>-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
from _common import (
    UNLIMITED,
    header,
    machine,
    merges_settled,
    over_rounds,
    shown,
    spread,
    stats,
    write,
)

from cets.common.keys import load_private_key
from cets.common.signing import signed_request
from cets.core.display import build_query
from cets.core.records import IngestContext
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.search.background import BackgroundNode
from cets.search.embedded_opensearch import (
    EmbeddedOpenSearch,
    OpenSearchSettings,
    ensure_distribution,
)
from cets.search.index import IndexNames
from cets.search.ingest import IngestSummary, ingest_file
from cets.search.sample_data import DEMO_AGENCIES, write_sample
from cets.search.store import connect
from cets.v1 import search_pb2, search_pb2_grpc

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
    parser.add_argument("--queries", type=int, default=200, help="per query kind and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of searches")
    parser.add_argument("--ingest-runs", type=int, default=1, help="ingests, each fresh")
    parser.add_argument("--starts", type=int, default=3, help="cold OpenSearch starts to time")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--warmup-s",
        type=float,
        default=60.0,
        help="seconds of searches (drawn apart from the timed ones) before the timed rounds",
    )
    args = parser.parse_args()

    ensure_distribution()
    starts = [_time_start() for _ in range(args.starts)]
    agency = DEMO_AGENCIES[0]
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-bench", heap_mb=512)) as engine,
    ):
        fed = build_local_federation(
            Path(tmp) / "federation",
            [AgencySpec(agency.id, agency.name, agency.region), AgencySpec("bench", "Bench")],
        )
        write_sample(Path(tmp), [agency], args.records, seed=args.seed)
        sample = Path(tmp) / f"{agency.id}.ndjson"
        config = replace(fed.agency(agency.id).node_config(engine.url), rate_limit=UNLIMITED)
        client = connect(engine.url, timeout_s=120)
        ctx = IngestContext(agency.id, config.card_key, agency.region)
        runs: list[IngestSummary] = []
        try:
            runs.append(ingest_file(sample, client=client, names=config.index, ctx=ctx))
            for run in range(1, args.ingest_runs):
                names = IndexNames(config.index.prefix, f"{agency.id}-run{run}")
                runs.append(ingest_file(sample, client=client, names=names, ctx=ctx))
                client.indices.delete(index=names.index)
            merge_wait_s = merges_settled(client, config.index.alias)
        finally:
            client.close()
        timed = args.queries * args.rounds
        drawn = _queries(sample, random.Random(args.seed), timed + WARMUP_QUERIES)
        queries = {kind: items[:timed] for kind, items in drawn.items()}
        warmup = {kind: items[timed:] for kind, items in drawn.items()}
        with BackgroundNode(config) as node:
            rounds = _run(
                node.target,
                fed,
                agency.id,
                queries,
                args.rounds,
                warmup=warmup,
                warmup_s=args.warmup_s,
            )
    summary = runs[0]
    report = {
        "machine": machine(),
        "records": args.records,
        "opensearch_start_s": [round(s, 2) for s in starts],
        "ingest": {
            "records": summary.read,
            "indexed": summary.indexed,
            "rejected": summary.rejected,
            "runs": len(runs),
            "seconds": spread([r.seconds for r in runs]),
            "records_per_s": spread([r.read / r.seconds for r in runs], digits=0),
        },
        "merge_wait_s": merge_wait_s,
        "warmup_s": args.warmup_s,
        "rounds": args.rounds,
        "search_ms": {kind: over_rounds([stats(r[kind]) for r in rounds]) for kind in queries},
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


WARMUP_QUERIES = 200
"""Queries of each kind drawn for the warm-up, apart from the timed ones."""


def _run(
    target: str,
    fed: LocalFederation,
    audience: str,
    queries: dict[str, list[search_pb2.Query]],
    rounds: int,
    *,
    warmup: dict[str, list[search_pb2.Query]] | None = None,
    warmup_s: float = 0.0,
) -> list[dict[str, list[float]]]:
    """Latencies (ms) of ``queries`` per kind in each of ``rounds``, after a warm-up: 20 of each
    kind, then ``warmup`` (kinds interleaved, over and over) until ``warmup_s`` have passed."""
    key = load_private_key(fed.agency("bench").directory / "agency.key")

    def request(query: search_pb2.Query) -> search_pb2.SearchRequest:
        return signed_request(
            query,
            requester="bench",
            audience=audience,
            key=key,
            officer_id="bench-1",
            purpose="benchmark",
            case_reference="BENCH-1",
            created=time.time(),
            validity_s=60,
        )

    with grpc.insecure_channel(target) as channel:
        stub = search_pb2_grpc.SearchNodeStub(channel)
        for query in [q for kind in queries.values() for q in kind[:20]]:  # warm-up
            stub.Search(request(query), timeout=10)
        mixed = [q for group in zip(*(warmup or {}).values(), strict=True) for q in group]
        until, sent = time.monotonic() + warmup_s, 0
        while mixed and time.monotonic() < until:
            stub.Search(request(mixed[sent % len(mixed)]), timeout=10)
            sent += 1
        per_round = len(next(iter(queries.values()))) // rounds
        results: list[dict[str, list[float]]] = []
        for number in range(rounds):
            latencies: dict[str, list[float]] = {kind: [] for kind in queries}
            for i in range(number * per_round, (number + 1) * per_round):
                for kind, items in queries.items():  # interleaved: drift hits every kind
                    signed = request(items[i])
                    started = time.perf_counter()
                    stub.Search(signed, timeout=10)
                    latencies[kind].append((time.perf_counter() - started) * 1000)
            results.append(latencies)
    return results


def _write(report: dict[str, Any]) -> None:
    ingest = report["ingest"]
    starts = report["opensearch_start_s"]
    lines = [
        f"# Search node benchmark, {report['records']:,} records",
        "",
        header(report["machine"]) + " · heap 512 MiB",
        "",
        "| measure | value |",
        "|---|---|",
        f"| OpenSearch cold start (s), each run | {', '.join(map(str, starts)) or 'not timed'} |",
        f"| ingest: records, rejected | {ingest['records']:,}, {ingest['rejected']} |",
        f"| ingest time (s), {ingest['runs']} run(s) | {shown(ingest['seconds'])} |",
        f"| ingest throughput (records/s) | {shown(ingest['records_per_s'])} |",
        "",
        "Signed searches over gRPC, one at a time (signature check, policy, audit write "
        f"included), kinds interleaved; {report['rounds']} rounds, each figure the median over "
        "the rounds [lowest, highest round]. Timed once OpenSearch had finished merging the "
        f"ingest's segments ({report['merge_wait_s']} s after the ingest) and the node had "
        f"answered searches for {report['warmup_s']:.0f} s (other queries of the same kinds): "
        "fresh from an ingest, OpenSearch answers a 1M-record index about twice as slowly for "
        "its first minute or so of searches.",
        "",
        "| search kind | queries | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|",
    ]
    for kind, s in report["search_ms"].items():
        lines.append(
            f"| {kind} | {s['n']} | {shown(s['p50'])} | {shown(s['p99'])} | {shown(s['max'])} |"
        )
    write(f"node-{report['records']}", report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
