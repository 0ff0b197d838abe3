"""Watches: what partners' standing watches cost an agency's ingest, and how soon an alert
reaches the watcher.

    .venv/bin/python bench/watch_bench.py                       # 20k records, 10k watches
    .venv/bin/python bench/watch_bench.py --records 2000 --watches 100 --rounds 1 --quick

1. Ingest, same run, same records: ``cets ingest``'s path (validation, bulk indexing) without
   any watch at the node, and with ``--watches`` active watches (3 selectors each; about 1% of
   the records carry a watched e-mail address), alternating, ``--rounds`` times. The goal: the
   rate with watches is at least 90% of the rate without.
2. Alert latency: a node and the watcher's federation service run; a poller pulls alerts at a
   fixed interval (5 s, and the default 60 s unless ``--quick``) from a random phase, as the
   watcher's gateway does; one record carrying a watched address is ingested, and the time
   until the poller has its alert is measured.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from _common import UNLIMITED, header, machine, shown, spread, write

from cets.common.background import BackgroundService
from cets.common.keys import load_private_key
from cets.core.records import IngestContext
from cets.demo.local import AgencySpec, build_local_federation
from cets.federation.server import FederationServer
from cets.search.background import BackgroundNode
from cets.search.embedded_opensearch import EmbeddedOpenSearch, OpenSearchSettings
from cets.search.index import IndexNames
from cets.search.ingest import ingest_file
from cets.search.store import connect
from cets.search.watches import (
    WatchIndexNames,
    WatchMatcher,
    digest,
    ensure_watch_indices,
    watch_id,
    watch_key,
)
from cets.v1 import records_pb2, watches_pb2, watches_pb2_grpc

OPEN = 'contact = "{name}"\n[defaults]\nmember = "full"\ncoordinator = "summary"\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--watches", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=5, help="alert latency samples at 5 s")
    parser.add_argument("--quick", action="store_true", help="skip the 60 s interval")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="cets-watch-bench-") as tmp,
        EmbeddedOpenSearch(
            OpenSearchSettings(cluster_name="cets-bench-watch", heap_mb=512)
        ) as engine,
    ):
        root = Path(tmp)
        fed = build_local_federation(
            root / "federation",
            [
                AgencySpec("tps", "Watcher", "CA", policy=OPEN),
                AgencySpec("nca", "Holder", "GB", policy=OPEN),
            ],
        )
        holder = fed.agency("nca")
        key = watch_key(load_private_key(holder.directory / "agency.key"))
        watched = [f"suspect{i}@example.org" for i in range(args.watches * 3)]
        path = root / "records.ndjson"
        _write_records(path, args.records, watched)
        ingest = _ingest_rounds(engine.url, holder, key, path, watched, args)
        latency = _latency(engine.url, fed, key, args)
    report = {
        "machine": machine(),
        "records": args.records,
        "watches": args.watches,
        "ingest": ingest,
        "latency": latency,
    }
    write("watch", report, _markdown(report))
    return 0


def _write_records(path: Path, count: int, watched: list[str]) -> None:
    rng = random.Random(7)
    with path.open("w") as out:
        for i in range(count):
            email = rng.choice(watched) if rng.random() < 0.01 else f"person{i}@mail.example"
            out.write(
                json.dumps(
                    {
                        "id": f"tip-{i}",
                        "type": "tip",
                        "created": "2026-11-30",
                        "text": f"A report names {email} and the handle user{i}",
                        "emails": [email],
                        "usernames": [f"user{i}"],
                    }
                )
                + "\n"
            )


def _plant_watches(
    client: Any, names: WatchIndexNames, key: bytes, watched: list[str], count: int
) -> None:
    ensure_watch_indices(client, names)
    body: list[dict[str, Any]] = []
    for i in range(count):
        keys = [f"email:{e}" for e in watched[3 * i : 3 * i + 3]]
        body.append({"index": {"_index": names.watches, "_id": watch_id("tps", f"CASE-{i}")}})
        body.append(
            {
                "watcher": "tps",
                "case_reference": f"CASE-{i}",
                "officer": "bench",
                "purpose": "bench",
                "digests": sorted(digest(key, k) for k in keys),
                "selectors": 3,
                "created": "2026-12-01T00:00:00.000Z",
                "expires": "2099-01-01T00:00:00.000Z",
            }
        )
        if len(body) >= 2000:
            client.bulk(body=body)
            body = []
    if body:
        client.bulk(body=body)
    client.indices.refresh(index=names.watches)


def _ingest_rounds(
    url: str, holder: Any, key: bytes, path: Path, watched: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    client = connect(url)
    rates: dict[str, list[float]] = {"none": [], "watched": []}
    alerts = []
    try:
        for r in range(args.rounds):
            for mode in ("none", "watched"):
                names = IndexNames(f"b{r}{mode[0]}{secrets.token_hex(3)}", holder.id)
                wnames = WatchIndexNames(names)
                matcher = None
                if mode == "watched":
                    _plant_watches(client, wnames, key, watched, args.watches)
                    matcher = WatchMatcher(client, wnames, key)
                summary = ingest_file(
                    path,
                    client=client,
                    names=names,
                    ctx=IngestContext(holder.id, holder.card_key, holder.spec.region),
                    watches=matcher,
                )
                rates[mode].append(summary.read / summary.seconds)
                if mode == "watched":
                    alerts.append(summary.watch_alerts)
                client.indices.delete(index=f"{names.prefix}-*")
    finally:
        client.close()
    ratios = [w / n for w, n in zip(rates["watched"], rates["none"], strict=True)]
    return {
        "no_watches_rps": spread(rates["none"], 0),
        "with_watches_rps": spread(rates["watched"], 0),
        "ratio": spread(ratios, 3),
        "alerts_per_run": alerts,
    }


def _latency(url: str, fed: Any, key: bytes, args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"bl{secrets.token_hex(3)}"
    holder, watcher = fed.agency("nca"), fed.agency("tps")
    config = holder.node_config(url, index_prefix=prefix)
    from dataclasses import replace

    config = replace(config, rate_limit=UNLIMITED)
    intervals = [5.0] if args.quick else [5.0, 60.0]
    results: dict[str, Any] = {}
    with (
        BackgroundNode(config),
        BackgroundService(lambda: FederationServer(watcher.federation_config())) as federation,
    ):
        stub = watches_pb2_grpc.FederationWatchesStub(grpc.insecure_channel(federation.target))
        cursors: dict[str, str] = {}
        client = connect(url)
        try:
            for interval in intervals:
                samples = []
                for n in range(args.samples if interval < 30 else 2):
                    email = f"late{interval:.0f}-{n}@example.org"
                    stub.SetWatch(
                        watches_pb2.FederatedWatchRequest(
                            watch=watches_pb2.Watch(
                                selectors=[
                                    records_pb2.Selector(
                                        kind=records_pb2.SELECTOR_KIND_EMAIL, value=email
                                    )
                                ]
                            ),
                            officer_id="bench",
                            purpose="bench",
                            case_reference=f"LAT-{interval}-{n}",
                            targets=["nca"],
                        ),
                        timeout=10,
                    )
                    _drain(stub, cursors)
                    phase = random.uniform(0, interval)
                    path = Path(tempfile.mkstemp(suffix=".ndjson")[1])
                    path.write_text(
                        json.dumps(
                            {
                                "id": f"late-{interval}-{n}",
                                "type": "tip",
                                "text": "late tip",
                                "emails": [email],
                                "created": "2026-12-01",
                            }
                        )
                        + "\n"
                    )
                    ingest_file(
                        path,
                        client=client,
                        names=config.index,
                        ctx=IngestContext(holder.id, holder.card_key, holder.spec.region),
                        watches=WatchMatcher(client, WatchIndexNames(config.index), key),
                    )
                    path.unlink()
                    ingested = time.monotonic()
                    next_pull = ingested + phase
                    while True:
                        time.sleep(max(0.0, next_pull - time.monotonic()))
                        if _drain(stub, cursors):
                            samples.append(time.monotonic() - ingested)
                            break
                        next_pull += interval
                results[f"{interval:.0f}s"] = spread(samples, 1)
        finally:
            client.close()
    return results


def _drain(stub: Any, cursors: dict[str, str]) -> int:
    got = 0
    answer = stub.PullAlerts(
        watches_pb2.FederatedAlertPull(cursors=cursors, targets=["nca"]), timeout=10
    )
    for a in answer.answers:
        got += len(a.batch.alerts)
        if a.batch.next_cursor:
            cursors[a.status.agency] = a.batch.next_cursor
    return got


def _markdown(report: dict[str, Any]) -> str:
    ingest, latency = report["ingest"], report["latency"]
    lines = [
        f"# Watches: ingest cost and alert latency\n\n{header(report['machine'])}\n",
        f"{report['records']} tip records, {report['watches']} active watches of 3 selectors "
        "(about 1% of records carry a watched address); median [lowest, highest] over rounds.\n",
        "| measure | value |",
        "|---|---|",
        f"| ingest, no watches (records/s) | {shown(ingest['no_watches_rps'])} |",
        f"| ingest, with watches (records/s) | {shown(ingest['with_watches_rps'])} |",
        f"| ratio with / without (goal ≥ 0.90) | {shown(ingest['ratio'])} |",
        f"| alerts raised per run | {ingest['alerts_per_run']} |",
    ]
    for interval, figure in latency.items():
        lines.append(
            f"| alert latency, ingest → pulled, poll every {interval} (s) | {shown(figure)} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
