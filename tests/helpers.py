"""Helpers for tests: signed requests, node settings, and servers that misbehave."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from typing import Any

from cets.common.background import BackgroundService
from cets.common.keys import load_private_key
from cets.common.signing import open_answer, signed_request
from cets.core.records import IngestContext
from cets.demo.local import LocalAgency, LocalFederation
from cets.search.config import NodeConfig
from cets.search.ingest import ingest_file
from cets.search.server import NodeServer
from cets.search.store import RecordStore, connect, connect_async
from cets.v1 import search_pb2


def signed(
    federation: LocalFederation,
    requester: str,
    audience: str,
    query: search_pb2.Query,
    *,
    officer: str = "officer-7",
    purpose: str = "investigation of online luring",
    case: str = "CASE-2026-001",
    created: float | None = None,
    validity_s: float = 60.0,
    nonce: bytes | None = None,
) -> search_pb2.SearchRequest:
    """A request from ``requester`` to ``audience``, signed with the requester's key."""
    return signed_request(
        query,
        requester=requester,
        audience=audience,
        key=load_private_key(federation.agency(requester).directory / "agency.key"),
        officer_id=officer,
        purpose=purpose,
        case_reference=case,
        created=time.time() if created is None else created,
        validity_s=validity_s,
        nonce=nonce,
    )


def varint(value: int) -> bytes:
    """``value`` as a protobuf varint, for writing wire bytes by hand."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def opened(
    federation: LocalFederation, answering: str, sealed: search_pb2.SignedAnswer
) -> search_pb2.SearchResponse:
    """The answer in ``sealed``, checked against the key of the agency ``answering``."""
    key = load_private_key(federation.agency(answering).directory / "agency.key")
    return open_answer(sealed, key.public_key())


def ingest(
    opensearch_url: str, agency: LocalAgency, config: NodeConfig, records: list[dict[str, Any]]
) -> None:
    """Put ``records`` in the index ``config`` names, as ``agency``'s; every one must be taken."""
    path = agency.directory / f"records-{config.index.alias}.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    client = connect(opensearch_url)
    try:
        ctx = IngestContext(agency.id, agency.card_key, agency.spec.region)
        summary = ingest_file(path, client=client, names=config.index, ctx=ctx)
    finally:
        client.close()
    assert (summary.in_index, summary.rejected) == (len(records), 0), summary


class CountingStore(RecordStore):
    """The node's real access to OpenSearch, counting every search that reaches it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.searches = 0

    async def search(self, body: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
        self.searches += 1
        return await super().search(body, timeout_s=timeout_s)


class CountedNode(BackgroundService):
    """A real search node on a real OpenSearch; ``searches`` says how many queries reached it."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self._stores: list[CountingStore] = []

        def make() -> NodeServer:
            store = CountingStore(connect_async(config.opensearch_url), config.index.alias)
            self._stores.append(store)
            return NodeServer(config, store=store)

        super().__init__(make, grace_s=config.grace_s)

    @property
    def searches(self) -> int:
        return self._stores[0].searches


class SilentServer:
    """Accepts TCP connections and never answers: an OpenSearch that hangs."""

    def __init__(self, port: int = 0) -> None:
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self._socket.listen(16)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _accept(self) -> None:
        self._socket.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(connection)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for connection in self._held:
            connection.close()
        self._socket.close()


def closed_port_url() -> str:
    """An address where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class LyingNode:
    """A gRPC server at ``port`` that answers every search wrongly.

    ``garbage``: bytes that are no answer at all. ``forged``: a well-formed answer signed
    with a key that is not the agency's.
    """

    def __init__(self, port: int, agency: str, behaviour: str) -> None:
        from concurrent import futures

        import grpc
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from cets.common.signing import sign_answer

        forger = Ed25519PrivateKey.generate()

        def answer(request_bytes: bytes, context: Any) -> bytes:
            if behaviour == "garbage":
                return b"\xff\xfe not a protobuf message \x00\x01"
            request = search_pb2.SearchRequest.FromString(request_bytes)
            response = search_pb2.SearchResponse(
                agency=agency, request_nonce=request.context.nonce, total_hits=1
            )
            return sign_answer(response, forger).SerializeToString()

        handler = grpc.method_handlers_generic_handler(
            "cets.v1.SearchNode",
            {"Search": grpc.unary_unary_rpc_method_handler(answer)},
        )
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((handler,))
        self._server.add_insecure_port(f"127.0.0.1:{port}")

    def __enter__(self) -> LyingNode:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop(0)


class ServedApp:
    """An ASGI app served by uvicorn on a loopback port from a thread; yields an HTTP client."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Any:
        import httpx

        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        return self.client

    def __exit__(self, *_: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self._thread.join(10)


def audited_outcomes(log: Any, kinds: tuple[str, ...]) -> Counter[str]:
    """Outcomes of the node audit entries of ``kinds``, with the refusals of unverified
    requests that the node counts into one ``node.refused_unverified`` entry per second
    (waits out that second, so the count is written)."""
    from cets.common.audit import read_entries
    from cets.search.answering import REFUSAL_WINDOW_S

    time.sleep(REFUSAL_WINDOW_S + 0.5)
    outcomes: Counter[str] = Counter()
    for entry in read_entries(log):
        event = entry.event
        if event["kind"] in kinds:
            outcomes[event["outcome"]] += 1
        elif event["kind"] == "node.refused_unverified":
            for key, count in event["outcomes"].items():
                kind, _, outcome = key.partition(":")
                if kind in kinds:
                    outcomes[outcome] += count
    return outcomes
