"""Preparation: one validated input record becomes the document the node stores."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import (
    ValidationError,
)

from cets.core import names as name_keys
from cets.core.records._models import (
    _ENVELOPE_FIELDS,
    _IDENTIFIER_FIELDS,
    _RECORD_ADAPTER,
    ArrestIn,
    CardTransactionIn,
    CaseNoteIn,
    ChatMessageIn,
    MediaHashIn,
    OnlineIdentityIn,
    PaymentCardIn,
    PersonIn,
    PhoneIn,
    RecordIn,
    TipIn,
)
from cets.core.records._types import IngestContext, PreparedRecord, RecordError, RecordType
from cets.core.selectors import (
    Selector,
    SelectorError,
    SelectorKind,
    card_fingerprint,
    domain_of_url,
    mask_card_numbers,
)
from cets.core.selectors import extract_from_text as extract_selectors
from cets.core.selectors import normalize as normalize_selector


def prepare(raw: Mapping[str, Any], ctx: IngestContext) -> PreparedRecord:
    """Validate one input record and build the document stored for it.

    Raises:
        RecordError: the record breaks a rule; the message names the field and the rule.
    """
    record = _validate(raw)
    if record.agency is not None and record.agency != ctx.agency_id:
        raise RecordError(f"agency: record belongs to another agency (this is {ctx.agency_id!r})")
    builder = _DocumentBuilder(ctx)
    _BUILDERS[RecordType(record.type)](record, builder)
    record_id = record.id or _content_id(raw, builder.card_fields(), ctx.card_key)
    document = {
        "agency": ctx.agency_id,
        "record_id": record_id,
        "type": record.type,
        "case_ref": record.case_ref,
        "handling": record.handling.value,
        "created": _iso(record.created),
        "updated": _iso(record.updated),
        "source": record.source,
        **builder.fields(),
        "body": builder.body(record),
    }
    return PreparedRecord(
        record_id=record_id,
        type=RecordType(record.type),
        document={k: v for k, v in document.items() if v not in (None, [], "")},
    )


def _validate(raw: Mapping[str, Any]) -> RecordIn:
    if not isinstance(raw, Mapping):
        raise RecordError("record must be a JSON object")
    try:
        return _RECORD_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise RecordError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """Pydantic's errors, as 'field: message' without the input values."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            kinds = ", ".join(t.value for t in RecordType)
            parts.append(f"type: must be one of {kinds}")
            continue
        loc = ".".join(_shown(p) for p in error["loc"] if not _is_type_tag(p))
        parts.append(f"{loc}: {error['msg']}" if loc else str(error["msg"]))
    return "; ".join(parts)


def _shown(part: str | int, limit: int = 64) -> str:
    """A field name as it may appear in a reason: a name from the input (an unknown field)
    is cut short and its unprintable characters escaped, so that it cannot break the line
    a reason is printed on."""
    text = str(part)
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[:limit])
    return shown + ("..." if len(text) > limit else "")


def _is_type_tag(part: object) -> bool:
    return isinstance(part, str) and part in RecordType.__members__.values()


def _content_id(raw: Mapping[str, Any], card_fields: Mapping[str, str], key: bytes) -> str:
    """A stable id for a record that has none: a keyed digest of its canonical JSON.

    Keyed with the agency's secret, so that a partner shown the id cannot confirm guesses
    about the record's content; card numbers are replaced by their fingerprints first.
    """
    content = {**raw, **card_fields}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    digest = hmac.new(key, b"cets record id\n" + canonical.encode(), hashlib.sha256)
    return "h:" + digest.hexdigest()[:32]


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


