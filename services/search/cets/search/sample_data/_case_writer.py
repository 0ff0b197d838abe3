"""The cast of each case and the records written about it, one builder per record type."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

from cets.core.records import RecordType
from cets.search.sample_data._agencies import SampleAgency, _style
from cets.search.sample_data._cast import _Case, _Fill, _Persona, _Pools, _Victim
from cets.search.sample_data._identifiers import (
    _card_number,
    _file_url,
    _handle,
    _in_class,
    _ipv4,
    _ipv6,
    _iso,
    _phone_number,
    _slot,
    _slug,
    _token,
    _written_card,
    _written_phone,
)
from cets.search.sample_data._links import PlantedAppearance, PlantedIdentity
from cets.search.sample_data._record_types import (
    _CASE_SPAN_SECONDS,
    _HANDLING,
    _HANDLING_CUM,
    _SOURCES,
    Record,
)
from cets.search.sample_data._wording import (
    _ADJECTIVES,
    _ARREST_TEXTS,
    _CHILD_LINES,
    _ESPS,
    _GROOMER_LINES,
    _KID_WORDS,
    _MEDIA_NOTES,
    _MERCHANTS,
    _NOTE_TEXTS,
    _NOUNS,
    _OTHER_NOTES,
    _PLATFORMS,
    _PRIVATE_APPS,
    _SUSPECT_NOTES,
    _TIP_TEXTS,
    _TRADER_LINES,
    _TXN_NOTES,
)


class _CaseWriter:
    """Builds the cast of a case and its records, drawing from one random generator."""

    def __init__(self, agency: SampleAgency, pools: _Pools, rng: random.Random) -> None:
        self.agency = agency
        self.style = _style(agency.region)
        self.pools = pools
        self.rng = rng
        self.slot = _slot(agency.id)
        self._builders: dict[RecordType, Callable[[_Case, datetime], Record]] = {
            RecordType.PERSON: self._person,
            RecordType.ONLINE_IDENTITY: self._online_identity,
            RecordType.PHONE: self._phone,
            RecordType.PAYMENT_CARD: self._payment_card,
            RecordType.CARD_TRANSACTION: self._card_transaction,
            RecordType.CHAT_MESSAGE: self._chat_message,
            RecordType.ARREST: self._arrest,
            RecordType.CASE_NOTE: self._case_note,
            RecordType.TIP: self._tip,
            RecordType.MEDIA_HASH: self._media_hash,
        }

    # -- cast -------------------------------------------------------------------------------

    def ordinary_case(self, ref: str, start: datetime) -> _Case:
        rng = self.rng
        suspects = tuple(self._persona(start) for _ in range(1 if rng.random() < 0.8 else 2))
        victims = tuple(self._victim() for _ in range(rng.randint(1, 3)))
        return _Case(ref, start, suspects, victims, rng.choice(self.pools.officers))

    def planted_case(
        self, ref: str, start: datetime, identity: PlantedIdentity, appearance: PlantedAppearance
    ) -> _Case:
        suspect = _Persona(
            name=appearance.name,
            dob=identity.date_of_birth,
            address=self._address(),
            email=appearance.email,
            handle=appearance.username,
            phone=appearance.phone,
            ip=appearance.ip,
            card=appearance.card,
            platform=self.rng.choice(_PLATFORMS),
        )
        victims = (self._victim(), self._victim())
        officer = self.rng.choice(self.pools.officers)
        return _Case(ref, start, (suspect,), victims, officer, complete=True)

    def _persona(self, start: datetime) -> _Persona:
        rng = self.rng
        first, last = rng.choice(self.pools.firsts), rng.choice(self.pools.lasts)
        number = _in_class(rng, 100, 10_000, self.slot)
        handle = _handle(rng, first, last, number)
        local = rng.choice(
            (
                f"{_slug(first)}.{_slug(last)}{number}",
                f"{_slug(first)[0]}{_slug(last)}{number}",
                handle.lower(),
            )
        )
        card = _card_number(rng, self.slot)
        return _Persona(
            name=f"{first} {last}",
            dob=start.date() - timedelta(days=rng.randint(19 * 365, 62 * 365)),
            address=self._address(),
            email=f"{local}@{rng.choice(self.style.email_domains)}",
            handle=handle,
            phone=_written_phone(rng, _phone_number(rng, self.agency.region, self.slot)),
            ip=_ipv4(rng, self.slot) if rng.random() < 0.8 else _ipv6(rng),
            card=_written_card(card, rng.choice(("spaced", "dashed", "plain"))),
            platform=rng.choice(_PLATFORMS),
        )

    def _victim(self) -> _Victim:
        rng = self.rng
        first, second = rng.sample(_KID_WORDS, 2)
        number = _in_class(rng, 100, 10_000, self.slot)
        handle = f"{first}{rng.choice(('', '_', '.'))}{second}{number}"
        return _Victim(handle, rng.randint(12, 15), rng.choice(_PLATFORMS))

    def _address(self) -> str:
        rng, pools = self.rng, self.pools
        city = rng.choice(self.style.cities)
        return f"{rng.choice(pools.streets)}, {city} {rng.choice(pools.postcodes)}"

    def _other_name(self) -> str:
        return f"{self.rng.choice(self.pools.firsts)} {self.rng.choice(self.pools.lasts)}"

    # -- records ----------------------------------------------------------------------------

    def records(
        self, case: _Case, types: Sequence[RecordType], ids: Sequence[str]
    ) -> Iterator[Record]:
        """The case's records, in the order given, at increasing times after its start."""
        rng = self.rng
        offsets = sorted(rng.randrange(_CASE_SPAN_SECONDS) for _ in types)
        for record_type, record_id, offset in zip(types, ids, offsets, strict=True):
            at = case.start + timedelta(seconds=offset)
            record: Record = {
                "id": record_id,
                "type": record_type.value,
                "case_ref": case.ref,
                "handling": rng.choices(_HANDLING, cum_weights=_HANDLING_CUM)[0],
                "created": _iso(at),
            }
            if rng.random() < 0.15:
                record["updated"] = _iso(at + timedelta(hours=rng.randint(1, 480)))
            record["source"] = rng.choice(_SOURCES[record_type])
            record.update(self._builders[record_type](case, at))
            yield record

    def _subject(self, case: _Case) -> _Persona:
        return case.suspects[0] if case.complete else self.rng.choice(case.suspects)

    def _maybe(self, case: _Case, probability: float) -> bool:
        """Whether to include an optional identifier: always, in a planted case."""
        return case.complete or self.rng.random() < probability

    def _context(self, case: _Case, who: _Persona, at: datetime) -> _Fill:
        return _Fill(self.rng, self.style, case, who, at)

    def _identifiers(self, case: _Case, who: _Persona, probability: float) -> Record:
        fields: Record = {}
        if self._maybe(case, probability):
            fields["emails"] = [who.email]
        if self._maybe(case, probability):
            fields["phones"] = [who.phone]
        if self._maybe(case, probability):
            fields["usernames"] = [who.handle]
        return fields

    def _person(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        if case.complete or rng.random() < 0.6:
            who = self._subject(case)
            esp = rng.choice(_ESPS)
            return {
                "name": who.name,
                "date_of_birth": who.dob.isoformat(),
                "nationality": self.style.nationality,
                **self._identifiers(case, who, 0.7),
                "address": who.address,
                "description": rng.choice(_SUSPECT_NOTES).format(esp=esp),
            }
        born = at.date() - timedelta(days=rng.randint(18 * 365, 70 * 365))
        fields: Record = {"name": self._other_name(), "date_of_birth": born.isoformat()}
        if rng.random() < 0.6:
            number = _phone_number(rng, self.agency.region, self.slot)
            fields["phones"] = [_written_phone(rng, number)]
        return {**fields, "address": self._address(), "description": rng.choice(_OTHER_NOTES)}

    def _online_identity(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        kinds = ("username", "email", "im_buddy", "ip", "url")
        kind = rng.choices(kinds, cum_weights=(45, 65, 80, 90, 100))[0]
        if case.complete:
            kind = "username"
        esp = rng.choice(_ESPS)
        if kind == "username":
            return {
                "kind": kind,
                "value": who.handle,
                "platform": who.platform,
                "display_name": who.name.split()[0],
                "description": f"Account identified from {esp} return.",
            }
        if kind == "email":
            return {
                "kind": kind,
                "value": who.email,
                "platform": "e-mail",
                "description": f"Registration e-mail of {who.handle} on {who.platform}.",
            }
        if kind == "im_buddy":
            victim = rng.choice(case.victims)
            return {
                "kind": kind,
                "value": victim.handle,
                "owner": who.handle,
                "platform": victim.platform,
                "description": "Buddy-list entry recovered from a seized device.",
            }
        if kind == "ip":
            return {
                "kind": kind,
                "value": who.ip,
                "description": f"Login IP in {esp} return, {at:%Y-%m-%d}.",
            }
        return {
            "kind": kind,
            "value": _file_url(rng),
            "platform": "file hosting",
            "description": "File-sharing link recovered from chat logs.",
        }

    def _phone(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        subscriber = who.name if self._maybe(case, 0.8) else self._other_name()
        description = rng.choice(
            (
                "Prepaid SIM; subscriber details unverified.",
                f"{self.style.data_order} returned subscriber details.",
                "Number given to the complainant in chat.",
            )
        )
        return {
            "number": who.phone,
            "subscriber_name": subscriber,
            "carrier": rng.choice(self.style.carriers),
            "description": description,
        }

    def _payment_card(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        card = who.card or _card_number(rng, self.slot)
        digits = int(re.sub(r"\D", "", card))  # the same card always has the same details
        return {
            "card_number": card,
            "holder_name": who.name,
            "expiry": f"{digits // 10 % 12 + 1:02d}/{26 + digits // 1000 % 6}",
            "issuer": self.style.issuers[digits // 100 % len(self.style.issuers)],
            "description": "Card used to pay for file-hosting and VPN subscriptions.",
        }

    def _card_transaction(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        merchant, domain = rng.choice(_MERCHANTS)
        fields: Record = {"card_number": who.card or _card_number(rng, self.slot)}
        if self._maybe(case, 0.8):
            fields["holder_name"] = who.name
        fields["merchant"] = merchant
        if rng.random() < 0.6:
            fields["merchant_url"] = f"https://pay.{domain}/receipt/{_token(rng, 12)}"
        fields["amount"] = f"{rng.randint(499, 14999) / 100:.2f}"
        fields["currency"] = self.style.currency
        fields["transacted_at"] = _iso(at - timedelta(days=rng.randint(1, 60)))
        if self._maybe(case, 0.6):
            fields["email"] = who.email
        if self._maybe(case, 0.5):
            fields["ip"] = who.ip
        if rng.random() < 0.4:
            fields["description"] = rng.choice(_TXN_NOTES)
        return fields

    def _chat_message(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        victim = rng.choice(case.victims)
        roll = 0.0 if case.complete else rng.random()
        fields: Record = {}
        lines: tuple[str, ...]
        if roll < 0.65:
            sender, recipient, lines = who.handle, victim.handle, _GROOMER_LINES
            fields["platform"] = victim.platform
        elif roll < 0.9:
            sender, recipient, lines = victim.handle, who.handle, _CHILD_LINES
            fields["platform"] = victim.platform
        else:
            peer = next((s for s in case.suspects if s is not who), None)
            sender, lines = who.handle, _TRADER_LINES
            recipient = peer.handle if peer else self._persona(case.start).handle
            fields["platform"] = rng.choice(_PRIVATE_APPS)
            fields["room"] = f"{rng.choice(_ADJECTIVES).lower()}-{rng.choice(_NOUNS).lower()}s"
        text = rng.choice(lines).format_map(self._context(case, who, at))
        fields.update(
            sender=sender,
            recipients=[recipient],
            text=text,
            sent_at=_iso(at - timedelta(seconds=rng.randrange(14 * 86400))),
        )
        if sender == who.handle and self._maybe(case, 0.5):
            fields["sender_ip"] = who.ip
        return fields

    def _arrest(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        narrative = rng.choice(_ARREST_TEXTS).format_map(self._context(case, who, at))
        charges = rng.sample(self.style.charges, rng.randint(1, 3))
        return {
            "name": who.name,
            "date_of_birth": who.dob.isoformat(),
            "charges": charges,
            "location": who.address,
            "arrested_at": _iso(at),
            "arresting_officer": case.officer,
            "narrative": narrative,
            **self._identifiers(case, who, 0.5),
        }

    def _case_note(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        template = rng.choice(_NOTE_TEXTS)
        if who.card is None and "{last4}" in template:
            template = _NOTE_TEXTS[0]
        text = template.format_map(self._context(case, who, at))
        return {"author": case.officer, "text": text, "subject_names": [who.name]}

    def _tip(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        who = self._subject(case)
        context = self._context(case, who, at)
        fields: Record = {
            "reporter": rng.choice(self.style.tip_sources),
            "reported_at": _iso(at - timedelta(hours=rng.randint(2, 200))),
            "text": rng.choice(_TIP_TEXTS).format_map(context),
        }
        if self._maybe(case, 0.5):
            fields["names"] = [who.name]
        if self._maybe(case, 0.6):
            fields["emails"] = [who.email]
        if self._maybe(case, 0.8):
            fields["usernames"] = [who.handle]
        if self._maybe(case, 0.3):
            fields["phones"] = [who.phone]
        if self._maybe(case, 0.6):
            fields["ips"] = [who.ip]
        if rng.random() < 0.3:
            fields["urls"] = [context["url"]]
        return fields

    def _media_hash(self, case: _Case, at: datetime) -> Record:
        rng = self.rng
        fields: Record = {}
        if rng.random() < 0.9:
            fields["md5"] = f"{rng.getrandbits(128):032x}"
        if rng.random() < 0.7:
            fields["sha1"] = f"{rng.getrandbits(160):040x}"
        if not fields or rng.random() < 0.5:
            fields["pdq"] = f"{rng.getrandbits(256):064x}"
        esp = rng.choice(_ESPS)
        filename = rng.choice(
            (
                f"IMG_{rng.randint(1, 9999):04d}.jpg",
                f"{_token(rng, 8)}.zip",
                f"clip_{_token(rng, 6)}.mp4",
                f"scan{rng.randint(1, 999):03d}.png",
            )
        )
        return {
            **fields,
            "filename": filename,
            "platform": esp,
            "description": rng.choice(_MEDIA_NOTES).format(esp=esp),
        }
