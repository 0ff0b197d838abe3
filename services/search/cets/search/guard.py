"""The node's gate: no request — a search, a watch, an alert pull — is acted on until it is
proven authentic, fresh and addressed here. Every kind passes the same checks.

Checks, in order — each failure names its reason:

    unsigned, unknown agency, bad signature            → Unauthenticated
    a value with no canonical form (a timestamp out
      of range), so the signature cannot be checked    → Unauthenticated
    revoked member                                      → PermissionDenied
    wrong audience, or a fan-out copy whose ticket is
      not the one committed to for this agency         → PermissionDenied
    missing times, not yet valid, expired, too long     → Unauthenticated
    missing purpose or case reference, missing officer  → PermissionDenied
    short or replayed nonce                             → Unauthenticated

The signature is checked before any other field is trusted. Nonces are remembered until the
request they came with has expired (plus the allowed clock skew), so a captured request cannot
be sent again while it would still be accepted. A fan-out is signed once for every agency it
goes to; each copy carries a ticket only its own agency receives (docs/one-signature.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf import json_format

from cets.common.membership import Member, Membership
from cets.common.signing import (
    MAX_AUDIENCES,
    TICKET_BYTES,
    SignedRequest,
    audience_commitment,
    verify_request,
)
from cets.core.convert import check_size
from cets.core.releases import check_release_size
from cets.core.watches import check_watch_size
from cets.search.errors import NodeError
from cets.v1 import releases_pb2, search_pb2, watches_pb2

__all__ = ["PermissionDenied", "ReplayCache", "RequestGuard", "Requester", "Unauthenticated"]

MIN_NONCE_BYTES = 16
MAX_NONCE_BYTES = 64


class Unauthenticated(NodeError):
    """The request cannot be attributed to a member, or is stale or replayed."""


class PermissionDenied(NodeError):
    """The request is authentic but may not be answered."""


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked, proven by the request's signature."""

    member: Member
    officer_id: str
    purpose: str
    case_reference: str
    nonce: bytes


class ReplayCache:
    """Nonces seen recently, each kept until it could no longer be accepted anyway."""

    def __init__(self, *, max_entries: int = 1_000_000) -> None:
        self._seen: dict[tuple[str, bytes], float] = {}
        self._max = max_entries
        self._lock = threading.Lock()
        self._next_purge = 0.0

    def remember(self, agency: str, nonce: bytes, *, until: float, now: float) -> bool:
        """Record a nonce; False if it was already seen (a replay)."""
        key = (agency, nonce)
        with self._lock:
            if now >= self._next_purge or len(self._seen) >= self._max:
                self._purge(now)
            if key in self._seen:
                return False
            if len(self._seen) >= self._max:
                raise Unauthenticated("too many requests in flight to check for replays; retry")
            self._seen[key] = until
            return True

    def _purge(self, now: float) -> None:
        self._seen = {k: until for k, until in self._seen.items() if until > now}
        self._next_purge = now + 10.0

    def __len__(self) -> int:
        return len(self._seen)


