"""Signatures on federated searches: what exactly is signed, and how.

A request is signed by the requesting agency's federation service; its answer is signed by the
answering agency's node.

A request is signed over a *canonical encoding* of its query and context, never the protobuf
bytes on the wire (which may differ between implementations and versions for the same
message)::

    request:  b"cets.v1.SearchRequest\\n" + canonical_json({"context": C, "query": Q})

``Q`` is the query in protobuf's JSON mapping (a published, language-neutral spec: original
field names, enums by name, bytes in base64, timestamps in RFC 3339); ``C`` lists every context
field explicitly. A fan-out signs the same query for every target, so the query's encoding is
made once per query (:class:`RequestSigner`) and only the context once per target.

An answer travels as :class:`~cets.v1.search_pb2.SignedAnswer`: the node serializes its
``SearchResponse`` once and signs exactly those bytes::

    answer:   b"cets.v1.SearchResponse\\n" + serialized SearchResponse

so the receiver checks the signature before it parses the answer, and nothing is re-encoded
to check it (re-encoding answers of up to hundreds of records was the largest avoidable cost
of a fan-out). The domain prefixes keep a signature made for one kind of message from ever
verifying as the other. The answer carries the request's nonce, so a signed answer cannot be
replayed for another request.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from cets.common.canonical import canonical_json
from cets.v1 import search_pb2

__all__ = [
    "BadAnswer",
    "RequestSigner",
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


def _json(message: Message) -> dict[str, Any]:
    value: dict[str, Any] = json_format.MessageToDict(
        message, preserving_proto_field_name=True, use_integers_for_enums=False
    )
    return value


def _context(context: search_pb2.RequestContext) -> dict[str, Any]:
    return {
        "requester_agency": context.requester_agency,
        "officer_id": context.officer_id,
        "purpose": context.purpose,
        "case_reference": context.case_reference,
        "audience": context.audience,
        "created": context.created.ToJsonString() if context.HasField("created") else None,
        "expires": context.expires.ToJsonString() if context.HasField("expires") else None,
        "nonce": base64.b64encode(context.nonce).decode("ascii"),
    }


class BadAnswer(ValueError):
    """A signed answer that must not be used; the message says why."""


def _request_bytes(query_json: bytes, context: search_pb2.RequestContext) -> bytes:
    # canonical_json({"context": C, "query": Q}) assembled from its parts: keys sorted,
    # no whitespace, so the result is byte for byte the same
    return (
        REQUEST_DOMAIN
        + b'{"context":'
        + canonical_json(_context(context))
        + b',"query":'
        + query_json
        + b"}"
    )


def request_bytes(request: search_pb2.SearchRequest) -> bytes:
    """The bytes a request's signature covers: its query and its whole context."""
    return _request_bytes(canonical_json(_json(request.query)), request.context)


class RequestSigner:
    """Signs one query for many audiences, encoding the query once."""

    def __init__(self, query: search_pb2.Query, key: Ed25519PrivateKey) -> None:
        self._query = query
        self._query_json = canonical_json(_json(query))
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
    ) -> search_pb2.SearchRequest:
        """A request from ``requester`` to ``audience``, valid from ``created`` (a POSIX time)
        for ``validity_s`` seconds, with a fresh random nonce unless one is given."""
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
        request = search_pb2.SearchRequest(query=self._query, context=context)
        request.signature = self._key.sign(_request_bytes(self._query_json, context))
        return request


def signed_request(
    query: search_pb2.Query,
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
) -> search_pb2.SearchRequest:
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


def sign_request(request: search_pb2.SearchRequest, key: Ed25519PrivateKey) -> None:
    """Set ``request.signature``."""
    request.signature = key.sign(request_bytes(request))


def sign_answer(
    response: search_pb2.SearchResponse, key: Ed25519PrivateKey
) -> search_pb2.SignedAnswer:
    """``response`` serialized once, with the signature over exactly those bytes."""
    answer = response.SerializeToString()
    return search_pb2.SignedAnswer(answer=answer, signature=key.sign(ANSWER_DOMAIN + answer))


def verify_request(request: search_pb2.SearchRequest, key: Ed25519PublicKey) -> bool:
    return _verify(key, request.signature, request_bytes(request))


def open_answer(
    signed: search_pb2.SignedAnswer, key: Ed25519PublicKey
) -> search_pb2.SearchResponse:
    """The answer inside ``signed`` once its signature by ``key`` is checked.

    Raises :class:`BadAnswer` for a bad signature (before anything is parsed) or bytes that
    do not parse as an answer.
    """
    if not _verify(key, signed.signature, ANSWER_DOMAIN + signed.answer):
        raise BadAnswer("bad answer signature")
    response = search_pb2.SearchResponse()
    try:
        response.ParseFromString(signed.answer)
    except DecodeError:
        raise BadAnswer("unreadable answer") from None
    return response


def _verify(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    if len(signature) != 64:
        return False
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
