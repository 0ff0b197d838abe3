"""Signatures on federated searches: what exactly is signed, and how.

A request is signed by the requesting agency's federation service; its answer is signed by the
answering agency's node. Both sign a *canonical encoding*, never the protobuf bytes on the
wire (which may differ between implementations and versions for the same message):

    request:  b"cets.v1.SearchRequest\\n"  + canonical_json({"query": Q, "context": C})
    answer:   b"cets.v1.SearchResponse\\n" + canonical_json(A)

``Q`` and ``A`` are the messages in protobuf's JSON mapping (a published, language-neutral
spec: original field names, enums by name, bytes in base64, timestamps in RFC 3339), with the
answer's own ``signature`` left out. ``C`` lists every context field explicitly. The prefix
keeps a signature made for one kind of message from ever verifying as the other. The answer
carries the request's nonce, so a signed answer cannot be replayed for another request.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from google.protobuf import json_format
from google.protobuf.message import Message

from cets.common.canonical import canonical_json
from cets.v1 import search_pb2

__all__ = [
    "answer_bytes",
    "request_bytes",
    "sign_answer",
    "sign_request",
    "signed_request",
    "verify_answer",
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


def request_bytes(request: search_pb2.SearchRequest) -> bytes:
    """The bytes a request's signature covers: its query and its whole context."""
    payload = {"query": _json(request.query), "context": _context(request.context)}
    return REQUEST_DOMAIN + canonical_json(payload)


def answer_bytes(response: search_pb2.SearchResponse) -> bytes:
    """The bytes an answer's signature covers: everything but the signature itself."""
    unsigned = search_pb2.SearchResponse()
    unsigned.CopyFrom(response)
    unsigned.ClearField("signature")
    return ANSWER_DOMAIN + canonical_json(_json(unsigned))


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
    request = search_pb2.SearchRequest(query=query, context=context)
    sign_request(request, key)
    return request


def sign_request(request: search_pb2.SearchRequest, key: Ed25519PrivateKey) -> None:
    """Set ``request.signature``."""
    request.signature = key.sign(request_bytes(request))


def sign_answer(response: search_pb2.SearchResponse, key: Ed25519PrivateKey) -> None:
    """Set ``response.signature``."""
    response.signature = key.sign(answer_bytes(response))


def verify_request(request: search_pb2.SearchRequest, key: Ed25519PublicKey) -> bool:
    return _verify(key, request.signature, request_bytes(request))


def verify_answer(response: search_pb2.SearchResponse, key: Ed25519PublicKey) -> bool:
    return _verify(key, response.signature, answer_bytes(response))


def _verify(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    if len(signature) != 64:
        return False
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
