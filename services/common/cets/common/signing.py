"""Signatures on requests between agencies: what exactly is signed, and how.

A request is signed by the requesting agency's federation service; its answer is signed by the
answering agency's node. Every kind of request — a search, a watch, an alert pull — is signed
and checked the same way, by the functions here; only its body and its domain differ:

    kind               body field   body message
    SearchRequest        query        Query
    WatchRequest         watch        Watch
    AlertPullRequest     pull         AlertPull
    ReleaseRequest       release      Release
    DecisionPullRequest  pull         DecisionPull

A request is signed over a *canonical encoding* of its body and context, never the protobuf
bytes on the wire (which may differ between implementations and versions for the same
message)::

    request:  b"cets.v1.<kind>\\n" + canonical_json({"context": C, "<body field>": B})

``B`` is the body in protobuf's JSON mapping (a published, language-neutral spec: original
field names, enums by name, bytes in base64, timestamps in RFC 3339); ``C`` lists every context
field explicitly. A fan-out signs the same body for every target, so the body's encoding is
made once (:class:`RequestSigner`) and only the context once per target.

An answer travels as :class:`~cets.v1.search_pb2.SignedAnswer`: the node serializes its answer
(a ``SearchResponse``, ``WatchReceipt``, ``AlertBatch``, ``ReleaseReceipt`` or
``DecisionBatch``) once and signs exactly those bytes::

    answer:   b"cets.v1.<answer message>\\n" + serialized answer

so the receiver checks the signature before it parses the answer, and nothing is re-encoded
to check it (re-encoding answers of up to hundreds of records was the largest avoidable cost
of a fan-out). The domain prefixes keep a signature made for one kind of message from ever
verifying as the other. The answer carries the request's nonce, so a signed answer cannot be
replayed for another request.

Keys and signing are ``cryptography``'s; requests and answers are *verified* by libsodium
(PyNaCl), the one Ed25519 check on the hot path: a 200-agency fan-out checks 200 answers per
query, and libsodium's check costs about half of ``cryptography``'s here
(``bench/crypto_bench.py``). Both implement RFC 8032 Ed25519 over the same bytes, so every
signature ``cryptography`` makes verifies; libsodium is the stricter of the two (it also
refuses non-canonical encodings and small-order keys and points, which no honest signer
produces), so nothing it accepts would have been refused before.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Sequence
from typing import Any, TypeVar

import nacl.bindings
import nacl.exceptions
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from cets.common.canonical import canonical_json
from cets.v1 import releases_pb2, search_pb2, watches_pb2

__all__ = [
    "MAX_AUDIENCES",
    "TICKET_BYTES",
    "Answer",
    "BadAnswer",
    "Body",
    "RequestSigner",
    "SignedRequest",
    "audience_commitment",
    "open_answer",
    "request_bytes",
    "sign_answer",
    "sign_request",
    "signed_request",
    "verify_request",
]

REQUEST_DOMAIN = b"cets.v1.SearchRequest\n"
ANSWER_DOMAIN = b"cets.v1.SearchResponse\n"
NONCE_BYTES = 16
SIGNATURE_BYTES = 64
TICKET_BYTES = 16
MAX_AUDIENCES = 500
"""At most this many agencies addressed by one fan-out's signature."""
_COMMITMENT_DOMAIN = b"cets.v1.audience\n"

SignedRequest = (
    search_pb2.SearchRequest
    | watches_pb2.WatchRequest
    | watches_pb2.AlertPullRequest
    | releases_pb2.ReleaseRequest
    | releases_pb2.DecisionPullRequest
)
"""Every kind of request one agency sends another."""
Body = (
    search_pb2.Query
    | watches_pb2.Watch
    | watches_pb2.AlertPull
    | releases_pb2.Release
    | releases_pb2.DecisionPull
)
Answer = (
    search_pb2.SearchResponse
    | watches_pb2.WatchReceipt
    | watches_pb2.AlertBatch
    | releases_pb2.ReleaseReceipt
    | releases_pb2.DecisionBatch
)
_A = TypeVar(
    "_A",
    search_pb2.SearchResponse,
    watches_pb2.WatchReceipt,
    watches_pb2.AlertBatch,
    releases_pb2.ReleaseReceipt,
    releases_pb2.DecisionBatch,
)

