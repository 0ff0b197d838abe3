"""The plaintext health-only listener, probed the way the kubelet's gRPC probe does it: a
plaintext connection, one ``grpc.health.v1.Health/Check``, a short deadline, success only
on ``SERVING``. Nothing but health is served there."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from cets.common.grpc_server import LIVENESS, HealthListener
from cets.demo.local import AgencySpec, build_local_federation
from cets.search.background import BackgroundNode
from helpers import closed_port_url

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def kubelet_probe(address: str, service: str = "", timeout_s: float = 1.0) -> bool:
    """What the kubelet's ``grpc:`` probe does: plaintext, Check, healthy only if SERVING."""
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == SERVING)


def test_the_listener_answers_health_and_nothing_else() -> None:
    async def run() -> None:
        health = HealthServicer()
        listener = HealthListener(health, "127.0.0.1:0")
        port = await listener.start()
        address = f"127.0.0.1:{port}"
        try:
            await health.set("", NOT_SERVING)
            assert not await asyncio.to_thread(kubelet_probe, address)
            await health.set("", SERVING)
            await health.set("cets.v1.SearchNode", SERVING)
            assert await asyncio.to_thread(kubelet_probe, address)
            assert await asyncio.to_thread(kubelet_probe, address, "cets.v1.SearchNode")
            assert not await asyncio.to_thread(kubelet_probe, address, "no.such.Service")

            def search() -> grpc.StatusCode:
                with grpc.insecure_channel(address) as channel:
                    method = channel.unary_unary("/cets.v1.SearchNode/Search")
                    try:
                        method(b"", timeout=2)
                    except grpc.RpcError as exc:
                        return exc.code()
                return grpc.StatusCode.OK

            assert await asyncio.to_thread(search) == grpc.StatusCode.UNIMPLEMENTED
        finally:
            await listener.stop(0)

    asyncio.run(run())


def test_a_node_reports_its_health_on_the_listener(tmp_path: Path) -> None:
    fed = build_local_federation(tmp_path / "fed", [AgencySpec("tps", "Toronto", "CA")])
    health_address = f"127.0.0.1:{_free_port()}"
    config = replace(fed.agency("tps").node_config(closed_port_url()), health_listen=health_address)
    with BackgroundNode(config) as node:
        # its OpenSearch is unreachable: the node is up but says NOT_SERVING, on both ports
        assert not kubelet_probe(health_address)
        assert not kubelet_probe(health_address, "cets.v1.SearchNode")
        assert kubelet_probe(health_address, LIVENESS)  # alive: no restart for an outage
        with grpc.insecure_channel(node.target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=2
            )
            assert reply.status == NOT_SERVING
        with grpc.insecure_channel(health_address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=2
            )
            assert reply.status == NOT_SERVING  # an answer, not a refused connection
    assert not kubelet_probe(health_address)  # gone with the node


@pytest.mark.parametrize("value", ["nowhere", "127.0.0.1:50051"])
def test_a_bad_health_listen_setting_is_refused(tmp_path: Path, value: str) -> None:
    from cets.core.errors import ConfigError

    fed = build_local_federation(tmp_path / "fed", [AgencySpec("tps", "Toronto", "CA")])
    config = fed.agency("tps").node_config("http://127.0.0.1:9200")
    with pytest.raises(ConfigError, match="CETS_NODE_HEALTH_LISTEN"):
        replace(config, listen="127.0.0.1:50051", health_listen=value)
