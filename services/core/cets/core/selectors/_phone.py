"""Phone numbers, in E.164."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

import phonenumbers

from cets.core.selectors._model import SelectorError

__all__ = ["E164", "check_region", "normalize_phone"]


E164: Final = phonenumbers.PhoneNumberFormat.E164
_INTERNATIONAL_00: Final = re.compile(r"^[\s(]*00")


def check_region(default_region: str | None) -> str | None:
    """Validate a default phone region ("CA", "GB", ...); ``None`` or "ZZ" mean none."""
    if default_region is None:
        return None
    region = default_region.strip().upper()
    if region == phonenumbers.UNKNOWN_REGION:
        return None
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("unknown default phone region; expected an ISO 3166 code such as 'CA'")
    return region


CACHE_SIZE = 65_536
"""Normalised values remembered (each a few hundred bytes at most)."""


@functools.lru_cache(maxsize=CACHE_SIZE)  # the same identifiers recur across records
def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """Normalise a phone number to E.164, e.g. ``"+14165550123"``.

    A number written without a country code is read as a national number of
    ``default_region``. A leading ``00`` international prefix is understood whether or not a
    region is given. The number must be both possible and valid for its country.

    Raises:
        SelectorError: not a valid phone number.
        ValueError: ``default_region`` is not a known region code.
    """
    region = check_region(default_region)
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise SelectorError("phone number is empty")
    candidates: list[str] = []
    if region is not None:
        candidates.append(text)
    if _INTERNATIONAL_00.match(text):
        # "00" is the international prefix in most of the world; where it is not (for
        # example "011" in North America) the national reading above fails and this applies.
        candidates.append("+" + _INTERNATIONAL_00.sub("", text, count=1))
    elif region is None:
        if not text.lstrip("( ").startswith("+"):
            raise SelectorError("phone number needs a country code (+ or 00) or a default region")
        candidates.append(text)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, E164)
    raise SelectorError("not a valid phone number")
