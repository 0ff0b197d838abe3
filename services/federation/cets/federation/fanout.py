"""Fan-out: one request to many agencies at once, under one deadline, each failure kept apart.

The request is a search, a watch or an alert pull (:mod:`cets.common.signing` signs each
kind the same way); its answer is a ``SearchResponse``, ``WatchReceipt`` or ``AlertBatch``.

Every target gets its own signed request (addressed to it, with its own nonce) and the time
that remains until the overall deadline. Each call ends in an :class:`Outcome` — an answer or
the reason there is none — and never raises into its siblings: a peer that is down, slow,
refuses, or answers garbage affects only its own outcome. Answers are accepted only with a
valid signature of the answering agency, bound to the nonce of the request sent to it.

One timer keeps the deadline for the whole fan-out: when it fires, every call still waiting
is given up and reported as a ``TIMEOUT``. (A timer per call, ``asyncio.timeout``, cost the
coordinator 3 to 4 ms of CPU per search of 200 agencies.) A search of many agencies may
stop sooner, by its :class:`Tail` rule: once nearly all of them have replied, the last few
get a grace in proportion to the time that took, and those still silent after it are given
up as ``TIMEOUT`` too, with a reason that says so. One agency in a hundred answering in
half a second then no longer holds up the answers of the other 199.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from opentelemetry.trace import SpanKind

from cets.common import tracing
from cets.common.membership import Member
from cets.common.signing import Answer, BadAnswer, Body, RequestSigner, SignedRequest, open_answer
from cets.v1 import releases_pb2, search_pb2, watches_pb2

__all__ = ["CallRefused", "Caller", "FanOut", "Outcome", "Status", "Tail", "Who"]

_log = logging.getLogger(__name__)


class CallRefused(Exception):
    """A :class:`Caller` would not make the call (e.g. no TLS to a remote peer); the message
    is the reason reported for that agency."""


class Status(StrEnum):
    OK = "ok"
    PARTIAL = "partial"
    """An answer, but the owner's search was incomplete (its OpenSearch said so)."""
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"
    ERROR = "error"


_CODES: dict[grpc.StatusCode, Status] = {
    grpc.StatusCode.DEADLINE_EXCEEDED: Status.TIMEOUT,
    grpc.StatusCode.CANCELLED: Status.TIMEOUT,
    grpc.StatusCode.UNAVAILABLE: Status.UNAVAILABLE,
    grpc.StatusCode.UNAUTHENTICATED: Status.REJECTED,
    grpc.StatusCode.PERMISSION_DENIED: Status.REJECTED,
    grpc.StatusCode.INVALID_ARGUMENT: Status.REJECTED,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Status.REJECTED,
    grpc.StatusCode.NOT_FOUND: Status.REJECTED,
}


_A = TypeVar("_A", bound=Answer)
_ANSWERS: dict[str, type[Any]] = {
    search_pb2.SearchRequest.DESCRIPTOR.full_name: search_pb2.SearchResponse,
    watches_pb2.WatchRequest.DESCRIPTOR.full_name: watches_pb2.WatchReceipt,
    watches_pb2.AlertPullRequest.DESCRIPTOR.full_name: watches_pb2.AlertBatch,
    releases_pb2.ReleaseRequest.DESCRIPTOR.full_name: releases_pb2.ReleaseReceipt,
    releases_pb2.DecisionPullRequest.DESCRIPTOR.full_name: releases_pb2.DecisionBatch,
}


@dataclass(frozen=True, slots=True)
class Outcome(Generic[_A]):
    """One agency's part in a federated request."""

    agency: str
    status: Status
    latency_ms: int
    reason: str = ""
    response: _A | None = None
    nonce: bytes = b""
    answer_sha256: str = ""
    """SHA-256 of the signed answer's bytes: the node's audit log records the same digest."""
    answer: bytes = b""
    """The signed answer's bytes, verified: ``response`` serialised exactly as its node
    signed it (empty without a response)."""


@dataclass(frozen=True, slots=True)
class Who:
    """The officer behind a query, and why they ask."""

    officer_id: str
    purpose: str
    case_reference: str


