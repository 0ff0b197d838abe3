"""Benchmark one agency's node on a 3-node OpenSearch cluster beside the same node on one.

    .venv/bin/python bench/cluster_bench.py                         # 50k records
    .venv/bin/python bench/cluster_bench.py --records 5000 --queries 20 --rounds 2   # quick

Both OpenSearch set-ups run at once, in the same run, with the same heap per node: one node,
and a cluster of three on loopback (every node holds data). The same synthetic records are
ingested into each through the code of ``cets ingest``, with the node's default layout
(replicas auto: none on one node, one on the cluster, so each record is written twice
there), ingests alternating between the two. A search node is started in front of each
(``OPENSEARCH_URL`` naming every cluster node), and the same signed searches are timed over
gRPC, one at a time, alternating set-ups round by round. Figures are medians over the runs or
rounds, with their spread; the ratio is cluster / single node.
Results go to ``bench/results/cluster-<records>-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from _common import UNLIMITED, header, machine, over_rounds, shown, spread, stats, write
from node_bench import _queries, _run

from cets.core.records import IngestContext
from cets.demo.local import AgencySpec, build_local_federation
from cets.search.background import BackgroundNode
from cets.search.embedded_opensearch import (
    EmbeddedCluster,
    EmbeddedOpenSearch,
    OpenSearchSettings,
    ensure_distribution,
)
from cets.search.index import IndexNames, describe_layout
from cets.search.ingest import IngestSummary, ingest_file
from cets.search.sample_data import DEMO_AGENCIES, write_sample
from cets.search.store import connect

SETUPS = ("single", "cluster")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=100, help="per query kind and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of searches per set-up")
    parser.add_argument("--ingest-runs", type=int, default=2, help="ingests per set-up")
    parser.add_argument("--heap-mb", type=int, default=384, help="heap of every node")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    ensure_distribution()
    agency = DEMO_AGENCIES[0]
    base = Path(tempfile.mkdtemp(prefix="cets-cluster-bench-"))
    base.chmod(0o755)  # the engine's own user must reach it when run as root
    single = EmbeddedOpenSearch(
        OpenSearchSettings(cluster_name="cets-bench-one", heap_mb=args.heap_mb)
    )
    cluster = EmbeddedCluster("cets-bench-three", nodes=3, heap_mb=args.heap_mb)
    try:
        started = time.monotonic()
        single.start()
        single_start = time.monotonic() - started
        started = time.monotonic()
        cluster.start()
        cluster_start = time.monotonic() - started
        urls = {"single": single.url, "cluster": cluster.url}
        fed = build_local_federation(
            base / "federation",
            [AgencySpec(agency.id, agency.name, agency.region), AgencySpec("bench", "Bench")],
        )
        write_sample(base, [agency], args.records, seed=args.seed)
        sample = base / f"{agency.id}.ndjson"
        ingests: dict[str, list[IngestSummary]] = {s: [] for s in SETUPS}
        layouts: dict[str, dict[str, Any]] = {}
        for run in range(args.ingest_runs):  # alternating, so drift falls on both
            for setup in SETUPS:
                ingests[setup].append(_ingest(urls[setup], sample, agency, fed, run))
        for setup in SETUPS:
            client = connect(urls[setup])
            try:
                layouts[setup] = describe_layout(client, IndexNames("cets", agency.id))
            finally:
                client.close()
        queries = _queries(sample, random.Random(args.seed), args.queries * args.rounds)
        base_config = replace(fed.agency(agency.id).node_config(single.url), rate_limit=UNLIMITED)
        rounds: dict[str, list[dict[str, list[float]]]] = {s: [] for s in SETUPS}
        per_round = {kind: len(items) // args.rounds for kind, items in queries.items()}
        with (
            BackgroundNode(base_config) as one,
            BackgroundNode(
                replace(
                    base_config,
                    opensearch_url=cluster.url,
                    listen=f"127.0.0.1:{fed.agency(agency.id).node_port + 1000}",
                    audit_log=base / "cluster-node-audit.log",  # each node locks its own
                )
            ) as three,
        ):
            targets = {"single": one.target, "cluster": three.target}
            for number in range(args.rounds):
                chunk = {
                    kind: items[number * per_round[kind] : (number + 1) * per_round[kind]]
                    for kind, items in queries.items()
                }
                order = SETUPS if number % 2 == 0 else tuple(reversed(SETUPS))
                for setup in order:
                    rounds[setup].extend(_run(targets[setup], fed, agency.id, chunk, 1))
    finally:
        single.stop()
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    report: dict[str, Any] = {
        "machine": machine(),
        "records": args.records,
        "heap_mb": args.heap_mb,
        "opensearch_start_s": {
            "single": round(single_start, 1),
            "cluster": round(cluster_start, 1),
        },
        "layout": layouts,
        "ingest": {
            setup: {
                "runs": len(runs),
                "indexed": runs[0].indexed,
                "rejected": runs[0].rejected,
                "seconds": spread([r.seconds for r in runs]),
                "records_per_s": spread([r.read / r.seconds for r in runs], digits=0),
            }
            for setup, runs in ingests.items()
        },
        "rounds": args.rounds,
        "search_ms": {
            setup: {kind: over_rounds([stats(r[kind]) for r in rounds[setup]]) for kind in queries}
            for setup in SETUPS
        },
    }
    _write(report)
    return 0


def _ingest(url: str, sample: Path, agency: Any, fed: Any, run: int) -> IngestSummary:
    """One ingest of the sample into a fresh index (the last run's index is kept)."""
    config = fed.agency(agency.id).node_config(url)
    client = connect(url, timeout_s=120)
    try:
        if client.indices.exists(index=config.index.index):
            client.indices.delete(index=config.index.index)
        ctx = IngestContext(agency.id, config.card_key, agency.region)
        return ingest_file(
            sample,
            client=client,
            names=config.index,
            ctx=ctx,
            layout=config.index_layout,
            wait_for_active_shards=config.wait_for_active_shards,
        )
    finally:
        client.close()


def _ratio(cluster: float, single: float) -> str:
    return f"{cluster / single:.2f}" if single else "-"


def _write(report: dict[str, Any]) -> None:
    ingest = report["ingest"]
    single, cluster = ingest["single"], ingest["cluster"]
    layouts = report["layout"]
    start = report["opensearch_start_s"]
    lines = [
        f"# Search node on one OpenSearch node and on a 3-node cluster, {report['records']:,} "
        "records",
        "",
        header(report["machine"]) + f" · heap {report['heap_mb']} MiB per OpenSearch node",
        "",
        "Both set-ups ran at once, on the same machine, in the same run, with the same records "
        "and queries; ingests and search rounds alternated between them. Replicas were the "
        "node's default (auto): "
        + ", ".join(
            f"{s} {layouts[s]['replicas']} on {layouts[s]['data_nodes']} data node(s), "
            f"{layouts[s]['health']}"
            for s in SETUPS
        )
        + ". Ratio: cluster / single node (for latency, above 1 is slower; for throughput, "
        "below 1 is slower).",
        "",
        "| measure | single node | 3-node cluster | ratio |",
        "|---|---|---|---|",
        f"| OpenSearch start (s) | {start['single']} | {start['cluster']} | "
        f"{_ratio(start['cluster'], start['single'])} |",
        f"| ingest time (s), {single['runs']} runs | {shown(single['seconds'])} | "
        f"{shown(cluster['seconds'])} | "
        f"{_ratio(cluster['seconds']['median'], single['seconds']['median'])} |",
        f"| ingest throughput (records/s) | {shown(single['records_per_s'])} | "
        f"{shown(cluster['records_per_s'])} | "
        f"{_ratio(cluster['records_per_s']['median'], single['records_per_s']['median'])} |",
    ]
    searches = report["search_ms"]
    for kind in searches["single"]:
        one, three = searches["single"][kind], searches["cluster"][kind]
        for figure in ("p50", "p99"):
            lines.append(
                f"| {kind} search {figure} ms (n={one['n']}) | {shown(one[figure])} | "
                f"{shown(three[figure])} | "
                f"{_ratio(three[figure]['median'], one[figure]['median'])} |"
            )
    lines += [
        "",
        "Signed searches over gRPC, one at a time (signature check, policy, audit write "
        f"included); {report['rounds']} rounds per set-up, each figure the median over the "
        "rounds [lowest, highest round].",
    ]
    write(f"cluster-{report['records']}", report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
