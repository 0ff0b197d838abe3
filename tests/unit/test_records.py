"""Record validation: what each record type stores, and what it must never store or say."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cets.core.names import phonetic_keys
from cets.core.records import IngestContext, RecordError, RecordType, prepare
from cets.core.selectors import card_fingerprint

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
CTX = IngestContext(agency_id="tps", card_key=KEY, default_region="CA")
CREATED = "2024-03-01T10:00:00Z"

CARD = "4539148803436467"
CARD_SPACED = "4539 1488 0343 6467"
CARD_DASHED = "4539-1488-0343-6467"
CARD_FP = card_fingerprint(CARD, KEY).fingerprint


def _raw(type_: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "created": CREATED, **fields}


# --------------------------------------------------------------------------------------------
# Every record type

# (raw record, title, names, selectors, body)
CASES: dict[str, tuple[dict[str, Any], str, list[str], list[str], dict[str, Any]]] = {
    "person": (
        _raw(
            "person",
            name="José García",
            aliases=["Pepe", "Joe Garcia"],
            date_of_birth="1980-05-06",
            emails=["Jose.Garcia+work@Gmail.com"],
            phones=["(416) 555-0199"],
            usernames=["@ShadowFox"],
            description="Seen at https://Forum.example/t/1",
        ),
        "José García",
        ["José García", "Pepe", "Joe Garcia"],
        [
            "domain:forum.example",
            "email:josegarcia@gmail.com",
            "phone:+14165550199",
            "url:https://forum.example/t/1",
            "username:shadowfox",
        ],
        {
            "name": "José García",
            "aliases": ["Pepe", "Joe Garcia"],
            "date_of_birth": "1980-05-06",
            "emails": ["Jose.Garcia+work@Gmail.com"],
            "phones": ["(416) 555-0199"],
            "usernames": ["@ShadowFox"],
            "description": "Seen at https://Forum.example/t/1",
        },
    ),
    "online_identity": (
        _raw(
            "online_identity",
            kind="im_buddy",
            value="@Buddy_One",
            platform="ICQ",
            owner="Owner.Two",
            display_name="Bud Dee",
        ),
        "im buddy buddy_one on ICQ",
        ["Bud Dee"],
        ["username:buddy_one", "username:owner.two"],
        {
            "kind": "im_buddy",
            "value": "@Buddy_One",
            "platform": "ICQ",
            "owner": "Owner.Two",
            "display_name": "Bud Dee",
        },
    ),
    "phone": (
        _raw("phone", number="+1 416 555 0199", subscriber_name="Ann Lee", carrier="Rogers"),
        "phone +14165550199",
        ["Ann Lee"],
        ["phone:+14165550199"],
        {"number": "+1 416 555 0199", "subscriber_name": "Ann Lee", "carrier": "Rogers"},
    ),
    "payment_card": (
        _raw(
            "payment_card",
            card_number=CARD_SPACED,
            holder_name="Ann Lee",
            expiry="04/27",
            issuer="Visa",
        ),
        "card ending 6467",
        ["Ann Lee"],
        [f"card:{CARD_FP}"],
        {
            "holder_name": "Ann Lee",
            "expiry": "04/27",
            "issuer": "Visa",
            "card_fingerprint": CARD_FP,
            "card_last4": "6467",
        },
    ),
    "card_transaction": (
        _raw(
            "card_transaction",
            card_number=CARD_DASHED,
            holder_name="Ann Lee",
            merchant="Pix Host",
            merchant_url="https://www.PixHost.example/pay",
            amount="19.99",
            currency="USD",
            transacted_at="2024-02-29T23:30:00-05:00",
            email="Buyer@Mail.example",
            ip="10.0.0.1",
        ),
        "Pix Host: 19.99 USD on card ending 6467",
        ["Ann Lee"],
        [
            f"card:{CARD_FP}",
            "domain:pixhost.example",
            "email:buyer@mail.example",
            "ip:10.0.0.1",
            "url:https://www.pixhost.example/pay",
        ],
        {
            "holder_name": "Ann Lee",
            "merchant": "Pix Host",
            "merchant_url": "https://www.PixHost.example/pay",
            "amount": "19.99",
            "currency": "USD",
            "transacted_at": "2024-03-01T04:30:00Z",
            "email": "Buyer@Mail.example",
            "ip": "10.0.0.1",
            "card_fingerprint": CARD_FP,
            "card_last4": "6467",
        },
    ),
    "chat_message": (
        _raw(
            "chat_message",
            platform="Kik",
            room="#trade",
            sender="@Night_Owl",
            recipients=["Alpha", "beta"],
            text="send to trade@drop.example",
            sent_at="2024-03-01T09:00:00Z",
            sender_ip="2001:DB8::1",
        ),
        "chat from night_owl in #trade",
        [],
        [
            "email:trade@drop.example",
            "ip:2001:db8::1",
            "username:alpha",
            "username:beta",
            "username:night_owl",
        ],
        {
            "platform": "Kik",
            "room": "#trade",
            "sender": "@Night_Owl",
            "recipients": ["Alpha", "beta"],
            "text": "send to trade@drop.example",
            "sent_at": "2024-03-01T09:00:00Z",
            "sender_ip": "2001:DB8::1",
        },
    ),
    "arrest": (
        _raw(
            "arrest",
            name="Bob Smith",
            date_of_birth="1975-01-31",
            charges=["possession", "distribution"],
            location="Toronto",
            arrested_at="2024-02-01T12:00:00Z",
            arresting_officer="PC 1234",
            narrative="Arrested at home.",
            emails=["bob@x.example"],
            phones=["+44 20 7946 0958"],
            usernames=["bobby"],
        ),
        "arrest of Bob Smith",
        ["Bob Smith"],
        ["email:bob@x.example", "phone:+442079460958", "username:bobby"],
        {
            "name": "Bob Smith",
            "date_of_birth": "1975-01-31",
            "charges": ["possession", "distribution"],
            "location": "Toronto",
            "arrested_at": "2024-02-01T12:00:00Z",
            "arresting_officer": "PC 1234",
            "narrative": "Arrested at home.",
            "emails": ["bob@x.example"],
            "phones": ["+44 20 7946 0958"],
            "usernames": ["bobby"],
        },
    ),
    "case_note": (
        _raw(
            "case_note",
            author="Det. Ray",
            text="Interviewed both.",
            subject_names=["Bob Smith", "Ann Lee"],
        ),
        "case note by Det. Ray",
        ["Bob Smith", "Ann Lee"],
        [],
        {
            "author": "Det. Ray",
            "text": "Interviewed both.",
            "subject_names": ["Bob Smith", "Ann Lee"],
        },
    ),
    "tip": (
        _raw(
            "tip",
            reporter="NCMEC",
            reported_at="2024-01-15T08:00:00Z",
            text="Suspect uploads nightly.",
            names=["John Smith"],
            emails=["tipped@mail.example"],
            usernames=["uploader9"],
            phones=["+1 647 555 0123"],
            ips=["192.0.2.7"],
            urls=["http://files.example/x"],
        ),
        "tip from NCMEC",
        ["John Smith"],
        [
            "domain:files.example",
            "email:tipped@mail.example",
            "ip:192.0.2.7",
            "phone:+16475550123",
            "url:http://files.example/x",
            "username:uploader9",
        ],
        {
            "reporter": "NCMEC",
            "reported_at": "2024-01-15T08:00:00Z",
            "text": "Suspect uploads nightly.",
            "names": ["John Smith"],
            "emails": ["tipped@mail.example"],
            "usernames": ["uploader9"],
            "phones": ["+1 647 555 0123"],
            "ips": ["192.0.2.7"],
            "urls": ["http://files.example/x"],
        },
    ),
    "media_hash": (
        _raw(
            "media_hash",
            md5="D41D8CD98F00B204E9800998ECF8427E",
            sha1="da39a3ee5e6b4b0d3255bfef95601890afd80709",
            filename="img_001.jpg",
            platform="Dropbox",
        ),
        "media img_001.jpg",
        [],
        ["md5:d41d8cd98f00b204e9800998ecf8427e", "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"],
        {
            "md5": "D41D8CD98F00B204E9800998ECF8427E",
            "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "filename": "img_001.jpg",
            "platform": "Dropbox",
        },
    ),
}


def test_every_record_type_has_a_case() -> None:
    assert set(CASES) == {t.value for t in RecordType}


@pytest.mark.parametrize("type_", sorted(CASES))
def test_prepare_builds_the_document(type_: str) -> None:
    raw, title, names, selectors, body = CASES[type_]
    prepared = prepare(raw, CTX)
    document = prepared.document
    assert prepared.type is RecordType(type_)
    assert prepared.record_id == document["record_id"]
    assert document["agency"] == "tps"
    assert document["type"] == type_
    assert document["handling"] == "amber"
    assert document["created"] == "2024-03-01T10:00:00Z"
    assert document["title"] == title
    assert document.get("names", []) == names
    assert document.get("selectors", []) == selectors
    assert document["body"] == body
    for name in names:
        assert set(phonetic_keys(name)) <= set(document["name_phonetic"])


def test_envelope_fields_are_kept() -> None:
    raw = CASES["phone"][0] | {
        "id": "TPS-2024/0001",
        "case_ref": "C-77",
        "handling": "amber+strict",
        "updated": "2024-03-02T00:00:00Z",
        "source": "rms",
        "agency": "tps",
    }
    document = prepare(raw, CTX).document
    assert document["record_id"] == "TPS-2024/0001"
    assert document["case_ref"] == "C-77"
    assert document["handling"] == "amber+strict"
    assert document["updated"] == "2024-03-02T00:00:00Z"
    assert document["source"] == "rms"
    assert "id" not in document["body"] and "case_ref" not in document["body"]


def test_text_and_names_are_searchable() -> None:
    document = prepare(CASES["arrest"][0], CTX).document
    assert document["text"].split("\n") == [
        "Toronto",
        "Arrested at home.",
        "possession",
        "distribution",
    ]
    # A sound-alike spelling gives the same phonetic keys as the stored name.
    assert set(phonetic_keys("Bob Smyth")) <= set(document["name_phonetic"])


def test_empty_optional_fields_are_left_out() -> None:
    document = prepare(_raw("case_note", text="x", author="", subject_names=[]), CTX).document
    assert document["title"] == "case note"
    assert document["body"] == {"text": "x"}
    assert "names" not in document and "selectors" not in document and "updated" not in document


# --------------------------------------------------------------------------------------------
# Payment cards


@pytest.mark.parametrize("number", [CARD, CARD_SPACED, CARD_DASHED])
@pytest.mark.parametrize("type_", ["payment_card", "card_transaction"])
def test_a_card_number_is_never_stored(type_: str, number: str) -> None:
    raw = CASES[type_][0] | {"card_number": number}
    prepared = prepare(raw, CTX)
    dumped = json.dumps(prepared.document) + prepared.record_id
    for spelling in (CARD, CARD_SPACED, CARD_DASHED, CARD[:12], CARD[4:]):
        assert spelling not in dumped
    assert prepared.document["card_last4"] == ["6467"]
    assert prepared.document["body"]["card_last4"] == "6467"
    assert prepared.document["body"]["card_fingerprint"] == CARD_FP
    assert "card_number" not in prepared.document["body"]


def test_the_same_card_links_across_records_and_types() -> None:
    card = prepare(CASES["payment_card"][0], CTX).document["selectors"]
    transaction = prepare(CASES["card_transaction"][0], CTX).document["selectors"]
    assert f"card:{CARD_FP}" in card
    assert f"card:{CARD_FP}" in transaction


def test_a_card_fingerprint_depends_on_the_key() -> None:
    other = prepare(CASES["payment_card"][0], IngestContext("tps", OTHER_KEY)).document
    assert other["body"]["card_fingerprint"] != CARD_FP
    assert other["body"]["card_last4"] == "6467"


def test_the_content_id_of_a_card_record_depends_on_the_card_only_through_its_fingerprint() -> None:
    # An unkeyed digest over the number would let anyone holding the record find the number
    # by trying the candidates left open by its last four digits.
    base = CASES["payment_card"][0]
    spaced = prepare(base | {"card_number": CARD_SPACED}, CTX).record_id
    plain = prepare(base | {"card_number": CARD}, CTX).record_id
    other_key = prepare(base | {"card_number": CARD}, IngestContext("tps", OTHER_KEY)).record_id
    assert spaced == plain
    assert other_key != plain


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("4539 1488 0343 6468", "fails the Luhn check"),
        ("4539 1488 0343 646x", "only digits"),
        ("4539 1488 0343 6467 0000 000", "12 to 19 digits"),
    ],
)
def test_a_bad_card_number_is_rejected_without_echoing_it(number: str, reason: str) -> None:
    with pytest.raises(RecordError) as caught:
        prepare(CASES["payment_card"][0] | {"card_number": number}, CTX)
    message = str(caught.value)
    assert message.startswith("card_number: ")
    assert reason in message
    assert "4539" not in message and "1488" not in message


def test_a_card_record_rejected_for_another_field_does_not_echo_the_number() -> None:
    with pytest.raises(RecordError) as caught:
        prepare(CASES["card_transaction"][0] | {"currency": "usd"}, CTX)
    assert str(caught.value).startswith("currency: ")
    assert "4539" not in str(caught.value)


# --------------------------------------------------------------------------------------------
# Ids, agency, times, CSV lists


def test_content_ids_are_stable_and_follow_the_content() -> None:
    raw = CASES["tip"][0]
    first = prepare(raw, CTX).record_id
    assert first.startswith("h:") and len(first) == len("h:") + 32
    assert prepare(dict(raw), CTX).record_id == first
    assert prepare(dict(reversed(list(raw.items()))), CTX).record_id == first
    assert prepare(raw | {"text": "Suspect uploads daily."}, CTX).record_id != first
    assert prepare(raw | {"handling": "red"}, CTX).record_id != first
    # keyed with the agency's secret: another key, another id (no guessing from outside)
    other_key = IngestContext(agency_id="tps", card_key=bytes(32), default_region="CA")
    assert prepare(raw, other_key).record_id != first


def test_an_explicit_id_wins_over_content() -> None:
    raw = CASES["tip"][0]
    one = prepare(raw | {"id": "tip-1"}, CTX)
    other = prepare(raw | {"id": "tip-1", "text": "changed"}, CTX)
    assert one.record_id == other.record_id == "tip-1"


def test_a_record_of_another_agency_is_rejected() -> None:
    raw = CASES["phone"][0] | {"agency": "rcmp"}
    with pytest.raises(RecordError, match=r"^agency: ") as caught:
        prepare(raw, CTX)
    assert "rcmp" not in str(caught.value)
    assert prepare(raw | {"agency": "tps"}, CTX).document["agency"] == "tps"


@pytest.mark.parametrize(
    ("created", "stored"),
    [
        ("2024-03-01T10:00:00", "2024-03-01T10:00:00Z"),
        ("2024-03-01", "2024-03-01T00:00:00Z"),
        ("2024-03-01T12:00:00+02:00", "2024-03-01T10:00:00Z"),
        ("2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"),
    ],
)
def test_times_are_stored_in_utc(created: str, stored: str) -> None:
    raw = _raw(
        "chat_message", sender="a", text="hi", created=created, updated=created, sent_at=created
    )
    document = prepare(raw, CTX).document
    assert document["created"] == stored
    assert document["updated"] == stored
    assert document["body"]["sent_at"] == stored


def test_csv_style_lists_are_split() -> None:
    raw = _raw(
        "person",
        name="Ann | Lee",
        aliases="Annie| A. Lee ||",
        emails="ann@mail.example|lee@mail.example",
        description="a|b",
    )
    document = prepare(raw, CTX).document
    assert document["body"]["aliases"] == ["Annie", "A. Lee"]
    assert document["body"]["emails"] == ["ann@mail.example", "lee@mail.example"]
    assert document["body"]["name"] == "Ann | Lee"  # not a list field: kept as written
    assert document["body"]["description"] == "a|b"
    assert {"email:ann@mail.example", "email:lee@mail.example"} <= set(document["selectors"])


# --------------------------------------------------------------------------------------------
# Error messages name the field and never the value

SECRET = "Zq7Xw3Kv"

BAD_RECORDS: list[tuple[dict[str, Any], str]] = [
    (CASES["person"][0] | {"created": SECRET}, "created"),
    (CASES["person"][0] | {"updated": f"2024-01-01T{SECRET}"}, "updated"),
    (CASES["person"][0] | {"handling": SECRET}, "handling"),
    (CASES["person"][0] | {"id": f"{SECRET} id"}, "id"),
    (CASES["person"][0] | {"type": SECRET}, "type"),
    (CASES["person"][0] | {"case_ref": SECRET * 10}, "case_ref"),
    (CASES["person"][0] | {"name": SECRET * 30}, "name"),
    (CASES["person"][0] | {"date_of_birth": SECRET}, "date_of_birth"),
    (CASES["person"][0] | {"emails": ["ok@mail.example", SECRET]}, "emails[1]"),
    (CASES["person"][0] | {"phones": [SECRET]}, "phones[0]"),
    (CASES["person"][0] | {"usernames": [f"{SECRET} x"]}, "usernames[0]"),
    (CASES["person"][0] | {"secret_field": SECRET}, "secret_field"),
    (CASES["online_identity"][0] | {"kind": SECRET}, "kind"),
    (CASES["online_identity"][0] | {"kind": "email", "value": SECRET}, "value"),
    (CASES["online_identity"][0] | {"owner": f"{SECRET}!"}, "owner"),
    (CASES["phone"][0] | {"number": SECRET}, "number"),
    (CASES["payment_card"][0] | {"expiry": SECRET}, "expiry"),
    (CASES["card_transaction"][0] | {"amount": SECRET}, "amount"),
    (CASES["card_transaction"][0] | {"amount": "1.999"}, "amount"),
    (CASES["card_transaction"][0] | {"currency": SECRET}, "currency"),
    (CASES["card_transaction"][0] | {"merchant_url": SECRET}, "merchant_url"),
    (CASES["card_transaction"][0] | {"ip": SECRET}, "ip"),
    (CASES["card_transaction"][0] | {"email": SECRET}, "email"),
    (CASES["chat_message"][0] | {"sender": f"{SECRET} x"}, "sender"),
    (CASES["chat_message"][0] | {"recipients": ["ok", f"{SECRET}!"]}, "recipients[1]"),
    (CASES["chat_message"][0] | {"sender_ip": SECRET}, "sender_ip"),
    (CASES["tip"][0] | {"urls": [SECRET]}, "urls[0]"),
    (CASES["tip"][0] | {"ips": [SECRET]}, "ips[0]"),
    (CASES["media_hash"][0] | {"md5": SECRET}, "md5"),
    (CASES["media_hash"][0] | {"sha1": SECRET}, "sha1"),
    (CASES["media_hash"][0] | {"pdq": SECRET}, "pdq"),
]


@pytest.mark.parametrize(("raw", "field"), BAD_RECORDS, ids=[f for _, f in BAD_RECORDS])
def test_an_error_names_the_field_but_not_the_value(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as caught:
        prepare(raw, CTX)
    message = str(caught.value)
    assert message.startswith(f"{field}: ") or f"; {field}: " in message
    assert SECRET.lower() not in message.lower()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"created": CREATED}, "type: must be one of person, online_identity"),
        (_raw("person"), "name: Field required"),
        (_raw("chat_message", sender="a"), "text: Field required"),
        ({"type": "tip", "text": "x"}, "created: Field required"),
    ],
)
def test_a_missing_field_is_named(raw: dict[str, Any], expected: str) -> None:
    with pytest.raises(RecordError) as caught:
        prepare(raw, CTX)
    assert str(caught.value).startswith(expected)


@pytest.mark.parametrize("raw", [[1, 2], "person", None])
def test_a_record_must_be_a_mapping(raw: Any) -> None:
    with pytest.raises(RecordError, match="record must be a JSON object"):
        prepare(raw, CTX)


# --------------------------------------------------------------------------------------------
# Media hashes and selectors in free text


def test_a_media_hash_record_needs_a_hash() -> None:
    with pytest.raises(RecordError, match=r"^md5, sha1, pdq: at least one hash is required$"):
        prepare(_raw("media_hash", filename="a.jpg"), CTX)


@pytest.mark.parametrize(("kind", "digits"), [("md5", 32), ("sha1", 40), ("pdq", 64)])
def test_any_one_hash_is_enough(kind: str, digits: int) -> None:
    value = "AB" * (digits // 2)
    document = prepare(_raw("media_hash", **{kind: value}), CTX).document
    assert document["selectors"] == [f"{kind}:{value.lower()}"]
    assert document["title"] == "media hash"


def test_selectors_are_taken_from_free_text() -> None:
    raw = _raw(
        "chat_message",
        sender="Night_Owl",
        text="mail Drop.Box@Mail.example or see http://evil.example/a, I'm on 203.0.113.9",
    )
    selectors = set(prepare(raw, CTX).document["selectors"])
    assert selectors == {
        "username:night_owl",
        "email:drop.box@mail.example",
        "url:http://evil.example/a",
        "domain:evil.example",
        "ip:203.0.113.9",
    }


def test_phones_in_free_text_use_the_default_region() -> None:
    raw = _raw("case_note", text="He called from 416-555-0199 twice.")
    assert prepare(raw, CTX).document["selectors"] == ["phone:+14165550199"]
    without_region = IngestContext("tps", KEY)
    assert "selectors" not in prepare(raw, without_region).document


def test_usernames_are_not_taken_from_free_text() -> None:
    raw = _raw("case_note", text="user @night_owl said hello")
    assert "selectors" not in prepare(raw, CTX).document


@pytest.mark.parametrize("written", [CARD_SPACED, CARD, CARD_DASHED])
def test_card_numbers_in_free_text_are_masked_and_still_link(written: str) -> None:
    note = prepare(_raw("case_note", text=f"user @night_owl paid with {written} twice"), CTX)
    card = prepare(_raw("payment_card", card_number=CARD), CTX)

    dumped = json.dumps(note.document)
    assert CARD not in dumped and written not in dumped
    assert note.document["body"]["text"] == (
        f"user @night_owl paid with [card ending {CARD[-4:]}] twice"
    )
    assert note.document["selectors"] == card.document["selectors"]  # the same fingerprint
    assert note.document["card_last4"] == [CARD[-4:]]


def test_a_card_number_that_is_the_whole_text_is_masked() -> None:
    from cets.core.selectors import mask_card_numbers
    from cets.core.selectors._card import _SHORTEST_CARD_IN_TEXT

    shortest = "4222222222222"  # 13 digits, Luhn-valid: the shortest number masked
    assert len(shortest) == _SHORTEST_CARD_IN_TEXT
    masked, cards = mask_card_numbers(shortest, KEY)
    assert masked == "[card ending 2222]" and [c.last4 for c in cards] == ["2222"]
    assert mask_card_numbers(shortest[:-1], KEY) == (shortest[:-1], [])


def test_phone_numbers_are_not_mistaken_for_cards() -> None:
    raw = _raw("case_note", text="called 0044 7572 441188 and +1 416 555 0142")
    assert "[card ending" not in prepare(raw, CTX).document["text"]


# --------------------------------------------------------------------------------------------
# Control characters, and field names that come from the input


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("name", "Ann\x00Lee", "0000"),
        ("name", "Ann\x1b[31mLee", "001B"),
        ("description", "bell\x07", "0007"),
        ("description", "form\x0cfeed", "000C"),
        ("description", "del\x7f", "007F"),
        ("description", "next\x85line", "0085"),
        ("aliases", ["fine", "not\x01fine"], "0001"),
    ],
)
def test_control_characters_in_a_value_reject_the_record(field: str, value: Any, code: str) -> None:
    with pytest.raises(RecordError) as caught:
        prepare(_raw("person", name="Ann Lee") | {field: value}, CTX)
    assert str(caught.value) == f"{field}: contains a control character (U+{code})"


def test_tabs_line_breaks_and_unicode_separators_are_text() -> None:
    text = "line one\r\nline two\n\tindented\u2028separated\u2029paragraph"
    document = prepare(_raw("case_note", text=text), CTX).document
    assert document["body"]["text"] == text


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("na\x01me\n1: forged line", "na\\x01me\\n1: forged line"),
        ("x\u2028y", "x\\u2028y"),
        ("k" * 1000, "k" * 64 + "..."),
    ],
)
def test_an_unknown_field_name_is_shown_escaped_and_short(name: str, shown: str) -> None:
    with pytest.raises(RecordError) as caught:
        prepare(_raw("person", name="Ann Lee") | {name: "x"}, CTX)
    assert str(caught.value) == f"{shown}: Extra inputs are not permitted"