@dataclass(frozen=True, slots=True)
class Tail:
    """When a fan-out to many agencies stops waiting for its last few, before its deadline.

    Once ``quorum`` of the agencies asked (a share, of at least ``min_targets`` agencies)
    have replied, the fan-out waits for the others ``grace`` times as long as that took, and
    at least ``min_grace_s``; then it gives them up, as at the deadline. A fan-out to fewer
    agencies, or with ``quorum`` 1, waits for every agency until the deadline. So does a
    search that asks to (``wait_for_all``).
    """

    quorum: float = 0.95
    grace: float = 0.5
    min_targets: int = 20
    min_grace_s: float = 0.1

    def __post_init__(self) -> None:
        if not 0.5 <= self.quorum <= 1:
            raise ValueError("the tail's quorum must be a share between 0.5 and 1")
        if not (math.isfinite(self.grace) and 0 <= self.grace <= 100):
            raise ValueError("the tail's grace must be a factor between 0 and 100")
        if self.min_targets < 2 or not (math.isfinite(self.min_grace_s) and self.min_grace_s >= 0):
            raise ValueError("the tail needs at least 2 targets and a grace of 0 s or more")

    def quorum_of(self, targets: int) -> int | None:
        """Replies after which the grace starts, for a fan-out to ``targets`` agencies;
        ``None`` when it waits for every agency."""
        if targets < self.min_targets:
            return None
        needed = math.ceil(self.quorum * targets - 1e-9)
        return needed if needed < targets else None

    def grace_s(self, took_s: float) -> float:
        """How long the last agencies are waited for, once the quorum took ``took_s``."""
        return max(self.min_grace_s, self.grace * took_s)


class Caller(Protocol):
    """Sends one signed request to one member's node; ``timeout_s`` is the time left until
    the fan-out's deadline, to be passed on to the node. The fan-out itself stops waiting at
    the deadline (the caller's task is cancelled then).

    Raises ``grpc.aio.AioRpcError`` (or anything else) on failure.
    """

    async def __call__(
        self, member: Member, request: SignedRequest, timeout_s: float
    ) -> search_pb2.SignedAnswer: ...


