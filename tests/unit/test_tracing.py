"""Traces: one officer search through the gateway, the federation service and three partners
is one trace inside the agency, and no trace context reaches a partner.

The gateway (FastAPI, served in-process) and the federation service are the real ones; the
partners are gRPC servers that answer every search with a valid signed answer and record the
metadata each call brought. Spans go to an in-memory exporter.
"""

from __future__ import annotations

import threading
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cets.common import tracing
from cets.common.background import BackgroundService
from cets.common.keys import generate_private_key, load_private_key
from cets.common.signing import sign_answer
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.federation.server import FederationServer
from cets.gateway.tokens import issue_token
from cets.v1 import search_pb2
from helpers import ServedApp
from stacks import gateway_app

AGENCIES = ("tps", "rcmp", "nca")
TRACE_HEADERS = {"traceparent", "tracestate", "baggage", "b3", "uber-trace-id"}


class RecordingNode:
    """A partner's node: a valid, signed answer to every search (one hit, or partial for
    ``partial``), and the metadata of every call it received."""

    def __init__(self, fed: LocalFederation, agency: str, *, partial: bool = False) -> None:
        key = load_private_key(fed.agency(agency).directory / "agency.key")
        self.metadata: list[dict[str, str]] = []
        lock = threading.Lock()

        def answer(request_bytes: bytes, context: Any) -> bytes:
            with lock:
                self.metadata.append({k: str(v) for k, v in context.invocation_metadata()})
            request = search_pb2.SearchRequest.FromString(request_bytes)
            response = search_pb2.SearchResponse(
                agency=agency,
                request_nonce=request.context.nonce,
                total_hits=0,
                disclosure=search_pb2.DISCLOSURE_LEVEL_FULL,
                partial=partial,
                partial_reason="1 of 2 shards failed" if partial else "",
            )
            return sign_answer(response, key).SerializeToString()

        handler = grpc.method_handlers_generic_handler(
            "cets.v1.SearchNode", {"Search": grpc.unary_unary_rpc_method_handler(answer)}
        )
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((handler,))
        self._server.add_insecure_port(fed.agency(agency).node_target)

    def __enter__(self) -> RecordingNode:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop(0)


def test_traces_are_off_unless_the_standard_settings_ask() -> None:
    assert tracing.wanted({}) is None
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "otlp"}) == "otlp"
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == "otlp"
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "console"}) == "console"
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "none"}) is None
    disabled = {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}
    assert tracing.wanted(disabled) is None
    assert not tracing.setup("gateway", {})
    assert not tracing.enabled()
    assert tracing.client_interceptors() == [] and tracing.server_interceptors() == []


def test_one_search_is_one_trace_and_no_trace_context_reaches_a_partner(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    fed = build_local_federation(
        tmp_path / "fed", [AgencySpec(a, a.upper(), "CA") for a in AGENCIES]
    )
    issuer = generate_private_key()
    config = fed.agency("tps").federation_config()
    with (
        RecordingNode(fed, "tps") as tps,
        RecordingNode(fed, "rcmp") as rcmp,
        RecordingNode(fed, "nca", partial=True) as nca,
        BackgroundService(lambda: FederationServer(config)) as federation,
    ):
        app = gateway_app("tps", issuer, federation.target, tmp_path / "gateway.log")
        token = issue_token(issuer, officer="officer-7", agency="tps")
        with ServedApp(app) as client:
            reply = client.post(
                "/v1/search",
                json={
                    "query": {"text": "hosting link"},
                    "purpose": "investigation of online luring",
                    "case_reference": "CASE-1",
                },
                headers={"Authorization": f"Bearer {token}"},
            )
    assert reply.status_code == 200, reply.text
    statuses = {a["agency"]: a["status"] for a in reply.json()["agencies"]}
    assert statuses == {"tps": "ok", "rcmp": "ok", "nca": "partial"}

    # no partner saw any trace context (nor any header naming one)
    for node in (tps, rcmp, nca):
        assert len(node.metadata) == 1
        (seen,) = node.metadata
        assert not TRACE_HEADERS & set(seen), seen
        assert not [k for k in seen if k.startswith(("ot-", "x-b3", "uberctx"))], seen

    spans = exporter.get_finished_spans()
    traces = {s.context.trace_id for s in spans}
    assert len(traces) == 1, [(s.name, s.context.trace_id) for s in spans]  # one trace
    by_name: dict[str, list[Any]] = {}
    for s in spans:
        by_name.setdefault(s.name, []).append(s)
    # gateway → federation (client and server side of that one call) → fan-out → partners
    assert "POST /v1/search" in by_name
    federation_spans = by_name["/cets.v1.Federation/Search"]
    kinds = sorted(s.kind.name for s in federation_spans)
    assert kinds == ["CLIENT", "SERVER"]
    (fanout,) = by_name["cets.federation.fanout"]
    assert fanout.attributes["cets.agency"] == "tps"
    assert fanout.attributes["cets.status"] == "ok"
    assert fanout.attributes["cets.answered"] == 3
    calls = {s.attributes["cets.agency"]: s for s in by_name["cets.partner.call"]}
    assert set(calls) == set(AGENCIES)
    assert {a: s.attributes["cets.status"] for a, s in calls.items()} == statuses
    assert all(
        s.parent is not None and s.parent.span_id == fanout.context.span_id for s in calls.values()
    )
    checks = by_name["cets.partner.answer_check"]
    assert {s.attributes["cets.agency"] for s in checks} == set(AGENCIES)
    for check in checks:
        assert check.attributes["cets.status"] == "ok"
        call = calls[check.attributes["cets.agency"]]
        assert check.parent is not None and check.parent.span_id == call.context.span_id
    (request,) = [s for s in by_name["POST /v1/search"] if s.kind.name == "SERVER"]
    assert request.attributes["cets.agency"] == "tps"
    assert request.attributes["cets.status"] == "ok"
