"""An agency's OpenSearch goes down under its running node and comes back: the node answers
UNAVAILABLE quickly meanwhile, reports NOT_SERVING, and recovers by itself."""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cets.core.display import build_query
from cets.demo.local import AgencySpec, build_local_federation
from cets.search import server as node_server
from cets.search.background import BackgroundNode
from cets.search.embedded_opensearch import EmbeddedOpenSearch, OpenSearchSettings
from cets.v1 import search_pb2, search_pb2_grpc
from helpers import ingest, opened, signed

pytestmark = pytest.mark.opensearch


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _health(channel: grpc.Channel) -> int:
    reply = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="cets.v1.SearchNode"), timeout=5
    )
    return int(reply.status)


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_the_node_survives_its_opensearch_going_away_and_coming_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(node_server, "HEALTH_INTERVAL_S", 0.5)  # check often, for the test
    fed = build_local_federation(
        tmp_path / "federation",
        [AgencySpec("asker", "Asking Agency", "CA"), AgencySpec("rec", "Recovering Agency", "CA")],
    )
    # outside pytest's private temp dir: the engine's own user must reach it when run as root
    base = Path(tempfile.mkdtemp(prefix="cets-recovery-"))
    base.chmod(0o755)
    settings = OpenSearchSettings(
        cluster_name="cets-recovery",
        http_port=_free_port(),
        transport_port=_free_port(),
        base_dir=base,
    )
    engine = EmbeddedOpenSearch(settings)
    url = engine.start()
    try:
        agency = fed.agency("rec")
        record = {
            "id": "r1",
            "type": "tip",
            "text": "shared a hosting link",
            "created": "2025-01-01",
        }
        ingest(url, agency, agency.node_config(url), [record])
        query = build_query(text="hosting link")

        def search(timeout: float = 5.0) -> search_pb2.SearchResponse:
            request = signed(fed, "asker", "rec", query)
            return opened(fed, "rec", stub.Search(request, timeout=timeout))

        with (
            BackgroundNode(agency.node_config(url)) as node,
            grpc.insecure_channel(node.target) as channel,
        ):
            stub = search_pb2_grpc.SearchNodeStub(channel)
            assert [h.record_id for h in search().hits] == ["r1"]

            engine.stop()  # the agency's OpenSearch goes away under the running node
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as info:
                search()
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
            assert time.monotonic() - started < 2.0  # quickly, not after the deadline
            assert _wait_for(
                lambda: _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING, 10
            )

            engine = EmbeddedOpenSearch(settings)  # it comes back, same port, same data
            engine.start()
            assert _wait_for(lambda: _health(channel) == health_pb2.HealthCheckResponse.SERVING, 30)
            assert [h.record_id for h in search().hits] == ["r1"]  # no restart of the node
    finally:
        engine.stop()
        shutil.rmtree(base, ignore_errors=True)
