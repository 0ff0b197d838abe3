"""The gateway's one translation of the federation service's gRPC statuses into HTTP: every
status is mapped on purpose, the officer's own mistakes are 4xx, this agency's failures 5xx."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from cets.gateway.federation_client import FederationClient, FederationError
from cets.v1 import federation_pb2_grpc, records_pb2, search_pb2, watches_pb2_grpc

EXPECTED = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 413,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.CANCELLED: 503,
    grpc.StatusCode.ABORTED: 503,
    grpc.StatusCode.FAILED_PRECONDITION: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.UNAUTHENTICATED: 502,
    grpc.StatusCode.UNIMPLEMENTED: 502,
    grpc.StatusCode.NOT_FOUND: 502,
    grpc.StatusCode.ALREADY_EXISTS: 502,
    grpc.StatusCode.INTERNAL: 502,
    grpc.StatusCode.UNKNOWN: 502,
    grpc.StatusCode.DATA_LOSS: 502,
}


class Refusing(federation_pb2_grpc.FederationServicer):  # type: ignore[misc]
    """Answers every search with the status named in its purpose."""

    async def Search(self, request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode[request.purpose], "selectors[3]: not an e-mail")


async def _refusal(code: grpc.StatusCode) -> FederationError:
    server = grpc.aio.server()
    federation_pb2_grpc.add_FederationServicer_to_server(Refusing(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    client = FederationClient(f"127.0.0.1:{port}")
    try:
        await client.search(
            search_pb2.Query(text="x"),
            officer="det-1",
            purpose=code.name,
            case_reference="C-1",
            targets=[],
            timeout_s=5,
        )
    except FederationError as exc:
        return exc
    finally:
        await client.close()
        await server.stop(None)
    raise AssertionError("the search did not fail")


def test_every_grpc_status_is_mapped() -> None:
    assert set(EXPECTED) == set(grpc.StatusCode) - {grpc.StatusCode.OK}


@pytest.mark.parametrize("code", list(EXPECTED), ids=lambda c: c.name)
def test_each_status_gets_its_http_status_and_a_plain_reason(code: grpc.StatusCode) -> None:
    error = asyncio.run(_refusal(code))
    assert error.status == EXPECTED[code]
    if error.status == 400:  # the federation's own reason names the field
        assert str(error) == "selectors[3]: not an e-mail"
    else:  # never a gRPC detail the officer cannot act on
        assert "selectors[3]" not in str(error) and str(error)


def test_a_request_too_large_for_the_federation_service_is_413() -> None:
    async def scenario() -> FederationError:
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", 1024)])
        federation_pb2_grpc.add_FederationServicer_to_server(Refusing(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        client = FederationClient(f"127.0.0.1:{port}")
        try:
            await client.search(
                search_pb2.Query(text="x" * 4000),
                officer="det-1",
                purpose="OK",
                case_reference="C-1",
                targets=[],
                timeout_s=5,
            )
        except FederationError as exc:
            return exc
        finally:
            await client.close()
            await server.stop(None)
        raise AssertionError("the search did not fail")

    error = asyncio.run(scenario())
    assert error.status == 413 and "larger than the federation service takes" in str(error)


class RefusingWatches(watches_pb2_grpc.FederationWatchesServicer):  # type: ignore[misc]
    """Refuses every watch with the status named in its purpose, every pull with UNAVAILABLE."""

    async def SetWatch(self, request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode[request.purpose], "watch.selectors[0]: too long")

    async def PullAlerts(self, request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.UNAVAILABLE, "partners unreachable")


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.INTERNAL,
    ],
    ids=lambda c: c.name,
)
def test_watches_and_alert_pulls_are_mapped_like_searches(code: grpc.StatusCode) -> None:
    async def scenario() -> tuple[FederationError, FederationError]:
        server = grpc.aio.server()
        watches_pb2_grpc.add_FederationWatchesServicer_to_server(RefusingWatches(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        client = FederationClient(f"127.0.0.1:{port}")
        try:
            with pytest.raises(FederationError) as watch:
                await client.set_watch(
                    [records_pb2.Selector(kind=records_pb2.SELECTOR_KIND_EMAIL, value="a@b.org")],
                    officer="det-1",
                    purpose=code.name,
                    case_reference="C-1",
                    timeout_s=5,
                )
            with pytest.raises(FederationError) as pull:
                await client.pull_alerts({}, timeout_s=5)
        finally:
            await client.close()
            await server.stop(None)
        return watch.value, pull.value

    watch, pull = asyncio.run(scenario())
    assert watch.status == EXPECTED[code]
    if watch.status == 400:
        assert str(watch) == "watch.selectors[0]: too long"
    else:
        assert "selectors[0]" not in str(watch) and str(watch)
    assert pull.status == 503 and "unavailable" in str(pull)