class _DocumentBuilder:
    """Collects the searchable parts of one record while its type's builder walks it."""

    def __init__(self, ctx: IngestContext) -> None:
        self._ctx = ctx
        self.title = ""
        self._text: list[str] = []
        self._names: list[str] = []
        self._selectors: set[Selector] = set()
        self._last4: list[str] = []
        self._fingerprints: dict[str, tuple[str, str]] = {}
        self._masked: dict[str, str] = {}

    def text(self, *values: str | None) -> None:
        """Free text: searched with BM25 and scanned for e-mails, URLs, IPs and phones."""
        for value in values:
            if value:
                masked = self.mask(value)
                self._text.append(masked)
                self._selectors |= extract_selectors(
                    masked, default_region=self._ctx.default_region
                )

    def mask(self, value: str) -> str:
        """``value`` with any card number written in it replaced (and its fingerprint kept).

        A text is masked once per record (free text is masked for the search fields, then
        again as part of the body): its cards are kept the first time."""
        masked = self._masked.get(value)
        if masked is None:
            masked, cards = mask_card_numbers(value, self._ctx.card_key)
            for card in cards:
                self._selectors.add(Selector(SelectorKind.CARD, card.fingerprint))
                self._last4.append(card.last4)
            self._masked[value] = masked
        return masked

    def names(self, *values: str | None) -> None:
        self._names.extend(v for v in values if v)

    def selector(self, field: str, kind: SelectorKind | str, raw: str | None) -> Selector | None:
        """A structured identifier; a value that does not normalise rejects the record."""
        if raw is None:
            return None
        try:
            selector = normalize_selector(
                kind, raw, default_region=self._ctx.default_region, card_key=self._ctx.card_key
            )
        except SelectorError as exc:
            raise RecordError(f"{field}: {exc}") from None
        self._selectors.add(selector)
        if selector.kind is SelectorKind.URL:
            self._add_domain(selector.value)
        return selector

    def selectors(self, field: str, kind: SelectorKind | str, raws: Iterable[str]) -> None:
        for index, raw in enumerate(raws):
            self.selector(f"{field}[{index}]", kind, raw)

    def card(self, field: str, number: str) -> str:
        """Fingerprint a card number; returns its last four digits."""
        try:
            card = card_fingerprint(number, self._ctx.card_key)
        except SelectorError as exc:
            raise RecordError(f"{field}: {exc}") from None
        self._selectors.add(Selector(SelectorKind.CARD, card.fingerprint))
        self._last4.append(card.last4)
        self._fingerprints[field] = (card.fingerprint, card.last4)
        return card.last4

    def card_fields(self) -> dict[str, str]:
        """Each card field with its fingerprint in place of the number."""
        return {field: f"card:{fp}" for field, (fp, _) in self._fingerprints.items()}

    def _add_domain(self, url: str) -> None:
        domain = domain_of_url(url)
        if domain:
            self._selectors.add(Selector(SelectorKind.DOMAIN, domain))

    def fields(self) -> dict[str, Any]:
        names = list(dict.fromkeys(self._names))
        phonetic: list[str] = []
        for name in names:
            phonetic.extend(name_keys.phonetic_keys(name))
        return {
            "title": self.mask(self.title),
            "text": "\n".join(self._text) or None,
            "names": names,
            "name_phonetic": list(dict.fromkeys(phonetic)),
            "selectors": sorted(s.key for s in self._selectors),
            "card_last4": sorted(set(self._last4)),
        }

    def body(self, record: RecordIn) -> dict[str, Any]:
        """The type's own fields for display: card fields replaced by fingerprint + last 4,
        card numbers written in other text fields masked."""
        body = record.model_dump(mode="json", exclude_none=True, exclude=set(_ENVELOPE_FIELDS))
        for field, (fingerprint, last4) in self._fingerprints.items():
            body.pop(field, None)
            body["card_fingerprint"] = fingerprint
            body["card_last4"] = last4
        for key, value in body.items():
            if key in _IDENTIFIER_FIELDS:
                continue
            if isinstance(value, str):
                body[key] = self.mask(value)
            elif isinstance(value, list):
                body[key] = [self.mask(v) if isinstance(v, str) else v for v in value]
        return {k: v for k, v in body.items() if v not in ([], "")}


# One builder per type: what is a name, what is text, which fields are selectors.


def _person(r: PersonIn, b: _DocumentBuilder) -> None:
    b.title = r.name
    b.names(r.name, *r.aliases)
    b.text(r.address, r.description)
    b.selectors("emails", SelectorKind.EMAIL, r.emails)
    b.selectors("phones", SelectorKind.PHONE, r.phones)
    b.selectors("usernames", SelectorKind.USERNAME, r.usernames)


_IDENTITY_KINDS: dict[str, SelectorKind] = {
    "email": SelectorKind.EMAIL,
    "username": SelectorKind.USERNAME,
    "im_buddy": SelectorKind.USERNAME,
    "ip": SelectorKind.IP,
    "url": SelectorKind.URL,
}


