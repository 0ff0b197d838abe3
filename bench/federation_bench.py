"""Benchmark the federation: signing and verifying cost, and fan-out overhead for 3 agencies.

    .venv/bin/python bench/federation_bench.py                   # writes bench/results/
    .venv/bin/python bench/federation_bench.py --records 3000 --queries 50   # quick

Crypto: Ed25519 sign and verify of a typical request and of a typical answer (10 full hits),
canonical encoding included, in microseconds per operation.

Fan-out: three agencies' real search nodes (each its own index on one local OpenSearch, to
leave the two cores to the services) with sample data; the same queries sent
(a) straight to one node, signed; (b) through the federation service to that one agency;
(c) through the federation service to all three. (b) - (a) is the federation's own cost;
(c) adds waiting for the slowest of three.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import grpc
import httpx
import uvicorn
from _common import header, machine, per_op_us, stats, write

from cets.common.background import BackgroundService
from cets.common.keys import load_private_key
from cets.common.signing import (
    open_answer,
    sign_answer,
    signed_request,
    verify_request,
)
from cets.federation.local import AgencySpec, build_local_federation
from cets.federation.server import FederationServer
from cets.gateway.server import build_app
from cets.gateway.tokens import issue_token
from cets.search.background import BackgroundNode
from cets.search.display import build_query
from cets.search.embedded_opensearch import EmbeddedOpenSearch, OpenSearchSettings
from cets.search.ingest import ingest_file
from cets.search.records import IngestContext
from cets.search.sample_data import DEMO_AGENCIES, write_sample
from cets.search.store import connect
from cets.v1 import federation_pb2, federation_pb2_grpc, records_pb2, search_pb2, search_pb2_grpc

QUERIES = ["shared link known hashes", "private app", "meet weekend", "uploaded files", "luring"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30_000, help="across the three agencies")
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine(), "crypto_us": _crypto()}
    report["fanout_ms"] = _fanout(args.records, args.queries)
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


def _fanout(records: int, count: int) -> dict[str, dict[str, float]]:
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
        client.close()
        for a in agencies:
            stack.enter_context(BackgroundNode(fed.agency(a.id).node_config(engine.url)))
        first = fed.agency(agencies[0].id)
        service = stack.enter_context(
            BackgroundService(lambda: FederationServer(first.federation_config()))
        )
        key = load_private_key(first.directory / "agency.key")
        node = grpc.insecure_channel(first.node_target)
        federation = grpc.insecure_channel(service.target)
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

        gateway_config = first.gateway_config(federation=service.target, rate_limit="100000/minute")
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

        modes = {
            "a. direct to one node (signed)": direct,
            "b. federation → that one agency": lambda q: federated(q, [first.id]),
            "c. federation → 3 agencies": lambda q: federated(q, []),
            "d. gateway REST → 3 agencies": through_gateway,
        }
        for call in modes.values():  # warm-up
            for query in queries[:20]:
                call(query)
        results: dict[str, list[float]] = {name: [] for name in modes}
        for query in queries:  # interleaved, so drift affects every mode alike
            for name, call in modes.items():
                started = time.perf_counter()
                call(query)
                results[name].append((time.perf_counter() - started) * 1000)
        return {name: stats(values) for name, values in results.items()}


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
    fan = report["fanout_ms"]
    direct, one, three, gateway = (fan[k] for k in fan)
    lines = [
        "# Federation benchmark",
        "",
        header(report["machine"]),
        "",
        "| Ed25519 over the canonical encoding | µs per operation |",
        "|---|---|",
        *(f"| {name.replace('_', ' ')} | {value} |" for name, value in crypto.items()),
        "",
        "Free-text queries, one at a time, modes interleaved:",
        "",
        "| path | queries | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {s['n']} | {s['p50']} | {s['p99']} | {s['max']} |"
            for name, s in fan.items()
        ),
        "",
        "Federation overhead over a direct node call (b - a): "
        f"p50 {one['p50'] - direct['p50']:.2f} ms, p99 {one['p99'] - direct['p99']:.2f} ms. "
        "Fan-out to three (c - a): "
        f"p50 {three['p50'] - direct['p50']:.2f} ms, p99 {three['p99'] - direct['p99']:.2f} ms. "
        "The gateway over the federation (d - c): "
        f"p50 {gateway['p50'] - three['p50']:.2f} ms, p99 {gateway['p99'] - three['p99']:.2f} ms.",
        "",
        "Every service runs in this one Python process (threads sharing the interpreter lock) "
        "beside one OpenSearch, on 2 cores: the three nodes' work in (c) and (d) is serialised, "
        "so fan-out costs more here than across machines.",
    ]
    write("federation", report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