# body message -> (request message, body field)
_KINDS: dict[str, tuple[type[SignedRequest], str]] = {
    search_pb2.Query.DESCRIPTOR.full_name: (search_pb2.SearchRequest, "query"),
    watches_pb2.Watch.DESCRIPTOR.full_name: (watches_pb2.WatchRequest, "watch"),
    watches_pb2.AlertPull.DESCRIPTOR.full_name: (watches_pb2.AlertPullRequest, "pull"),
    releases_pb2.Release.DESCRIPTOR.full_name: (releases_pb2.ReleaseRequest, "release"),
    releases_pb2.DecisionPull.DESCRIPTOR.full_name: (releases_pb2.DecisionPullRequest, "pull"),
}
_BODY_FIELDS = {kind.DESCRIPTOR.full_name: field for kind, field in _KINDS.values()}


def _domain(message: Message) -> bytes:
    return message.DESCRIPTOR.full_name.encode("ascii") + b"\n"


def _json(message: Message) -> dict[str, Any]:
    value: dict[str, Any] = json_format.MessageToDict(
        message, preserving_proto_field_name=True, use_integers_for_enums=False
    )
    return value


def _context(context: search_pb2.RequestContext) -> bytes:
    """The canonical JSON of the context's fields (``audience_commitments`` only in a
    fan-out, so a single-audience request signs the same bytes as before).

    The commitments (up to :data:`MAX_AUDIENCES`, most of the bytes, and checked by every
    node a fan-out reaches) are written straight into the encoding of the other fields:
    base64 text needs no escaping in JSON, and ``audience_commitments`` sorts right after
    ``audience``, the first key. A unit test checks the bytes against ``canonical_json``.
    """
    fields = {
        "requester_agency": context.requester_agency,
        "officer_id": context.officer_id,
        "purpose": context.purpose,
        "case_reference": context.case_reference,
        "audience": context.audience,
        "created": context.created.ToJsonString() if context.HasField("created") else None,
        "expires": context.expires.ToJsonString() if context.HasField("expires") else None,
        "nonce": base64.b64encode(context.nonce).decode("ascii"),
    }
    plain = canonical_json(fields)
    commitments = context.audience_commitments
    if not commitments:
        return plain
    first = b'{"audience":' + canonical_json(context.audience)
    listed = b'","'.join(binascii.b2a_base64(c, newline=False) for c in commitments)
    return first + b',"audience_commitments":["' + listed + b'"]' + plain[len(first) :]


class BadAnswer(ValueError):
    """A signed answer that must not be used; the message says why."""


def _request_bytes(
    domain: bytes, field: str, body_json: bytes, context: search_pb2.RequestContext
) -> bytes:
    # canonical_json({"context": C, field: B}) assembled from its parts: keys sorted ("context"
    # sorts before every body field), no whitespace, so the result is byte for byte the same
    return (
        domain
        + b'{"context":'
        + _context(context)
        + b',"'
        + field.encode("ascii")
        + b'":'
        + body_json
        + b"}"
    )


def request_bytes(request: SignedRequest) -> bytes:
    """The bytes a request's signature covers: its body and its whole context."""
    field = _BODY_FIELDS[request.DESCRIPTOR.full_name]
    body = getattr(request, field)
    return _request_bytes(_domain(request), field, canonical_json(_json(body)), request.context)