class FanOut:
    """Signs and sends a query to each target, and gathers the outcomes."""

    def __init__(
        self,
        *,
        agency_id: str,
        key: Ed25519PrivateKey,
        caller: Caller,
        validity_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._me = agency_id
        self._key = key
        self._call = caller
        self._validity = validity_s
        self._clock = clock

    @property
    def agency_id(self) -> str:
        """The agency this fan-out signs for."""
        return self._me

    def prepare(
        self, body: Body, who: Who, targets: Sequence[Member], *, timeout_s: float
    ) -> list[tuple[Member, Any]]:
        """One signed request per target (addressed to it, valid while it can still be
        answered), ready to be recorded and sent: a ``SearchRequest`` for a query, a
        ``WatchRequest`` for a watch, an ``AlertPullRequest`` for a pull."""
        if not targets:
            return []
        signer = RequestSigner(body, self._key)
        requests = signer.fan_out(  # one signature naming every target
            requester=self._me,
            audiences=[member.id for member in targets],
            officer_id=who.officer_id,
            purpose=who.purpose,
            case_reference=who.case_reference,
            created=self._clock(),
            validity_s=min(self._validity, timeout_s + 5.0),
        )
        return list(zip(targets, requests, strict=True))

    async def send(
        self,
        prepared: Sequence[tuple[Member, SignedRequest]],
        *,
        deadline: float,
        tail: Tail | None = None,
    ) -> list[Outcome[Any]]:
        """Send every request at once; one outcome per request, in order, by ``deadline``
        (a ``time.monotonic()`` value), or sooner by the ``tail`` rule."""
        started = time.monotonic()
        if not prepared or deadline <= started:
            return [
                _outcome(m, r, started, Status.TIMEOUT, "no time left before the deadline")
                for m, r in prepared
            ]
        asks = [asyncio.ensure_future(self._ask(m, r, deadline)) for m, r in prepared]
        try:
            late, reason = await _awaited(asks, started, deadline, tail)
        except BaseException:  # this fan-out was cancelled: so are its calls
            for ask in asks:
                ask.cancel()
            raise
        for ask in late:
            ask.cancel()
        if late:  # each ends at once, at the await it was in
            await asyncio.wait(late)
        return [
            _outcome(m, r, started, Status.TIMEOUT, reason) if ask.cancelled() else ask.result()
            for ask, (m, r) in zip(asks, prepared, strict=True)
        ]

    async def _ask(self, member: Member, request: SignedRequest, deadline: float) -> Outcome[Any]:
        if not tracing.enabled():
            return await self._ask_untraced(member, request, deadline)
        # One span per partner, in this agency's trace only: the call itself carries no trace
        # context (the partner's node starts its own trace; cets.common.tracing says why).
        with tracing.span(
            "cets.partner.call",
            agency=member.id,
            kind=SpanKind.CLIENT,
            attributes={"rpc.method": _rpc(request)},
        ) as current:
            try:
                result = await self._ask_untraced(member, request, deadline)
            except asyncio.CancelledError:  # given up at the fan-out's deadline
                tracing.outcome(current, Status.TIMEOUT.value, "deadline_exceeded")
                raise
            tracing.outcome(current, result.status.value, result.reason)
            return result

    async def _ask_untraced(
        self, member: Member, request: SignedRequest, deadline: float
    ) -> Outcome[Any]:
        started = time.monotonic()
        kind = _ANSWERS[request.DESCRIPTOR.full_name]

        def outcome(
            status: Status,
            reason: str = "",
            response: Any = None,
            answer: bytes = b"",
        ) -> Outcome[Any]:
            return _outcome(member, request, started, status, reason, response, answer)

        nonce = request.context.nonce
        remaining = deadline - started
        if remaining <= 0:
            return outcome(Status.TIMEOUT, "no time left before the deadline")
        try:
            signed = await self._call(member, request, remaining)
        except grpc.aio.AioRpcError as exc:
            status = _CODES.get(exc.code(), Status.ERROR)
            return outcome(status, f"{exc.code().name.lower()}: {exc.details() or ''}".strip())
        except TimeoutError:
            return outcome(Status.TIMEOUT, "deadline_exceeded")
        except CallRefused as exc:
            return outcome(Status.ERROR, str(exc))
        except Exception as exc:  # noqa: BLE001 - one peer's surprise is that peer's outcome
            _log.warning(
                "peer call failed", extra={"agency": member.id, "error": type(exc).__name__}
            )
            return outcome(Status.ERROR, f"call failed: {type(exc).__name__}")
        # grpc.aio hands back None, not an error, when the answer's bytes do not parse
        if not isinstance(signed, search_pb2.SignedAnswer):
            return outcome(Status.ERROR, "unreadable answer")
        with tracing.span("cets.partner.answer_check", agency=member.id) as check:
            try:
                response = open_answer(signed, member.public_key, kind)
                problem = _check_answer(member, response, nonce)
            except BadAnswer as exc:
                problem = str(exc) or "bad answer"
            except Exception as exc:  # noqa: BLE001 - a malformed answer is that peer's outcome
                problem = f"answer could not be checked: {type(exc).__name__}"
            tracing.outcome(check, "error" if problem else "ok", problem)
        if problem:
            return outcome(Status.ERROR, problem)
        if isinstance(response, search_pb2.SearchResponse) and response.partial:
            reason = response.partial_reason or "the search was incomplete"
            return outcome(Status.PARTIAL, reason, response=response, answer=signed.answer)
        return outcome(Status.OK, response=response, answer=signed.answer)


async def _awaited(
    asks: Sequence[asyncio.Task[Outcome[Any]]], started: float, deadline: float, tail: Tail | None
) -> tuple[set[asyncio.Task[Outcome[Any]]], str]:
    """Wait for ``asks`` until ``deadline``, or until ``tail``'s grace after its quorum; the
    asks still waiting then, and the reason they are given up for."""
    quorum = tail.quorum_of(len(asks)) if tail else None
    if tail is None or quorum is None:
        _, late = await asyncio.wait(asks, timeout=deadline - started)
        return late, "deadline_exceeded"
    reached: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    replies = 0

    def replied(_: object) -> None:
        nonlocal replies
        replies += 1
        if replies == quorum and not reached.done():
            reached.set_result(None)

    for ask in asks:
        ask.add_done_callback(replied)
    await asyncio.wait([reached], timeout=deadline - started)
    late = {ask for ask in asks if not ask.done()}
    if not reached.done():  # the deadline came first
        reached.cancel()
        return late, "deadline_exceeded"
    if not late:
        return late, ""
    now = time.monotonic()
    grace = tail.grace_s(now - started)
    if now + grace >= deadline:
        _, late = await asyncio.wait(late, timeout=deadline - now)
        return late, "deadline_exceeded"
    _, late = await asyncio.wait(late, timeout=grace)
    return late, (
        f"given up: no answer {round(grace * 1000)} ms after {quorum} of {len(asks)} agencies "
        "had replied (a search that asks to wait for all agencies waits until its deadline)"
    )


def _outcome(
    member: Member,
    request: SignedRequest,
    started: float,
    status: Status,
    reason: str = "",
    response: Any = None,
    answer: bytes = b"",
) -> Outcome[Any]:
    """``member``'s outcome for ``request``, sent at ``started`` (``time.monotonic()``)."""
    latency = int((time.monotonic() - started) * 1000)
    digest = hashlib.sha256(answer).hexdigest() if answer else ""
    nonce = request.context.nonce
    return Outcome(member.id, status, latency, reason, response, nonce, digest, answer)


def _rpc(request: SignedRequest) -> str:
    return str(request.DESCRIPTOR.full_name).removeprefix("cets.v1.")


def _check_answer(member: Member, response: Answer, nonce: bytes) -> str:
    if response.request_nonce != nonce:
        return "answer not bound to this request"
    if response.agency != member.id:
        return "answer speaks for another agency"
    if isinstance(response, search_pb2.SearchResponse):
        if any(h.agency != member.id for h in response.hits):
            return "answer speaks for another agency"
    elif (
        isinstance(response, watches_pb2.AlertBatch)
        and any(
            a.agency != member.id or (a.HasField("hit") and a.hit.agency != member.id)
            for a in response.alerts
        )
    ) or (
        isinstance(response, releases_pb2.DecisionBatch)
        and any(d.agency != member.id for d in response.decisions)
    ):
        return "answer speaks for another agency"
    return ""