def _online_identity(r: OnlineIdentityIn, b: _DocumentBuilder) -> None:
    selector = b.selector("value", _IDENTITY_KINDS[r.kind], r.value)
    assert selector is not None
    b.selector("owner", SelectorKind.USERNAME, r.owner)
    where = f" on {r.platform}" if r.platform else ""
    b.title = f"{r.kind.replace('_', ' ')} {selector.value}{where}"
    b.names(r.display_name)
    b.text(r.description)


def _phone(r: PhoneIn, b: _DocumentBuilder) -> None:
    selector = b.selector("number", SelectorKind.PHONE, r.number)
    assert selector is not None
    b.title = f"phone {selector.value}"
    b.names(r.subscriber_name)
    b.text(r.description)


def _payment_card(r: PaymentCardIn, b: _DocumentBuilder) -> None:
    last4 = b.card("card_number", r.card_number)
    b.title = f"card ending {last4}"
    b.names(r.holder_name)
    b.text(r.issuer, r.description)


def _card_transaction(r: CardTransactionIn, b: _DocumentBuilder) -> None:
    last4 = b.card("card_number", r.card_number)
    b.title = f"{r.merchant}: {r.amount} {r.currency} on card ending {last4}"
    b.names(r.holder_name)
    b.text(r.merchant, r.description)
    b.selector("merchant_url", SelectorKind.URL, r.merchant_url)
    b.selector("email", SelectorKind.EMAIL, r.email)
    b.selector("ip", SelectorKind.IP, r.ip)


def _chat_message(r: ChatMessageIn, b: _DocumentBuilder) -> None:
    sender = b.selector("sender", SelectorKind.USERNAME, r.sender)
    assert sender is not None
    b.selectors("recipients", SelectorKind.USERNAME, r.recipients)
    b.selector("sender_ip", SelectorKind.IP, r.sender_ip)
    where = r.room or r.platform
    b.title = f"chat from {sender.value}" + (f" in {where}" if where else "")
    b.text(r.text)


def _arrest(r: ArrestIn, b: _DocumentBuilder) -> None:
    b.title = f"arrest of {r.name}"
    b.names(r.name)
    b.text(r.location, r.narrative, *r.charges)
    b.selectors("emails", SelectorKind.EMAIL, r.emails)
    b.selectors("phones", SelectorKind.PHONE, r.phones)
    b.selectors("usernames", SelectorKind.USERNAME, r.usernames)


def _case_note(r: CaseNoteIn, b: _DocumentBuilder) -> None:
    b.title = "case note" + (f" by {r.author}" if r.author else "")
    b.names(*r.subject_names)
    b.text(r.text)


def _tip(r: TipIn, b: _DocumentBuilder) -> None:
    b.title = "tip" + (f" from {r.reporter}" if r.reporter else "")
    b.names(*r.names)
    b.text(r.text)
    b.selectors("emails", SelectorKind.EMAIL, r.emails)
    b.selectors("usernames", SelectorKind.USERNAME, r.usernames)
    b.selectors("phones", SelectorKind.PHONE, r.phones)
    b.selectors("ips", SelectorKind.IP, r.ips)
    b.selectors("urls", SelectorKind.URL, r.urls)


def _media_hash(r: MediaHashIn, b: _DocumentBuilder) -> None:
    if not (r.md5 or r.sha1 or r.pdq):
        raise RecordError("md5, sha1, pdq: at least one hash is required")
    b.selector("md5", SelectorKind.MD5, r.md5)
    b.selector("sha1", SelectorKind.SHA1, r.sha1)
    b.selector("pdq", SelectorKind.PDQ, r.pdq)
    b.title = "media " + (r.filename or "hash")
    b.text(r.filename, r.description)


_BUILDERS: dict[RecordType, Any] = {
    RecordType.PERSON: _person,
    RecordType.ONLINE_IDENTITY: _online_identity,
    RecordType.PHONE: _phone,
    RecordType.PAYMENT_CARD: _payment_card,
    RecordType.CARD_TRANSACTION: _card_transaction,
    RecordType.CHAT_MESSAGE: _chat_message,
    RecordType.ARREST: _arrest,
    RecordType.CASE_NOTE: _case_note,
    RecordType.TIP: _tip,
    RecordType.MEDIA_HASH: _media_hash,
}
