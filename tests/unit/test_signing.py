"""What a signature covers: requests over a canonical encoding, answers over their exact bytes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from cets.common.canonical import canonical_json
from cets.common.signing import (
    REQUEST_DOMAIN,
    BadAnswer,
    RequestSigner,
    open_answer,
    request_bytes,
    sign_answer,
    signed_request,
    verify_request,
)
from cets.v1 import records_pb2, search_pb2

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()


def who(audience: str = "rcmp") -> dict[str, object]:
    return {
        "requester": "tps",
        "audience": audience,
        "officer_id": "officer-7",
        "purpose": "investigation",
        "case_reference": "CASE-1",
        "created": 1_790_000_000.25,
        "validity_s": 60.0,
    }


def answer() -> search_pb2.SearchResponse:
    return search_pb2.SearchResponse(
        agency="rcmp",
        total_hits=2,
        request_nonce=b"n" * 16,
        hits=[search_pb2.Hit(agency="rcmp", record_id="r-1", title="Tip", score=1.5)],
    )


@given(
    text=st.text(max_size=40),
    name=st.text(max_size=20),
    ids=st.lists(st.text(max_size=10), max_size=3),
    limit=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_the_request_encoding_is_the_canonical_json_of_query_and_context(
    text: str, name: str, ids: list[str], limit: int
) -> None:
    from google.protobuf import json_format

    query = search_pb2.Query(
        text=text,
        name=name,
        record_ids=ids,
        limit=limit,
        types=[records_pb2.RECORD_TYPE_TIP],
    )
    request = signed_request(query, key=KEY, **who())  # type: ignore[arg-type]
    context = request.context
    expected = REQUEST_DOMAIN + canonical_json(
        {
            "query": json_format.MessageToDict(query, preserving_proto_field_name=True),
            "context": {
                "requester_agency": context.requester_agency,
                "officer_id": context.officer_id,
                "purpose": context.purpose,
                "case_reference": context.case_reference,
                "audience": context.audience,
                "created": context.created.ToJsonString(),
                "expires": context.expires.ToJsonString(),
                "nonce": base64.b64encode(context.nonce).decode("ascii"),
            },
        }
    )
    assert request_bytes(request) == expected
    assert verify_request(request, KEY.public_key())


@given(
    audiences=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=40, unique=True),
    officer=st.text(min_size=1, max_size=20),
    purpose=st.text(min_size=1, max_size=40),
)
def test_a_fan_out_encoding_is_the_canonical_json_of_query_and_context(
    audiences: list[str], officer: str, purpose: str
) -> None:
    """The commitments are written straight into the context's encoding: byte for byte what
    ``canonical_json`` gives for the whole, whatever the other fields hold."""
    from google.protobuf import json_format

    query = search_pb2.Query(text="blue hoodie")
    copies = RequestSigner(query, KEY).fan_out(
        requester="tps",
        audiences=audiences,
        officer_id=officer,
        purpose=purpose,
        case_reference="C-1",
        created=1_700_000_000.0,
        validity_s=60,
    )
    context = copies[0].context
    expected = REQUEST_DOMAIN + canonical_json(
        {
            "query": json_format.MessageToDict(query, preserving_proto_field_name=True),
            "context": {
                "requester_agency": "tps",
                "officer_id": officer,
                "purpose": purpose,
                "case_reference": "C-1",
                "audience": "",
                "created": context.created.ToJsonString(),
                "expires": context.expires.ToJsonString(),
                "nonce": base64.b64encode(context.nonce).decode("ascii"),
                "audience_commitments": [
                    base64.b64encode(c).decode("ascii") for c in context.audience_commitments
                ],
            },
        }
    )
    assert len(context.audience_commitments) == len(audiences)
    assert all(request_bytes(copy) == expected for copy in copies)
    assert all(verify_request(copy, KEY.public_key()) for copy in copies)


def test_one_signer_addresses_each_audience_with_its_own_nonce() -> None:
    signer = RequestSigner(search_pb2.Query(text="blue hoodie"), KEY)
    requests = [signer.request(**who(audience)) for audience in ("rcmp", "nca", "afp")]  # type: ignore[arg-type]
    assert [r.context.audience for r in requests] == ["rcmp", "nca", "afp"]
    assert len({r.context.nonce for r in requests}) == 3
    assert all(verify_request(r, KEY.public_key()) for r in requests)
    moved = search_pb2.SearchRequest()
    moved.CopyFrom(requests[0])
    moved.context.audience = "nca"
    assert not verify_request(moved, KEY.public_key())


def test_an_answer_opens_with_its_agencys_key() -> None:
    sealed = sign_answer(answer(), KEY)
    assert open_answer(sealed, KEY.public_key()) == answer()


def test_an_answer_signed_by_another_key_is_refused() -> None:
    with pytest.raises(BadAnswer, match="bad answer signature"):
        open_answer(sign_answer(answer(), OTHER), KEY.public_key())


@pytest.mark.parametrize("position", [0, 5, -1])
def test_any_changed_byte_of_an_answer_is_refused_before_it_is_parsed(position: int) -> None:
    sealed = sign_answer(answer(), KEY)
    changed = bytearray(sealed.answer)
    changed[position] ^= 0x01
    sealed.answer = bytes(changed)
    with pytest.raises(BadAnswer, match="bad answer signature"):
        open_answer(sealed, KEY.public_key())


def test_signed_bytes_that_are_no_answer_are_reported_as_unreadable() -> None:
    junk = b"\xff\xfe not a protobuf message"
    sealed = search_pb2.SignedAnswer(
        answer=junk, signature=KEY.sign(b"cets.v1.SearchResponse\n" + junk)
    )
    with pytest.raises(BadAnswer, match="unreadable answer"):
        open_answer(sealed, KEY.public_key())


def test_a_request_signature_never_verifies_as_an_answer() -> None:
    request = signed_request(search_pb2.Query(text="x"), key=KEY, **who())  # type: ignore[arg-type]
    body = request_bytes(request)
    sealed = search_pb2.SignedAnswer(
        answer=body.removeprefix(REQUEST_DOMAIN), signature=KEY.sign(body)
    )
    with pytest.raises(BadAnswer, match="bad answer signature"):
        open_answer(sealed, KEY.public_key())


def test_a_missing_or_short_signature_is_refused() -> None:
    sealed = sign_answer(answer(), KEY)
    for signature in (b"", sealed.signature[:63]):
        with pytest.raises(BadAnswer):
            open_answer(
                search_pb2.SignedAnswer(answer=sealed.answer, signature=signature), KEY.public_key()
            )


# Verification is libsodium's; keys and signatures are made with cryptography. The two must
# agree on every signature an honest signer makes, and libsodium may only be the stricter.

_L = 2**252 + 27742317777372353535851937790883648493
"""The order of Ed25519's base point: a signature's S is below it in canonical form."""


@given(data=st.binary(max_size=600), flip=st.integers(min_value=0, max_value=64 * 8 - 1))
def test_signatures_made_by_cryptography_verify_and_altered_ones_do_not(
    data: bytes, flip: int
) -> None:
    from cets.common.signing import _verify

    signature = KEY.sign(data)
    assert _verify(KEY.public_key(), signature, data)
    assert not _verify(OTHER.public_key(), signature, data)
    assert not _verify(KEY.public_key(), signature, data + b"\x00")
    altered = bytearray(signature)
    altered[flip // 8] ^= 1 << (flip % 8)
    assert not _verify(KEY.public_key(), bytes(altered), data)


def test_a_signature_with_a_non_canonical_s_is_refused() -> None:
    from cets.common.signing import _verify

    data = b"cets.v1.SearchResponse\n" + answer().SerializeToString()
    signature = KEY.sign(data)
    s = int.from_bytes(signature[32:], "little") + _L  # the same value modulo L
    assert s < 2**256
    assert not _verify(KEY.public_key(), signature[:32] + s.to_bytes(32, "little"), data)


def test_a_small_order_key_verifies_nothing() -> None:
    """With the identity point as key and as R, and S = 0, a permissive check accepts any
    message (cryptography's does); cets refuses such a key's signatures outright."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    identity = b"\x01" + b"\x00" * 31
    weak = Ed25519PublicKey.from_public_bytes(identity)
    sealed = search_pb2.SignedAnswer(
        answer=answer().SerializeToString(), signature=identity + b"\x00" * 32
    )
    with pytest.raises(BadAnswer, match="bad answer signature"):
        open_answer(sealed, weak)
    request = signed_request(search_pb2.Query(text="x"), key=KEY, **who())  # type: ignore[arg-type]
    request.signature = identity + b"\x00" * 32
    assert not verify_request(request, weak)


def test_a_signature_longer_than_64_bytes_is_refused() -> None:
    sealed = sign_answer(answer(), KEY)
    sealed.signature += b"\x00"
    with pytest.raises(BadAnswer, match="bad answer signature"):
        open_answer(sealed, KEY.public_key())
