"""Payment cards: only a keyed fingerprint and the last four digits are ever kept."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import Final

from cets.core.selectors._model import MAX_TEXT_LENGTH, CardFingerprint, SelectorError

__all__ = ["MIN_CARD_KEY_BYTES", "card_fingerprint", "is_card_fingerprint", "mask_card_numbers"]


MIN_CARD_KEY_BYTES: Final = 16
_CARD_SEPARATORS: Final = re.compile(r"[\s-]+")
_FINGERPRINT_HEX_CHARS: Final = 32


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_fingerprint(number: str, key: bytes) -> CardFingerprint:
    """Fingerprint a payment card number with a secret key.

    Spaces and dashes are ignored; 12 to 19 digits with a valid Luhn check digit are
    required. The fingerprint is the first 32 hex characters of HMAC-SHA256(key, digits), so
    equal numbers link across records while the number itself is never stored. No output or
    error message contains the number.

    Raises:
        SelectorError: not a valid card number.
        ValueError: ``key`` is shorter than 16 bytes.
    """
    if len(key) < MIN_CARD_KEY_BYTES:
        raise ValueError(f"card fingerprint key must be at least {MIN_CARD_KEY_BYTES} bytes")
    digits = _CARD_SEPARATORS.sub("", unicodedata.normalize("NFKC", number))
    if not (digits.isascii() and digits.isdigit()):
        raise SelectorError("card number may contain only digits, spaces and dashes")
    if not 12 <= len(digits) <= 19:
        raise SelectorError("card number must have 12 to 19 digits")
    if not _luhn_ok(digits):
        raise SelectorError("card number fails the Luhn check")
    mac = hmac.new(key, digits.encode("ascii"), hashlib.sha256).hexdigest()
    return CardFingerprint(fingerprint=mac[:_FINGERPRINT_HEX_CHARS], last4=digits[-4:])


_CARD_IN_TEXT: Final = re.compile(
    r"(?<![\d-])(?:"
    r"\d{13,19}"  # written without separators
    r"|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?"  # 4-4-4-4 and 4-4-4-4-3
    r"|\d{4}([ -])\d{6}\2\d{4,5}"  # 4-6-5 (American Express), 4-6-4 (Diners)
    r")(?![\d-])"
)
_FINGERPRINT: Final = re.compile(r"[0-9a-f]{32}")
_CARD_DIGITS: Final = re.compile(r"\d(?:[ -]?\d){12}")
"""Thirteen digits, apart at most by single spaces or dashes: every card number
:data:`_CARD_IN_TEXT` finds holds such a run, so text without one has none."""
_SHORTEST_CARD_IN_TEXT: Final = 13
"""The fewest characters :data:`_CARD_IN_TEXT` matches (13 digits): shorter text has none."""


def mask_card_numbers(text: str, key: bytes) -> tuple[str, list[CardFingerprint]]:
    """Replace every card number written in free text by ``[card ending NNNN]``.

    A card number here is 13 to 19 digits with a valid Luhn check digit, written without
    separators or in the groups cards print (4-4-4-4, 4-6-5, ...) — so phone numbers, which
    are grouped otherwise, are left alone. Returns the masked text and the fingerprints of the
    numbers found, so that a card mentioned in a note still links — and is never stored.
    """
    found: list[CardFingerprint] = []
    if len(text) < _SHORTEST_CARD_IN_TEXT or _CARD_DIGITS.search(text, 0, MAX_TEXT_LENGTH) is None:
        return text, found

    def mask(match: re.Match[str]) -> str:
        digits = _CARD_SEPARATORS.sub("", match.group())
        if not _luhn_ok(digits):
            return match.group()
        card = card_fingerprint(digits, key)
        found.append(card)
        return f"[card ending {card.last4}]"

    return _CARD_IN_TEXT.sub(mask, text[:MAX_TEXT_LENGTH]) + text[MAX_TEXT_LENGTH:], found


def is_card_fingerprint(value: str) -> bool:
    """Whether ``value`` is a card fingerprint (32 lowercase hex characters), not a number."""
    return _FINGERPRINT.fullmatch(value) is not None