class RequestGuard:
    """Decides whether a signed request may be answered by agency ``agency_id``."""

    def __init__(
        self,
        *,
        agency_id: str,
        membership: Callable[[], Membership],
        replay: ReplayCache | None = None,
        max_skew_s: float = 30.0,
        max_validity_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._agency = agency_id
        self._membership = membership
        self._replay = replay or ReplayCache()
        self._skew = max_skew_s
        self._max_validity = max_validity_s
        self._clock = clock

    def check(self, request: SignedRequest) -> Requester:
        """The proven requester, or :class:`Unauthenticated` / :class:`PermissionDenied`."""
        context = request.context
        _check_size(request)  # cheap bounds first: nothing costly for oversized input
        if not request.signature:
            raise Unauthenticated("the request is not signed")
        member = self._membership().get(context.requester_agency)
        if member is None:
            raise Unauthenticated(f"unknown agency {context.requester_agency[:64]!r}")
        try:
            authentic = verify_request(request, member.public_key)
        except (ValueError, json_format.Error):  # e.g. a timestamp outside years 1-9999
            raise Unauthenticated(
                "the request cannot be verified: it holds a value with no canonical form "
                "(a timestamp out of range?)"
            ) from None
        if not authentic:
            raise Unauthenticated(f"bad signature for agency {member.id!r}")
        if not member.active:
            raise PermissionDenied(f"agency {member.id!r} is no longer a member")
        self._check_audience(request)
        expires = self._check_times(context)
        for field, label in (
            ("officer_id", "officer"),
            ("purpose", "purpose"),
            ("case_reference", "case reference"),
        ):
            if not getattr(context, field).strip():
                raise PermissionDenied(f"the request has no {label}")
        if not MIN_NONCE_BYTES <= len(context.nonce) <= MAX_NONCE_BYTES:
            raise Unauthenticated(
                f"the nonce must be {MIN_NONCE_BYTES} to {MAX_NONCE_BYTES} bytes long"
            )
        now = self._clock()
        if not self._replay.remember(member.id, context.nonce, until=expires + self._skew, now=now):
            raise Unauthenticated("replayed request (nonce already used)")
        return Requester(
            member=member,
            officer_id=context.officer_id,
            purpose=context.purpose,
            case_reference=context.case_reference,
            nonce=bytes(context.nonce),
        )

    def _check_audience(self, request: SignedRequest) -> None:
        context = request.context
        if not context.audience_commitments:
            if context.audience != self._agency:
                raise PermissionDenied(
                    f"the request is addressed to {context.audience!r}, not {self._agency!r}"
                )
            return
        # one signature for a fan-out: only the copy the signer sent here carries a ticket
        # that, with this agency's id, gives one of the signed commitments -- another
        # addressed agency holds only its own ticket and cannot forward its copy here
        # (a plain comparison: the commitments and the ticket are the sender's own, and the
        # agency's id is public, so how long it takes tells the sender nothing it lacks)
        mine = audience_commitment(self._agency, request.ticket)
        if mine not in context.audience_commitments:
            raise PermissionDenied(f"the request is not addressed to {self._agency!r}")

    def _check_times(self, context: search_pb2.RequestContext) -> float:
        if not (context.HasField("created") and context.HasField("expires")):
            raise Unauthenticated("the request has no validity period")
        created = context.created.ToMicroseconds() / 1e6
        expires = context.expires.ToMicroseconds() / 1e6
        now = self._clock()
        if created > now + self._skew:
            raise Unauthenticated("the request is not yet valid (created in the future)")
        if now > expires + self._skew:
            raise Unauthenticated("the request has expired")
        if expires <= created or expires - created > self._max_validity:
            raise Unauthenticated(
                f"the validity period must be positive and at most {self._max_validity:.0f} s"
            )
        return expires


def _check_size(request: SignedRequest) -> None:
    context = request.context
    if context.audience_commitments:
        if context.audience:
            raise Unauthenticated("the request has both one audience and a list of them")
        commitments = context.audience_commitments
        if (
            len(commitments) > MAX_AUDIENCES
            or len(set(commitments)) != len(commitments)
            or set(map(len, commitments)) != {32}
            or len(request.ticket) != TICKET_BYTES
        ):
            raise Unauthenticated(
                f"a fan-out names 1 to {MAX_AUDIENCES} distinct 32-byte audience commitments "
                f"and carries a {TICKET_BYTES}-byte ticket"
            )
    if isinstance(request, search_pb2.SearchRequest):
        check_size(request.query)
    elif isinstance(request, watches_pb2.WatchRequest):
        check_watch_size(request.watch)
    elif isinstance(request, releases_pb2.ReleaseRequest):
        check_release_size(request.release)
    # a pull is a cursor and a limit: bounded by the request size limit alone
