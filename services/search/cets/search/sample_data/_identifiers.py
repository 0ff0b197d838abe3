"""Seeds and identifiers: reproducible random generators and the values they draw.

Each agency draws numbers from its own residue class (see :func:`_slot`), so ordinary
records of different agencies never share a phone number, IP address or card by chance.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
import unicodedata
from datetime import datetime
from typing import Final

import phonenumbers

from cets.search.sample_data._agencies import _style
from cets.search.sample_data._wording import _ADJECTIVES, _FILE_HOSTS, _NOUNS

_RESIDUE: Final = 97
_PLANTED_SLOT: Final = 0
_CGNAT_FIRST: Final = 100 << 24 | 64 << 16  # 100.64.0.0/10, the shared address space
_DOC_IPV6: Final = 0x20010DB8 << 96  # 2001:db8::/32, the documentation prefix
_TEST_BINS: Final = ("400000", "411111", "424242", "555555", "510510", "222300")
_TOKEN_CHARS: Final = string.ascii_letters + string.digits


def _seed(*parts: object) -> int:
    """A 64-bit seed derived from ``parts`` (stable across runs, unlike ``hash()``)."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _rng(*parts: object) -> random.Random:
    """A generator seeded from ``parts``; sample data needs reproducibility, not secrecy."""
    return random.Random(_seed(*parts))  # noqa: S311


def _slot(agency_id: str) -> int:
    """The agency's residue class: its random numbers never equal another agency's."""
    return 1 + _seed("slot", agency_id) % (_RESIDUE - 1)


def _in_class(rng: random.Random, low: int, high: int, slot: int) -> int:
    """A random integer in ``[low, high)`` that is ``slot`` modulo the residue."""
    first = low + (slot - low) % _RESIDUE
    return first + _RESIDUE * rng.randrange((high - first + _RESIDUE - 1) // _RESIDUE)


def _phone_number(rng: random.Random, region: str, slot: int) -> phonenumbers.PhoneNumber:
    """A random phone number that is valid in ``region``."""
    style = _style(region)
    country_code = phonenumbers.country_code_for_region(region)
    while True:
        prefix = rng.choice(style.phone_prefixes)
        span = 10 ** (style.phone_digits - len(prefix))
        nsn = _in_class(rng, int(prefix) * span, (int(prefix) + 1) * span, slot)
        number = phonenumbers.PhoneNumber(country_code=country_code, national_number=nsn)
        if phonenumbers.is_valid_number_for_region(number, region):
            return number


def _written_phone(rng: random.Random, number: phonenumbers.PhoneNumber) -> str:
    """The number as people write it at home: mostly national format."""
    roll = rng.random()
    fmt = phonenumbers.PhoneNumberFormat
    if roll < 0.6:
        return phonenumbers.format_number(number, fmt.NATIONAL)
    if roll < 0.8:
        return phonenumbers.format_number(number, fmt.INTERNATIONAL)
    if roll < 0.9:
        return phonenumbers.format_number(number, fmt.E164)
    return re.sub(r"\D", "", phonenumbers.format_number(number, fmt.NATIONAL))


def _ipv4(rng: random.Random, slot: int) -> str:
    """An address in the shared address space, not ending in .0 or .255."""
    while True:
        n = _in_class(rng, _CGNAT_FIRST, _CGNAT_FIRST + (1 << 22), slot)
        if 0 < n & 0xFF < 0xFF:
            return f"{n >> 24}.{n >> 16 & 0xFF}.{n >> 8 & 0xFF}.{n & 0xFF}"


def _ipv6(rng: random.Random) -> str:
    groups = f"{_DOC_IPV6 | rng.getrandbits(96):032x}"
    return ":".join(groups[i : i + 4].lstrip("0") or "0" for i in range(0, 32, 4))


def _luhn_digit(partial: str) -> str:
    """The check digit that makes ``partial`` + digit pass the Luhn test."""
    total = 0
    for position, char in enumerate(reversed(partial)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str(-total % 10)


def _card_number(rng: random.Random, slot: int) -> str:
    """A 16-digit, Luhn-valid number in an issuer's test range."""
    body = rng.choice(_TEST_BINS) + f"{_in_class(rng, 0, 10**9, slot):09d}"
    return body + _luhn_digit(body)


def _written_card(digits: str, style: str) -> str:
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    return {"spaced": " ".join(groups), "dashed": "-".join(groups)}.get(style, digits)


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(_TOKEN_CHARS, k=length))


def _file_url(rng: random.Random) -> str:
    host = rng.choice(_FILE_HOSTS)
    return f"https://{host}/{rng.choice('fds')}/{_token(rng, 10)}"


def _slug(text: str) -> str:
    """Lowercase ASCII letters and digits of ``text``, for e-mail addresses and handles."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in ascii_text.lower() if char.isalnum()) or "user"


def _handle(rng: random.Random, first: str, last: str, number: int) -> str:
    adjective, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
    style = rng.randrange(4)
    if style == 0:
        return f"{adjective}{noun}_{number}"
    if style == 1:
        return f"{adjective.lower()}.{noun.lower()}{number}"
    if style == 2:
        return f"{_slug(first)[0]}{_slug(last)}{number}"
    return f"{noun.lower()}_{adjective.lower()}{number}"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"
