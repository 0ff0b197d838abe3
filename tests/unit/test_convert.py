"""Conversion between the gRPC contract and the node's domain types."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from typing import Any

import pytest

from cets.core import records
from cets.core.convert import (
    handling_from_proto,
    handling_to_proto,
    query_from_proto,
    query_to_proto,
    record_from_proto,
    record_to_proto,
    record_type_from_proto,
    record_type_to_proto,
    result_to_proto,
    selector_from_proto,
    selector_kind_from_proto,
    selector_to_proto,
)
from cets.core.errors import InvalidQuery
from cets.core.query import DEFAULT_LIMIT, ImageQuery, SearchQuery
from cets.core.records import Handling, IngestContext, RecordType, prepare
from cets.core.selectors import Selector, SelectorKind, card_fingerprint
from cets.search.dsl import parse_response
from cets.v1 import records_pb2, search_pb2

KEY = bytes(range(32))
CTX = IngestContext(agency_id="tps", card_key=KEY, default_region="CA")
CARD = "4539 1488 0343 6467"


# --------------------------------------------------------------------------------------------
# Enums


@pytest.mark.parametrize("value", list(RecordType))
def test_record_types_map_both_ways(value: RecordType) -> None:
    number = record_type_to_proto(value)
    assert records_pb2.RecordType.Name(number) == "RECORD_TYPE_" + value.value.upper()
    assert record_type_from_proto(number) is value


@pytest.mark.parametrize("value", list(Handling))
def test_handling_codes_map_both_ways(value: Handling) -> None:
    number = handling_to_proto(value)
    assert records_pb2.Handling.Name(number) == "HANDLING_" + value.value.upper().replace("+", "_")
    assert handling_from_proto(number) is value


@pytest.mark.parametrize("kind", list(SelectorKind))
def test_selector_kinds_map_both_ways(kind: SelectorKind) -> None:
    pb = selector_to_proto(Selector(kind, "v"))
    assert records_pb2.SelectorKind.Name(pb.kind) == "SELECTOR_KIND_" + kind.value.upper()
    assert selector_kind_from_proto(pb.kind) is kind
    assert selector_from_proto(pb) == Selector(kind, "v")


@pytest.mark.parametrize(
    ("enum", "domain"),
    [
        (records_pb2.RecordType, RecordType),
        (records_pb2.Handling, Handling),
        (records_pb2.SelectorKind, SelectorKind),
    ],
)
def test_every_contract_value_has_a_domain_value(enum: Any, domain: Any) -> None:
    assert len(enum.keys()) - 1 == len(domain)  # all but UNSPECIFIED


@pytest.mark.parametrize(
    ("function", "what"),
    [
        (record_type_from_proto, "record type"),
        (handling_from_proto, "handling code"),
        (selector_kind_from_proto, "selector kind"),
    ],
)
def test_unspecified_and_unknown_enum_values_are_invalid(function: Any, what: str) -> None:
    with pytest.raises(InvalidQuery, match=f"^{what} is unspecified$"):
        function(0)
    with pytest.raises(InvalidQuery, match=f"^unknown {what} 99$"):
        function(99)


# --------------------------------------------------------------------------------------------
# Records: everything the node stores has a field in the contract

# One record per type with every field filled in; times without a zone on purpose.
FULL: dict[str, dict[str, Any]] = {
    "person": {
        "name": "Ann Lee",
        "aliases": ["Annie"],
        "date_of_birth": "1990-02-03",
        "nationality": "CA",
        "emails": ["ann@mail.example"],
        "phones": ["416-555-0199"],
        "usernames": ["annie"],
        "address": "1 Main St",
        "description": "tall",
    },
    "online_identity": {
        "kind": "im_buddy",
        "value": "buddy",
        "platform": "ICQ",
        "owner": "owner",
        "display_name": "Bud",
        "description": "on the list",
    },
    "phone": {
        "number": "416-555-0199",
        "subscriber_name": "Ann Lee",
        "carrier": "Rogers",
        "description": "burner",
    },
    "payment_card": {
        "card_number": CARD,
        "holder_name": "Ann Lee",
        "expiry": "01/29",
        "issuer": "Visa",
        "description": "prepaid",
    },
    "card_transaction": {
        "card_number": CARD,
        "holder_name": "Ann Lee",
        "merchant": "Pix",
        "merchant_url": "https://pix.example/",
        "amount": "12.50",
        "currency": "EUR",
        "transacted_at": "2024-01-02T03:04:05",
        "email": "a@mail.example",
        "ip": "192.0.2.1",
        "description": "monthly",
    },
    "chat_message": {
        "platform": "Kik",
        "room": "r",
        "sender": "s",
        "recipients": ["r1", "r2"],
        "text": "hello",
        "sent_at": "2024-01-02T03:04:05+01:00",
        "sender_ip": "192.0.2.2",
    },
    "arrest": {
        "name": "Bob Smith",
        "date_of_birth": "1970-01-01",
        "charges": ["a", "b"],
        "location": "Toronto",
        "arrested_at": "2024-01-02T03:04:05",
        "arresting_officer": "PC 1",
        "narrative": "n",
        "emails": ["bob@mail.example"],
        "phones": ["+44 20 7946 0958"],
        "usernames": ["bob"],
    },
    "case_note": {"author": "Det. Ray", "text": "t", "subject_names": ["Bob Smith"]},
    "tip": {
        "reporter": "NCMEC",
        "reported_at": "2024-01-02T03:04:05Z",
        "text": "t",
        "names": ["Bob"],
        "emails": ["x@mail.example"],
        "usernames": ["u"],
        "phones": ["+1 647 555 0123"],
        "ips": ["192.0.2.3"],
        "urls": ["http://u.example/"],
    },
    "media_hash": {
        "md5": "d41d8cd98f00b204e9800998ecf8427e",
        "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "pdq": "f" * 64,
        "pdq_quality": 87,
        "filename": "a.jpg",
        "platform": "Dropbox",
        "description": "d",
    },
}
ENVELOPE = {
    "id": "rec-1",
    "case_ref": "C-1",
    "handling": "amber+strict",
    "created": "2024-01-01T00:00:00",
    "updated": "2024-01-03T00:00:00+05:00",
    "source": "rms",
    "agency": "tps",
}


def _model_fields() -> dict[str, set[str]]:
    union = typing.get_args(records.RecordIn)[0]
    fields = {}
    for model in typing.get_args(union):
        (type_,) = typing.get_args(model.model_fields["type"].annotation)
        fields[type_] = set(model.model_fields) - set(ENVELOPE) - {"type"}
    return fields


def test_the_full_records_fill_every_field_of_every_type() -> None:
    assert {t: set(f) for t, f in FULL.items()} == _model_fields()


@pytest.mark.parametrize("type_", sorted(FULL))
def test_a_stored_record_survives_the_contract(type_: str) -> None:
    document = prepare({"type": type_, **ENVELOPE, **FULL[type_]}, CTX).document
    pb = record_to_proto(document)
    assert pb.WhichOneof("body") == type_
    back = record_from_proto(pb)
    assert back["body"] == document["body"]
    assert back["envelope"] == {
        "agency": "tps",
        "record_id": "rec-1",
        "type": "RECORD_TYPE_" + type_.upper(),
        "case_ref": "C-1",
        "handling": "HANDLING_AMBER_STRICT",
        "created": "2024-01-01T00:00:00Z",
        "updated": "2024-01-02T19:00:00Z",
        "source": "rms",
    }


def _slow(document: dict[str, Any]) -> records_pb2.Record:
    """The reference: the envelope as the fast path sets it, the body by ``ParseDict``."""
    from google.protobuf import json_format

    record = records_pb2.Record()
    record.envelope.CopyFrom(record_to_proto(document).envelope)
    json_format.ParseDict(document.get("body", {}), getattr(record, document["type"]))
    return record


@pytest.mark.parametrize("type_", sorted(FULL))
def test_the_fast_body_conversion_gives_what_parse_dict_gives(
    type_: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.protobuf import json_format

    document = prepare({"type": type_, **ENVELOPE, **FULL[type_]}, CTX).document
    slow = _slow(document)
    used: list[object] = []
    monkeypatch.setattr(json_format, "ParseDict", lambda *a, **k: used.append(a))
    assert record_to_proto(document) == slow
    assert not used  # the stored form took the fast path


def test_the_fast_body_conversion_matches_on_the_sample_data(tmp_path: Any) -> None:
    import json

    from cets.search.sample_data import DEMO_AGENCIES, write_sample

    write_sample(tmp_path, DEMO_AGENCIES[:1], 1000, seed=3)
    rows = (tmp_path / f"{DEMO_AGENCIES[0].id}.ndjson").read_text().splitlines()
    ctx = IngestContext(DEMO_AGENCIES[0].id, KEY, DEMO_AGENCIES[0].region)
    seen = set()
    for row in rows:
        document = prepare(json.loads(row), ctx).document
        seen.add(document["type"])
        assert record_to_proto(document) == _slow(document)
    assert len(seen) >= 8


@pytest.mark.parametrize(
    "body",
    [
        {"text": 5},  # a string field given a number
        {"sent_at": "2024-01-01T00:00:00.123456789Z"},  # nanoseconds: ParseDict's own parser
        {"sent_at": "2024-01-01T03:00:00+02:00"},
        {"unknown_field": "x"},
    ],
)
def test_what_is_not_the_plain_form_is_converted_by_parse_dict(body: dict[str, Any]) -> None:
    from google.protobuf import json_format

    document = {"type": "chat_message", "record_id": "r", "body": body}
    try:
        expected = records_pb2.ChatMessage()
        json_format.ParseDict(body, expected)
    except json_format.ParseError as exc:
        with pytest.raises(json_format.ParseError, match=str(exc)[:20]):
            record_to_proto(document)
    else:
        assert record_to_proto(document).chat_message == expected


def test_a_card_record_crosses_the_contract_as_fingerprint_and_last4() -> None:
    document = prepare({"type": "payment_card", "created": "2024-01-01", "card_number": CARD}, CTX)
    pb = record_to_proto(document.document)
    assert pb.payment_card.card_fingerprint == card_fingerprint(CARD, KEY).fingerprint
    assert pb.payment_card.card_last4 == "6467"
    assert "4539" not in str(pb)


def test_a_minimal_record_has_default_envelope_values() -> None:
    document = prepare({"type": "case_note", "created": "2024-01-01", "text": "t"}, CTX).document
    envelope = record_to_proto(document).envelope
    assert envelope.handling == records_pb2.HANDLING_AMBER
    assert not envelope.HasField("updated")
    assert envelope.case_ref == "" and envelope.source == ""


# --------------------------------------------------------------------------------------------
# Queries


def _selector(kind: SelectorKind, value: str) -> records_pb2.Selector:
    return selector_to_proto(Selector(kind, value))


def test_a_query_is_normalised_as_received() -> None:
    pb = search_pb2.Query(
        text="car",
        name="Ann",
        selectors=[
            _selector(SelectorKind.EMAIL, " Ann.Lee+x@GMail.com "),
            _selector(SelectorKind.PHONE, "(416) 555-0199"),
            _selector(SelectorKind.USERNAME, "@Night_Owl"),
            _selector(SelectorKind.CARD, CARD),
        ],
        types=[records_pb2.RECORD_TYPE_TIP],
        handling=[records_pb2.HANDLING_RED],
        limit=5,
    )
    pb.created_from.FromDatetime(datetime(2024, 1, 1, tzinfo=UTC))
    query = query_from_proto(pb, default_region="CA", card_key=KEY)
    assert query.selectors == (
        Selector(SelectorKind.EMAIL, "annlee@gmail.com"),
        Selector(SelectorKind.PHONE, "+14165550199"),
        Selector(SelectorKind.USERNAME, "night_owl"),
        Selector(SelectorKind.CARD, card_fingerprint(CARD, KEY).fingerprint),
    )
    assert query.types == (RecordType.TIP,)
    assert query.handling == (Handling.RED,)
    assert query.limit == 5
    assert query.created_from == datetime(2024, 1, 1, tzinfo=UTC)
    assert query.created_to is None


def test_a_query_without_a_limit_gets_the_default() -> None:
    query = query_from_proto(search_pb2.Query(text="x"), default_region=None, card_key=KEY)
    assert query.limit == DEFAULT_LIMIT


@pytest.mark.parametrize(
    ("selectors", "message"),
    [
        (
            [(SelectorKind.USERNAME, "ok"), (SelectorKind.EMAIL, "Zq7Xw3Kv")],
            "selectors[1] (email): not a valid e-mail address",
        ),
        ([(SelectorKind.PHONE, "416 Zq7Xw3Kv")], "selectors[0] (phone): "),
        ([(SelectorKind.CARD, "4539 Zq7Xw3Kv 6467")], "selectors[0] (card): "),
        (
            [(SelectorKind.MD5, "Zq7Xw3Kv")],
            "selectors[0] (md5): md5 hash must be 32 hexadecimal digits",
        ),
        ([(SelectorKind.IP, "Zq7Xw3Kv")], "selectors[0] (ip): "),
    ],
)
def test_a_bad_selector_is_named_by_position_and_kind_without_its_value(
    selectors: list[tuple[SelectorKind, str]], message: str
) -> None:
    pb = search_pb2.Query(selectors=[_selector(k, v) for k, v in selectors])
    with pytest.raises(InvalidQuery) as caught:
        query_from_proto(pb, default_region="CA", card_key=KEY)
    assert str(caught.value).startswith(message)
    assert "Zq7Xw3Kv" not in str(caught.value)


def test_a_national_phone_number_needs_a_default_region() -> None:
    pb = search_pb2.Query(selectors=[_selector(SelectorKind.PHONE, "416-555-0199")])
    with pytest.raises(InvalidQuery, match=r"^selectors\[0\] \(phone\): "):
        query_from_proto(pb, default_region=None, card_key=KEY)


@pytest.mark.parametrize(
    ("pb", "message"),
    [
        (search_pb2.Query(), "give at least one of: text, selectors, name"),
        (search_pb2.Query(text="x", limit=1000), "limit must be between 1 and 100"),
        (
            search_pb2.Query(text="x", types=[records_pb2.RECORD_TYPE_UNSPECIFIED]),
            "record type is unspecified",
        ),
        (
            search_pb2.Query(text="x", handling=[typing.cast("records_pb2.Handling", 42)]),
            "unknown handling code 42",
        ),
        (
            search_pb2.Query(selectors=[records_pb2.Selector(value="a@b.example")]),
            "selector kind is unspecified",
        ),
    ],
)
def test_an_invalid_query_is_refused(pb: search_pb2.Query, message: str) -> None:
    with pytest.raises(InvalidQuery, match=f"^{message}"):
        query_from_proto(pb, default_region=None, card_key=KEY)


def test_query_to_proto_and_back() -> None:
    query = SearchQuery(
        text='"red car"',
        selectors=(
            Selector(SelectorKind.EMAIL, "ann@mail.example"),
            Selector(SelectorKind.PHONE, "+14165550199"),
            Selector(SelectorKind.USERNAME, "night_owl"),
            Selector(SelectorKind.IP, "2001:db8::1"),
            Selector(SelectorKind.URL, "https://pix.example/a"),
            Selector(SelectorKind.DOMAIN, "pix.example"),
            Selector(SelectorKind.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            Selector(SelectorKind.CARD, card_fingerprint(CARD, KEY).fingerprint),
        ),
        name="Ann Lee",
        types=(RecordType.PERSON, RecordType.MEDIA_HASH),
        created_from=datetime(2024, 1, 1, 12, 30, tzinfo=UTC),
        created_to=datetime(2024, 6, 30, tzinfo=UTC),
        handling=(Handling.AMBER_STRICT, Handling.CLEAR),
        limit=42,
    )
    back = query_from_proto(query_to_proto(query), default_region="CA", card_key=KEY)
    assert back == query


PDQ = "9f34d29bd19b9bb491d3c1039aa981f43e0648fba3643f065246a3ed69665f46"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def test_an_image_query_crosses_the_contract() -> None:
    image = ImageQuery(pdq=(PDQ, "0" * 64), max_distance=0, md5=MD5)
    query = SearchQuery(image=image, types=(RecordType.MEDIA_HASH,))
    pb = query_to_proto(query)
    assert pb.image.HasField("max_distance") and pb.image.max_distance == 0
    assert query_from_proto(pb, default_region=None, card_key=KEY) == query
    # as typed: upper case and blanks normalised, the default distance when none is given
    typed = search_pb2.Query(image=search_pb2.ImageQuery(pdq=[f" {PDQ.upper()} "], sha1=""))
    parsed = query_from_proto(typed, default_region=None, card_key=KEY).image
    assert parsed == ImageQuery(pdq=(PDQ,), max_distance=31)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (search_pb2.ImageQuery(), "image: give at least one of: pdq, md5, sha1"),
        (search_pb2.ImageQuery(pdq=["abc"]), r"image.pdq\[0\]: pdq hash must be 64 hex"),
        (search_pb2.ImageQuery(pdq=[PDQ, "x"]), r"image.pdq\[1\]: "),
        (search_pb2.ImageQuery(md5="abc"), "image.md5: md5 hash must be 32 hex"),
        (search_pb2.ImageQuery(sha1=MD5), "image.sha1: sha1 hash must be 40 hex"),
        (search_pb2.ImageQuery(pdq=[PDQ] * 9), "image.pdq: more than 8 hashes"),
        (
            search_pb2.ImageQuery(pdq=[PDQ], max_distance=65),
            "image.max_distance must be between 0 and 64",
        ),
        (search_pb2.ImageQuery(md5="a" * 600), "image: a hash is longer than 512"),
    ],
)
def test_a_bad_image_query_is_refused_naming_the_field(
    image: search_pb2.ImageQuery, message: str
) -> None:
    with pytest.raises(InvalidQuery, match=f"^{message}") as caught:
        query_from_proto(search_pb2.Query(image=image), default_region=None, card_key=KEY)
    assert PDQ not in str(caught.value)


# --------------------------------------------------------------------------------------------
# Answers


def test_a_result_becomes_a_full_disclosure_response() -> None:
    document = prepare(
        {
            "type": "tip",
            "created": "2024-01-01",
            "text": "t",
            "emails": ["ann@mail.example"],
            "id": "tip-1",
        },
        CTX,
    ).document
    raw = {
        "took": 7,
        "hits": {
            "total": {"value": 3, "relation": "gte"},
            "hits": [
                {
                    "_id": "tip-1",
                    "_score": 1.5,
                    "_source": document,
                    "highlight": {"text": ["<mark>t</mark>"], "names": ["n"]},
                }
            ],
        },
    }
    email = Selector(SelectorKind.EMAIL, "ann@mail.example")
    result = parse_response(SearchQuery(selectors=(email,)), raw)
    response = result_to_proto("tps", result)
    assert response.agency == "tps"
    assert response.total_hits == 3
    assert response.total_is_lower_bound is True
    assert response.took_ms == 7
    assert response.disclosure == search_pb2.DISCLOSURE_LEVEL_FULL
    (hit,) = response.hits
    assert hit.record_id == "tip-1"
    assert hit.agency == "tps"
    assert hit.type == records_pb2.RECORD_TYPE_TIP
    assert hit.score == 1.5
    assert hit.created.ToJsonString() == "2024-01-01T00:00:00Z"
    assert [(h.field, list(h.fragments)) for h in hit.highlights] == [
        ("names", ["n"]),
        ("text", ["<mark>t</mark>"]),
    ]
    assert [selector_from_proto(s) for s in hit.matched_selectors] == [email]
    assert hit.record.tip.emails == ["ann@mail.example"]
    assert hit.record.envelope.record_id == "tip-1"
