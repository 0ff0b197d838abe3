"""The federation's gRPC caller: an answer over its receive limit is named as such."""

from __future__ import annotations

import grpc
import pytest

from cets.federation.peers import MAX_MESSAGE_BYTES, GrpcCaller

EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


def _error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


@pytest.mark.parametrize(
    ("code", "details", "named"),
    [
        (
            EXHAUSTED,
            f"CLIENT: Received message larger than max (5000000 vs. {MAX_MESSAGE_BYTES})",
            True,
        ),
        (EXHAUSTED, f"Received message larger than max (5000000 vs. {MAX_MESSAGE_BYTES})", True),
        # the node refusing the request it received, however large: the node's own refusal
        (EXHAUSTED, "SERVER: Received message larger than max (70000 vs. 65536)", False),
        (EXHAUSTED, f"SERVER: Received message larger than max (1 vs. {MAX_MESSAGE_BYTES})", False),
        (EXHAUSTED, "Received message larger than max (70000 vs. 65536)", False),
        (EXHAUSTED, "too many searches from agency 'tps': at most 600/minute", False),
        (
            grpc.StatusCode.INTERNAL,
            f"Received message larger than max (5 vs. {MAX_MESSAGE_BYTES})",
            False,
        ),
    ],
    ids=["client", "unprefixed", "server", "server-same-limit", "other-limit", "rate", "internal"],
)
def test_only_this_sides_receive_limit_is_reported_as_a_too_large_answer(
    code: grpc.StatusCode, details: str, named: bool
) -> None:
    too_large = GrpcCaller()._too_large(_error(code, details))
    if not named:
        assert too_large is None
        return
    assert too_large is not None
    assert str(too_large) == (
        "the answer is larger than this service accepts: 5000000 bytes, "
        f"at most {MAX_MESSAGE_BYTES} bytes"
    )


def test_the_receive_limit_can_be_set() -> None:
    error = _error(EXHAUSTED, "CLIENT: Received message larger than max (2048 vs. 1024)")
    assert GrpcCaller()._too_large(error) is None
    assert "at most 1024 bytes" in str(GrpcCaller(max_message_bytes=1024)._too_large(error))


def test_every_kind_of_signed_request_has_its_node_method() -> None:
    from typing import get_args

    from cets.common.signing import SignedRequest
    from cets.federation import peers

    kinds = {kind.DESCRIPTOR.full_name for kind in get_args(SignedRequest)}
    assert kinds == set(peers._METHODS)
    with grpc.insecure_channel("127.0.0.1:1") as channel:  # never connects: nothing is called
        for stub, method in peers._METHODS.values():
            assert callable(getattr(stub(channel), method))
