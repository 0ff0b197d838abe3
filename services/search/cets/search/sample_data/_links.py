"""Planted cross-agency links: suspects known to several agencies under different spellings."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import phonenumbers

from cets.core.records import RecordType
from cets.core.selectors import normalize
from cets.search.sample_data._agencies import SampleAgency
from cets.search.sample_data._identifiers import (
    _PLANTED_SLOT,
    _card_number,
    _handle,
    _in_class,
    _ipv4,
    _phone_number,
    _rng,
    _written_card,
)
from cets.search.sample_data._record_types import _SLUGS, _STAGE
from cets.search.sample_data._wording import _FIRST_VARIANTS, _LAST_VARIANTS


@dataclass(frozen=True)
class PlantedAppearance:
    """How one planted suspect is written at one agency, and the records that carry it."""

    agency_id: str
    name: str
    email: str
    username: str
    phone: str
    ip: str
    card: str | None = field(repr=False)
    """The card number as written here; never part of the manifest."""
    card_format: str | None
    record_types: tuple[RecordType, ...]
    record_ids: tuple[str, ...]


@dataclass(frozen=True)
class PlantedIdentity:
    """A suspect known to several agencies under different spellings of one identity."""

    link_id: str
    date_of_birth: date
    selectors: tuple[str, ...]
    """Normalised selector keys that every appearance carries (the card is separate)."""
    card_last4: str | None
    appearances: tuple[PlantedAppearance, ...]

    @property
    def agencies(self) -> tuple[str, ...]:
        return tuple(appearance.agency_id for appearance in self.appearances)


@dataclass(frozen=True)
class LinkPlan:
    """The cross-agency links to plant, and the ground truth for finding them."""

    seed: int
    identities: tuple[PlantedIdentity, ...]

    def appearances_at(self, agency_id: str) -> list[tuple[PlantedIdentity, PlantedAppearance]]:
        """The planted suspects an agency holds, in plan order."""
        return [
            (identity, appearance)
            for identity in self.identities
            for appearance in identity.appearances
            if appearance.agency_id == agency_id
        ]

    def planted_count(self, agency_id: str) -> int:
        """How many of an agency's records are planted."""
        return sum(len(a.record_ids) for _, a in self.appearances_at(agency_id))

    def to_dict(self) -> dict[str, Any]:
        """The manifest: everything but the card numbers themselves."""
        return {"seed": self.seed, "links": [_identity_json(i) for i in self.identities]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def _identity_json(identity: PlantedIdentity) -> dict[str, Any]:
    return {
        "id": identity.link_id,
        "date_of_birth": identity.date_of_birth.isoformat(),
        "selectors": list(identity.selectors),
        "card_last4": identity.card_last4,
        "agencies": {
            a.agency_id: {
                "name": a.name,
                "email": a.email,
                "username": a.username,
                "phone": a.phone,
                "ip": a.ip,
                "card_format": a.card_format,
                "records": list(a.record_ids),
            }
            for a in identity.appearances
        },
    }


def plan_links(agencies: Sequence[SampleAgency], *, seed: int, count: int) -> LinkPlan:
    """Plan ``count`` suspects, each appearing at two or more of ``agencies``.

    Planted records take the first record numbers of each agency (``<agency>-<type>-0000000``
    on), in plan order; :func:`iter_records` spreads them through the agency's stream.

    Raises:
        ValueError: a negative count, duplicate agency ids, or links with fewer than two
            agencies.
    """
    if count < 0:
        raise ValueError("the number of links must not be negative")
    if len({agency.id for agency in agencies}) != len(agencies):
        raise ValueError("agency ids must be distinct")
    if count and len(agencies) < 2:
        raise ValueError("planting cross-agency links needs at least two agencies")
    rng = _rng(seed, "links")
    next_number = {agency.id: 0 for agency in agencies}
    taken: set[str] = set()
    identities = []
    for index in range(count):
        identity = _plan_identity(rng, index, agencies, next_number, taken)
        taken.update(identity.selectors)
        identities.append(identity)
    return LinkPlan(seed=seed, identities=tuple(identities))


def _plan_identity(
    rng: random.Random,
    index: int,
    agencies: Sequence[SampleAgency],
    next_number: dict[str, int],
    taken: set[str],
) -> PlantedIdentity:
    size = 2 if len(agencies) == 2 or rng.random() < 0.6 else rng.randint(3, len(agencies))
    where = [agencies[i] for i in sorted(rng.sample(range(len(agencies)), size))]
    firsts, lasts = rng.choice(_FIRST_VARIANTS), rng.choice(_LAST_VARIANTS)
    while True:  # identifiers no other planted suspect has
        number = _in_class(rng, 100, 10_000, _PLANTED_SLOT)
        emails = _email_forms(rng, firsts[0], lasts[0], number)
        handles = _handle_forms(_handle(rng, firsts[0], lasts[0], number))
        rng.shuffle(handles)
        email_key = normalize("email", emails[0]).key
        username_key = normalize("username", handles[0]).key
        if email_key not in taken and username_key not in taken:
            break
    home = rng.choice(where).region
    phone = _phone_number(rng, home, _PLANTED_SLOT)
    e164 = phonenumbers.format_number(phone, phonenumbers.PhoneNumberFormat.E164)
    while f"phone:{e164}" in taken:
        phone = _phone_number(rng, home, _PLANTED_SLOT)
        e164 = phonenumbers.format_number(phone, phonenumbers.PhoneNumberFormat.E164)
    ip = _ipv4(rng, _PLANTED_SLOT)
    while f"ip:{ip}" in taken:
        ip = _ipv4(rng, _PLANTED_SLOT)
    card = _card_number(rng, _PLANTED_SLOT) if index % 4 != 3 else None
    card_formats = rng.sample(["spaced", "dashed", "plain"], 3)
    phone_forms: list[str] = []
    appearances = []
    for j, agency in enumerate(where):
        phone_forms.append(_phone_form(phone, agency.region, phone_forms))
        first, last = _name_variant(firsts, lasts, j)
        types = _planted_types(rng, has_card=card is not None)
        start = next_number[agency.id]
        next_number[agency.id] += len(types)
        card_format = card_formats[j % 3] if card else None
        appearances.append(
            PlantedAppearance(
                agency_id=agency.id,
                name=f"{first} {last}",
                email=emails[j % len(emails)],
                username=handles[j % len(handles)],
                phone=phone_forms[-1],
                ip=ip,
                card=_written_card(card, card_format or "") if card else None,
                card_format=card_format,
                record_types=types,
                record_ids=tuple(
                    f"{agency.id}-{_SLUGS[t]}-{start + k:07d}" for k, t in enumerate(types)
                ),
            )
        )
    born = date(1962, 1, 1) + timedelta(days=rng.randrange(40 * 365))
    return PlantedIdentity(
        link_id=f"link-{index + 1:04d}",
        date_of_birth=born,
        selectors=(email_key, f"ip:{ip}", f"phone:{e164}", username_key),
        card_last4=card[-4:] if card else None,
        appearances=tuple(appearances),
    )


def _email_forms(rng: random.Random, first: str, last: str, number: int) -> list[str]:
    """Spellings of one mailbox that the e-mail normaliser folds together, shuffled."""
    f, l_ = first.lower(), last.lower()
    tag = rng.choice(("forum", "shop", "alt", "news", "vpn"))
    if rng.random() < 0.7:
        forms = [
            f"{first}.{last}{number}+{tag}@gmail.com",
            f"{f}{l_}{number}@googlemail.com",
            f"{f.upper()}.{l_.upper()}{number}@gmail.com",
            f"{f}.{l_}.{number}@gmail.com",
            f"{f[0]}.{f[1:]}{l_}{number}@GoogleMail.com",
        ]
    else:
        domain = rng.choice(("outlook.com", "hotmail.com", "protonmail.com", "icloud.com"))
        local = f"{f}{l_[0]}{number}"
        forms = [
            f"{local}@{domain}",
            f"{local.capitalize()}+{tag}@{domain}",
            f"{local.upper()}@{domain.upper()}",
            f"{local}+{tag}@{domain.capitalize()}",
        ]
    rng.shuffle(forms)
    return forms


def _handle_forms(handle: str) -> list[str]:
    """Spellings of one handle that the username normaliser folds together, all different."""
    lower, upper = handle.lower(), handle.upper()
    forms = [f"@{handle}", lower, upper, f"@{upper}", lower.capitalize(), handle]
    return list(dict.fromkeys(forms))


def _phone_form(number: phonenumbers.PhoneNumber, region: str, used: list[str]) -> str:
    """The number as an agency in ``region`` would write it, unlike the forms in ``used``."""
    fmt = phonenumbers.PhoneNumberFormat
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    international = phonenumbers.format_number(number, fmt.INTERNATIONAL)
    if phonenumbers.region_code_for_number(number) == region:
        candidates = [
            national,
            re.sub(r"[()]", "", national).strip().replace(" ", "-"),
            international,
            phonenumbers.format_number(number, fmt.E164),
        ]
    else:
        candidates = [
            phonenumbers.format_out_of_country_calling_number(number, region),
            international,
            phonenumbers.format_number(number, fmt.E164),
        ]
    return next((c for c in candidates if c not in used), candidates[0])


def _name_variant(firsts: tuple[str, ...], lasts: tuple[str, ...], j: int) -> tuple[str, str]:
    """The j-th spelling of a name: canonical, both variants, then mixed."""
    pattern = ((0, 0), (1, 1), (0, 1), (1, 0))[j % 4]
    return firsts[pattern[0] % len(firsts)], lasts[pattern[1] % len(lasts)]


def _planted_types(rng: random.Random, *, has_card: bool) -> tuple[RecordType, ...]:
    """A person, a chat, a tip and (if any) a card transaction, plus one or two others."""
    types = [RecordType.PERSON, RecordType.CHAT_MESSAGE, RecordType.TIP]
    extras = [RecordType.ONLINE_IDENTITY, RecordType.PHONE, RecordType.CASE_NOTE, RecordType.ARREST]
    if has_card:
        types.append(RecordType.CARD_TRANSACTION)
        extras.append(RecordType.PAYMENT_CARD)
    types += rng.sample(extras, rng.randint(1, 2))
    return tuple(sorted(types, key=_STAGE.__getitem__))
