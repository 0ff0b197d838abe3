"""Selectors: normalised identifiers that link records held by different agencies.

Two records are linked when they carry the same selector, so every raw value is reduced to
one canonical spelling before it is indexed as the exact keyword ``"<kind>:<value>"``
(:attr:`Selector.key`).

The functions here are pure: no I/O and no logging. Raw values are sensitive, so no error
message produced by this module contains the value it was given. Errors come in two kinds:

* :class:`SelectorError` (a :class:`ValueError`) -- the *value* cannot be normalised; its
  message is a short reason that is safe to show to the user and to log;
* plain :class:`ValueError` -- the *caller* is misconfigured (missing or short card key,
  unknown default phone region). These are deliberately not :class:`SelectorError`, so
  that code reporting bad input does not mistake a configuration fault for one.
"""

from __future__ import annotations

from cets.core.selectors._card import (
    MIN_CARD_KEY_BYTES,
    card_fingerprint,
    is_card_fingerprint,
    mask_card_numbers,
)
from cets.core.selectors._email import normalize_email
from cets.core.selectors._hashes import normalize_hash
from cets.core.selectors._model import (
    MAX_TEXT_LENGTH,
    CardFingerprint,
    Selector,
    SelectorError,
    SelectorKind,
    parse_kind,
)
from cets.core.selectors._network import (
    domain_of_url,
    normalize_domain,
    normalize_ip,
    normalize_url,
)
from cets.core.selectors._phone import normalize_phone
from cets.core.selectors._text import extract_from_text
from cets.core.selectors._username import normalize_username

__all__ = [
    "MAX_TEXT_LENGTH",
    "MIN_CARD_KEY_BYTES",
    "CardFingerprint",
    "Selector",
    "SelectorError",
    "SelectorKind",
    "card_fingerprint",
    "domain_of_url",
    "extract_from_text",
    "is_card_fingerprint",
    "mask_card_numbers",
    "normalize",
    "normalize_domain",
    "normalize_email",
    "normalize_hash",
    "normalize_ip",
    "normalize_phone",
    "normalize_url",
    "normalize_username",
]


def normalize(
    kind: SelectorKind | str,
    raw: str,
    *,
    default_region: str | None = None,
    card_key: bytes | None = None,
) -> Selector:
    """Normalise ``raw`` as a selector of ``kind`` (an enum member or its string value).

    ``default_region`` applies to phone numbers, ``card_key`` to cards; for a card the
    selector holds the fingerprint (use :func:`card_fingerprint` to get the last four too).

    Raises:
        SelectorError: unknown kind, or a value that cannot be normalised.
        ValueError: a card without ``card_key`` (or with a short one), or an unknown
            ``default_region`` for a phone number.
    """
    selector_kind = parse_kind(kind)
    match selector_kind:
        case SelectorKind.EMAIL:
            value = normalize_email(raw)
        case SelectorKind.PHONE:
            value = normalize_phone(raw, default_region)
        case SelectorKind.USERNAME:
            value = normalize_username(raw)
        case SelectorKind.IP:
            value = normalize_ip(raw)
        case SelectorKind.URL:
            value = normalize_url(raw)
        case SelectorKind.DOMAIN:
            value = normalize_domain(raw)
        case SelectorKind.CARD:
            if card_key is None:
                raise ValueError("a card selector needs a card fingerprint key")
            value = card_fingerprint(raw, card_key).fingerprint
        case SelectorKind.MD5 | SelectorKind.SHA1 | SelectorKind.PDQ:
            value = normalize_hash(selector_kind, raw)
    return Selector(selector_kind, value)
