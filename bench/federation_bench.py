"""Benchmark the federation: signing and verifying cost, and what each layer adds on the way
from OpenSearch to the officer, for 3 agencies.

    .venv/bin/python bench/federation_bench.py                   # writes bench/results/
    .venv/bin/python bench/federation_bench.py --records 3000 --queries 30 --rounds 2  # quick

Crypto: Ed25519 sign and verify of a typical request and of a typical answer (10 full hits),
encoding included, in microseconds per operation.

Layers: three agencies' real search nodes (each its own index on one local OpenSearch, to
leave the two cores to the services) with sample data, each node and the federation service a
process of its own (``cets node serve``, ``cets federation serve``), as they are deployed;
``--in-process`` serves them from threads of this process instead (one interpreter lock for
all, which serialises their work). The same free-text queries sent
(a) straight to each agency's OpenSearch: the body the node would send, over the Python client;
(b) to the first agency's node over gRPC, signed; (b') through the federation service to that
one agency; (c) through the federation service to all three; (d) through the gateway's REST
API to all three. Every query goes through every path in turn (interleaved, so drift hits all
alike), in several rounds: each figure is the median over the rounds, with its spread (the
lowest and highest round).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import httpx
import uvicorn
from _common import (
    UNLIMITED,
    header,
    machine,
    over_rounds,
    per_op_us,
    pid_cpu_s,
    serve_cets,
    shown,
    spread,
    stats,
    stop_process,
    write,
)

from cets.common.background import BackgroundService
from cets.common.keys import load_private_key
from cets.common.signing import (
    open_answer,
    sign_answer,
    signed_request,
    verify_request,
)
from cets.core.convert import query_from_proto
from cets.core.display import build_query
from cets.core.records import IngestContext
from cets.demo.local import AgencySpec, build_local_federation
from cets.federation.server import FederationServer
from cets.gateway.server import build_app
from cets.gateway.tokens import issue_token
from cets.search.background import BackgroundNode
from cets.search.dsl import build_body
from cets.search.embedded_opensearch import EmbeddedOpenSearch, OpenSearchSettings
from cets.search.ingest import ingest_file
from cets.search.sample_data import DEMO_AGENCIES, write_sample
from cets.search.store import connect
from cets.v1 import federation_pb2, federation_pb2_grpc, records_pb2, search_pb2, search_pb2_grpc

QUERIES = ["shared link known hashes", "private app", "meet weekend", "uploaded files", "luring"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30_000, help="across the three agencies")
    parser.add_argument("--queries", type=int, default=200, help="queries per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="serve the nodes and the federation from threads of this process",
    )
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine(), "crypto_us": _crypto()}
    report.update(_layers(args.records, args.queries, args.rounds, in_process=args.in_process))
    _write(report)
    return 0


def _typical(tmp: Path) -> tuple[search_pb2.SearchRequest, search_pb2.SearchResponse, Any, Any]:
    fed = build_local_federation(tmp, [AgencySpec("a", "A"), AgencySpec("b", "B")])
    key = load_private_key(fed.agency("a").directory / "agency.key")
    query = build_query(text="shared link", selectors=["email:john.smith@gmail.com"], limit=20)
    request = signed_request(
        query,
        requester="a",
        audience="b",
        key=key,
        officer_id="det-4521",
        purpose="online luring investigation",
        case_reference="TPS-2026-00042",
        created=time.time(),
        validity_s=60,
    )
    hits = [
        search_pb2.Hit(
            agency="b",
            record_id=f"b-tip-{i:07d}",
            type=records_pb2.RECORD_TYPE_TIP,
            score=8.5,
            title="tip from Cybertip.ca",
            disclosure=search_pb2.DISCLOSURE_LEVEL_FULL,
            highlights=[
                search_pb2.Highlight(field="text", fragments=["a <mark>shared</mark> link"])
            ],
            record=records_pb2.Record(tip=records_pb2.Tip(text="ESP reported a shared link " * 8)),
        )
        for i in range(10)
    ]
    answer = search_pb2.SearchResponse(
        agency="b", hits=hits, total_hits=10, request_nonce=request.context.nonce
    )
    return request, answer, key, key.public_key()


def _crypto() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        request, answer, key, public = _typical(Path(tmp))
        sealed = sign_answer(answer, key)

        return {
            "sign_request": per_op_us(
                lambda: signed_request(
                    request.query,
                    requester="a",
                    audience="b",
                    key=key,
                    officer_id="o",
                    purpose="p",
                    case_reference="c",
                    created=time.time(),
                    validity_s=60,
                )
            ),
            "verify_request": per_op_us(lambda: verify_request(request, public)),
            "sign_answer_10_hits": per_op_us(lambda: sign_answer(answer, key)),
            "verify_answer_10_hits": per_op_us(lambda: open_answer(sealed, public)),
        }


A = "a. OpenSearch, straight (first agency)"
MAX_A = "a. OpenSearch, straight (slowest of 3)"
B = "b. node gRPC, signed"
B1 = "b'. federation → that one agency"
C = "c. federation → 3 agencies"
D = "d. gateway REST → 3 agencies"
RATIOS = {"b/a": (B, A), "c/max(a)": (C, MAX_A), "d/c": (D, C)}


def _layers(records: int, count: int, rounds: int, *, in_process: bool) -> dict[str, Any]:
    agencies = DEMO_AGENCIES[:3]
    rng = random.Random(5)
    queries = [build_query(text=rng.choice(QUERIES), limit=10) for _ in range(count)]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        engine = stack.enter_context(
            EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-bench-fed", heap_mb=512))
        )
        specs = [AgencySpec(a.id, a.name, a.region) for a in agencies]
        fed = build_local_federation(Path(tmp) / "federation", specs)
        write_sample(Path(tmp), agencies, records, seed=3)
        client = connect(engine.url, timeout_s=120)
        for a in agencies:
            config = fed.agency(a.id).node_config(engine.url)
            ingest_file(
                Path(tmp) / f"{a.id}.ndjson",
                client=client,
                names=config.index,
                ctx=IngestContext(a.id, config.card_key, a.region),
            )
        stack.callback(client.close)
        node_pids: list[int] = []
        for a in agencies:
            agency = fed.agency(a.id)
            config = replace(agency.node_config(engine.url), rate_limit=UNLIMITED)
            if in_process:
                stack.enter_context(BackgroundNode(config))
                continue
            env = config.to_env(card_key_file=fed.root / "card.key")
            log = Path(tmp) / f"node-{a.id}.log"
            node_process = serve_cets(["node", "serve"], env, target=agency.node_target, log=log)
            stack.callback(stop_process, node_process, grace_s=10)
            node_pids.append(node_process.pid)

        def straight(agency: str, query: search_pb2.Query) -> None:
            config = fed.agency(agency).node_config(engine.url)
            body = build_body(
                query_from_proto(query, default_region="CA", card_key=config.card_key)
            )
            client.search(index=config.index.alias, body=body)

        first = fed.agency(agencies[0].id)
        if in_process:
            service = stack.enter_context(
                BackgroundService(lambda: FederationServer(first.federation_config()))
            )
            federation_target = service.target
        else:
            federation_target = first.federation_target
            service_process = serve_cets(
                ["federation", "serve"],
                first.federation_env(),
                target=federation_target,
                log=Path(tmp) / "federation.log",
            )
            stack.callback(stop_process, service_process, grace_s=10)
            assert engine.pid is not None
            processes = {
                "OpenSearch": [engine.pid],
                "nodes": node_pids,
                "federation": [service_process.pid],
            }
        key = load_private_key(first.directory / "agency.key")
        node = grpc.insecure_channel(first.node_target)
        federation = grpc.insecure_channel(federation_target)
        stack.callback(node.close)
        stack.callback(federation.close)
        node_stub = search_pb2_grpc.SearchNodeStub(node)
        fed_stub = federation_pb2_grpc.FederationStub(federation)

        def direct(query: search_pb2.Query) -> None:
            node_stub.Search(
                signed_request(
                    query,
                    requester=first.id,
                    audience=first.id,
                    key=key,
                    officer_id="bench",
                    purpose="benchmark",
                    case_reference="BENCH",
                    created=time.time(),
                    validity_s=60,
                ),
                timeout=10,
            )

        def federated(query: search_pb2.Query, targets: list[str]) -> None:
            response = fed_stub.Search(
                federation_pb2.FederatedSearchRequest(
                    query=query,
                    officer_id="bench",
                    purpose="benchmark",
                    case_reference="BENCH",
                    targets=targets,
                ),
                timeout=10,
            )
            assert all(a.status.code == search_pb2.AgencyStatus.CODE_OK for a in response.answers)

        gateway_config = first.gateway_config(
            federation=federation_target, rate_limit="100000/minute"
        )
        http = stack.enter_context(_Served(build_app(gateway_config)))
        officer = issue_token(
            load_private_key(first.directory / "officer.key"), officer="bench", agency=first.id
        )

        def through_gateway(query: search_pb2.Query) -> None:
            reply = http.post(
                "/v1/search",
                headers={"Authorization": f"Bearer {officer}"},
                json={
                    "query": {"text": query.text},
                    "purpose": "benchmark",
                    "case_reference": "BENCH",
                    "page_size": 10,
                },
            )
            assert reply.status_code == 200, reply.text

        others = [a.id for a in agencies[1:]]
        modes = {
            A: lambda q: straight(first.id, q),
            **{f"a. OpenSearch, straight ({a})": (lambda q, a=a: straight(a, q)) for a in others},
            B: direct,
            B1: lambda q: federated(q, [first.id]),
            C: lambda q: federated(q, []),
            D: through_gateway,
        }
        for call in modes.values():  # warm-up
            for query in queries[:20]:
                call(query)
        per_round: list[dict[str, dict[str, float]]] = []
        cpu_rounds: list[dict[str, dict[str, float]]] = []
        for _ in range(rounds):
            times: dict[str, list[float]] = {name: [] for name in modes}
            for query in queries:  # interleaved, so drift affects every mode alike
                for name, call in modes.items():
                    started = time.perf_counter()
                    call(query)
                    times[name].append((time.perf_counter() - started) * 1000)
            straights = [times[n] for n in modes if n.startswith("a. ")]
            times[MAX_A] = [max(each) for each in zip(*straights, strict=True)]
            per_round.append({name: stats(values) for name, values in times.items()})
            if not in_process:
                cpu_modes = {name: modes[name] for name in (A, B, B1, C, D)}
                cpu_rounds.append(_cpu_per_query(cpu_modes, queries, processes))
        shown = [A, MAX_A, B, B1, C, D]
        ratios = {
            name: {
                q: spread([r[top][q] / r[bottom][q] for r in per_round], digits=2)
                for q in ("p50", "p99")
            }
            for name, (top, bottom) in RATIOS.items()
        }
        return {
            "rounds": rounds,
            "queries_per_round": count,
            "services": "threads of one process" if in_process else "processes",
            "layers_ms": {name: over_rounds([r[name] for r in per_round]) for name in shown},
            "ratios": ratios,
            **({"cpu_ms_per_query": _over_cpu_rounds(cpu_rounds)} if cpu_rounds else {}),
        }


HERE = "this process (client, gateway)"


def _cpu_per_query(
    modes: dict[str, Any], queries: list[search_pb2.Query], processes: dict[str, list[int]]
) -> dict[str, dict[str, float]]:
    """Each path alone, every query once back to back: the CPU milliseconds per query of each
    process taking part (from /proc, so in clock ticks: summed over all the queries), their
    total, and the wall milliseconds per query."""
    out: dict[str, dict[str, float]] = {}
    for name, call in modes.items():
        before = _cpu_now(processes)
        here, began = time.process_time(), time.perf_counter()
        for query in queries:
            call(query)
        wall = time.perf_counter() - began
        used = {who: seconds - before[who] for who, seconds in _cpu_now(processes).items()}
        used[HERE] = time.process_time() - here
        row = {who: seconds * 1000 / len(queries) for who, seconds in used.items()}
        row["total"] = sum(row.values())
        row["wall"] = wall * 1000 / len(queries)
        out[name] = row
    return out


def _cpu_now(processes: dict[str, list[int]]) -> dict[str, float]:
    return {who: sum(pid_cpu_s(pid) for pid in pids) for who, pids in processes.items()}


def _over_cpu_rounds(rounds: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    return {
        path: {who: spread([r[path][who] for r in rounds]) for who in rounds[0][path]}
        for path in rounds[0]
    }


class _Served:
    """The gateway app served by uvicorn on loopback from a thread; yields an HTTP client."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        return self.client

    def __exit__(self, *_: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(10)


def _write(report: dict[str, Any]) -> None:
    crypto = report["crypto_us"]
    layers = report["layers_ms"]
    lines = [
        "# Federation benchmark",
        "",
        header(report["machine"]),
        "",
        "| Ed25519, encoding included | µs per operation |",
        "|---|---|",
        *(f"| {name.replace('_', ' ')} | {value} |" for name, value in crypto.items()),
        "",
        f"Free-text queries, one at a time, every path in turn; {report['rounds']} rounds of "
        f"{report['queries_per_round']} queries. Each figure: median over the rounds "
        "[lowest, highest round].",
        "",
        "| path | queries | p50 ms | p99 ms |",
        "|---|---|---|---|",
        *(
            f"| {name} | {s['n']} | {shown(s['p50'])} | {shown(s['p99'])} |"
            for name, s in layers.items()
        ),
        "",
        "| ratio | of p50 | of p99 |",
        "|---|---|---|",
        *(
            f"| {name} | {shown(r['p50'])} | {shown(r['p99'])} |"
            for name, r in report["ratios"].items()
        ),
        "",
        "(a) is the node's own OpenSearch body sent with the Python client, so it includes that "
        "client's cost; max(a) is, per query, the slowest of the three agencies. "
        + _services_text(report.get("services", "threads of one process")),
        *_cpu_lines(report.get("cpu_ms_per_query")),
    ]
    write("federation", report, "\n".join(lines) + "\n")


def _cpu_lines(cpu: dict[str, dict[str, Any]] | None) -> list[str]:
    """The CPU table: what each path costs the machine, and the least wall time that leaves."""
    if not cpu:
        return []
    cores = os.cpu_count() or 1
    who = [w for w in next(iter(cpu.values())) if w not in ("total", "wall")]
    return [
        "",
        f"CPU per query, each path alone (after each round, every query once, back to back), "
        f"ms: each process's user + system time from /proc. Total ÷ {cores} cores is the "
        "least wall time a query of that path can take on this machine with every process "
        "sharing it, however well the work overlaps.",
        "",
        f"| path | {' | '.join(who)} | total | total ÷ {cores} cores | wall |",
        "|---|" + "---|" * (len(who) + 3),
        *(
            f"| {path} | {' | '.join(shown(row[w]) for w in who)} | {shown(row['total'])} | "
            f"{round(row['total']['median'] / cores, 2)} | {shown(row['wall'])} |"
            for path, row in cpu.items()
        ),
    ]


def _services_text(services: str) -> str:
    if services == "processes":
        return (
            "Each node and the federation service ran as a process of its own (`cets node "
            "serve`, `cets federation serve`); the gateway and this client shared this process. "
            "All of them and one OpenSearch share the machine's 2 cores, so the three nodes' "
            "work in (c) and (d) still competes for them: across machines it would not."
        )
    return (
        "Every service ran in this one Python process (threads sharing the interpreter lock) "
        "beside one OpenSearch, on 2 cores: the three nodes' work in (c) and (d) is "
        "serialised, so fan-out costs more here than across machines."
    )


if __name__ == "__main__":
    raise SystemExit(main())