class RequestSigner:
    """Signs one body (a query, a watch, a pull) for many audiences, encoding it once."""

    def __init__(self, body: Body, key: Ed25519PrivateKey) -> None:
        self._kind, self._field = _KINDS[body.DESCRIPTOR.full_name]
        self._domain = _domain(self._kind)  # type: ignore[arg-type]
        self._body = body
        self._body_json = canonical_json(_json(body))
        self._key = key

    def request(
        self,
        *,
        requester: str,
        audience: str,
        officer_id: str,
        purpose: str,
        case_reference: str,
        created: float,
        validity_s: float,
        nonce: bytes | None = None,
    ) -> Any:
        """A request from ``requester`` to ``audience``, valid from ``created`` (a POSIX time)
        for ``validity_s`` seconds, with a fresh random nonce unless one is given: a
        ``SearchRequest`` for a query, a ``WatchRequest`` for a watch, an ``AlertPullRequest``
        for a pull."""
        context = search_pb2.RequestContext(
            requester_agency=requester,
            officer_id=officer_id,
            purpose=purpose,
            case_reference=case_reference,
            audience=audience,
            nonce=secrets.token_bytes(NONCE_BYTES) if nonce is None else nonce,
        )
        context.created.FromMicroseconds(int(created * 1e6))
        context.expires.FromMicroseconds(int((created + validity_s) * 1e6))
        request = self._kind(context=context)
        getattr(request, self._field).CopyFrom(self._body)
        request.signature = self._key.sign(
            _request_bytes(self._domain, self._field, self._body_json, context)
        )
        return request

    def fan_out(
        self,
        *,
        requester: str,
        audiences: Sequence[str],
        officer_id: str,
        purpose: str,
        case_reference: str,
        created: float,
        validity_s: float,
        nonce: bytes | None = None,
    ) -> list[Any]:
        """One copy per audience under ONE signature: each copy carries its own random
        ticket, and the signature covers a commitment to each (audience, ticket) pair, so an
        addressed agency cannot pass its copy to another one, and none learns which other
        agencies were asked (see ``docs/one-signature.md``)."""
        if not 0 < len(audiences) <= MAX_AUDIENCES or len(set(audiences)) != len(audiences):
            raise ValueError(f"1 to {MAX_AUDIENCES} distinct audiences")
        tickets = [secrets.token_bytes(TICKET_BYTES) for _ in audiences]
        context = search_pb2.RequestContext(
            requester_agency=requester,
            officer_id=officer_id,
            purpose=purpose,
            case_reference=case_reference,
            audience_commitments=sorted(
                audience_commitment(a, t) for a, t in zip(audiences, tickets, strict=True)
            ),
            nonce=secrets.token_bytes(NONCE_BYTES) if nonce is None else nonce,
        )
        context.created.FromMicroseconds(int(created * 1e6))
        context.expires.FromMicroseconds(int((created + validity_s) * 1e6))
        signature = self._key.sign(
            _request_bytes(self._domain, self._field, self._body_json, context)
        )
        first = self._kind(context=context, signature=signature)
        getattr(first, self._field).CopyFrom(self._body)
        wire = first.SerializeToString()
        copies = []
        for ticket in tickets:
            copy = self._kind.FromString(wire)
            copy.ticket = ticket
            copies.append(copy)
        return copies


def audience_commitment(agency: str, ticket: bytes) -> bytes:
    """What a fan-out's signature covers for the copy sent to ``agency`` with ``ticket``:
    hiding (the ticket is random and secret) and binding (SHA-256)."""
    return hashlib.sha256(_COMMITMENT_DOMAIN + agency.encode() + b"\0" + ticket).digest()


def signed_request(
    query: Body,
    *,
    requester: str,
    audience: str,
    key: Ed25519PrivateKey,
    officer_id: str,
    purpose: str,
    case_reference: str,
    created: float,
    validity_s: float,
    nonce: bytes | None = None,
) -> Any:
    """One signed request; see :meth:`RequestSigner.request`."""
    return RequestSigner(query, key).request(
        requester=requester,
        audience=audience,
        officer_id=officer_id,
        purpose=purpose,
        case_reference=case_reference,
        created=created,
        validity_s=validity_s,
        nonce=nonce,
    )


def sign_request(request: SignedRequest, key: Ed25519PrivateKey) -> None:
    """Set ``request.signature``."""
    request.signature = key.sign(request_bytes(request))


def sign_answer(response: Answer, key: Ed25519PrivateKey) -> search_pb2.SignedAnswer:
    """``response`` serialized once, with the signature over exactly those bytes."""
    answer = response.SerializeToString()
    return search_pb2.SignedAnswer(answer=answer, signature=key.sign(_domain(response) + answer))


def verify_request(request: SignedRequest, key: Ed25519PublicKey) -> bool:
    return _verify(key, request.signature, request_bytes(request))


def open_answer(
    signed: search_pb2.SignedAnswer,
    key: Ed25519PublicKey,
    kind: type[_A] = search_pb2.SearchResponse,  # type: ignore[assignment]
) -> _A:
    """The answer of type ``kind`` inside ``signed`` once its signature by ``key`` is checked.

    Raises :class:`BadAnswer` for a bad signature (before anything is parsed; a signature
    made for another kind of answer never verifies) or bytes that do not parse as one.
    """
    if not _verify(key, signed.signature, _domain(kind) + signed.answer):  # type: ignore[arg-type]
        raise BadAnswer("bad answer signature")
    response = kind()
    try:
        response.ParseFromString(signed.answer)
    except DecodeError:
        raise BadAnswer("unreadable answer") from None
    return response


def _verify(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is ``key``'s Ed25519 signature of ``data`` (libsodium)."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + data, key.public_bytes_raw())
    except nacl.exceptions.BadSignatureError:
        return False
    return True
