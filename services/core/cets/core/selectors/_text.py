"""Selectors found in free text."""

from __future__ import annotations

import functools
import re
from typing import Final

import phonenumbers
from phonenumbers.phonenumbermatcher import _CLOSING_PARENS, _OPENING_PARENS, PhoneNumberMatch
from phonenumbers.phonenumberutil import _PLUS_CHARS, _VALID_PUNCTUATION

from cets.core.selectors._email import normalize_email
from cets.core.selectors._model import MAX_TEXT_LENGTH, Selector, SelectorError, SelectorKind
from cets.core.selectors._network import normalize_ip, parse_url, strip_www
from cets.core.selectors._phone import E164, check_region, normalize_phone

__all__ = ["extract_from_text"]


# Quantifiers are bounded and matches anchored at the start of a run so that scanning stays
# linear in the length of the text.
_EMAIL_IN_TEXT: Final = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}@(?:[\w-]{1,63}\.){1,8}[\w-]{2,63}(?![\w-])"
)
_URL_IN_TEXT: Final = re.compile(r"(?:\bhttps?://|(?<![\w@.-])www\.)[^\s<>\"'`]+", re.IGNORECASE)
_URL_HINT: Final = re.compile(r"://|www\.", re.IGNORECASE)
"""What every URL :data:`_URL_IN_TEXT` finds contains: text without it is not scanned for
URLs (the full pattern tries its look-behind at every character, the hint does not)."""
_IPV4_IN_TEXT: Final = re.compile(r"\d(?<![\d.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?!\.?\d)")
r"""A dotted quad not inside a longer run of digits and dots, as the plain
``(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)`` finds it (a unit test checks), written to
start with a digit (its look-behind checks the character before that digit) so that the
scanner skips ahead to digits instead of trying the look-behind at every position."""
_MIN_PHONE_DIGITS: Final = 4
"""The fewest digits of a valid phone number's national significant number, in any region
(libphonenumber's metadata; a unit test checks it)."""
_PHONE_IN_TEXT: Final = re.compile(
    "\\d(?:["
    + _VALID_PUNCTUATION
    + _PLUS_CHARS
    + _OPENING_PARENS
    + _CLOSING_PARENS
    + f"]*\\d){{{_MIN_PHONE_DIGITS - 1}}}"
)
"""Where a phone number may be: :data:`_MIN_PHONE_DIGITS` digits apart only by the
punctuation, plus signs and brackets libphonenumber's matcher allows inside a number. Text
without one holds no valid number, and the matcher (most of the cost of a text) is skipped."""
_CANDIDATES_REMEMBERED: Final = 32_768
"""Candidates whose verdict :class:`_Matcher` remembers (each a short string and a number)."""
_URL_TRAILING: Final = ".,;:!?*"
_BRACKETS: Final = {")": "(", "]": "[", "}": "{"}


def _trim_url(candidate: str) -> str:
    """Remove sentence punctuation and unbalanced closing brackets after a URL in text."""
    closers = {closer: candidate.count(closer) for closer in _BRACKETS}
    openers = {closer: candidate.count(opener) for closer, opener in _BRACKETS.items()}
    end = len(candidate)
    while end:
        last = candidate[end - 1]
        if last in closers and closers[last] > openers[last]:
            closers[last] -= 1
        elif last not in _URL_TRAILING:
            break
        end -= 1
    return candidate[:end]


class _Matcher(phonenumbers.PhoneNumberMatcher):
    """libphonenumber's matcher at "valid" leniency, remembering its verdict on each candidate.

    Most of the matcher's cost is parsing and validating candidate strings (validating a
    North American number tries the rules of each region sharing +1), and the same
    candidates recur from record to record: the same numbers, and the same short digit runs
    (amounts, counts, years) that are not numbers. At "valid" leniency the verdict depends on
    nothing but the candidate, the characters just before and after it in the text, and the
    region (libphonenumber's ``_parse_and_verify``), so :func:`_verified` computes it once per
    such tuple on a text made of those characters alone.
    """

    def __init__(self, text: str, region: str) -> None:
        super().__init__(text, region, leniency=phonenumbers.Leniency.VALID)

    def _parse_and_verify(self, candidate: str, offset: int) -> PhoneNumberMatch | None:
        end = offset + len(candidate)
        before, after = self.text[max(offset - 1, 0) : offset], self.text[end : end + 1]
        number = _verified(candidate, before, after, self.preferred_region)
        return None if number is None else PhoneNumberMatch(offset, candidate, number)


@functools.lru_cache(maxsize=_CANDIDATES_REMEMBERED)
def _verified(
    candidate: str, before: str, after: str, region: str
) -> phonenumbers.PhoneNumber | None:
    """The number ``candidate`` is, with ``before`` and ``after`` around it, or ``None``."""
    matcher = phonenumbers.PhoneNumberMatcher(
        before + candidate + after, region, leniency=phonenumbers.Leniency.VALID
    )
    match = matcher._parse_and_verify(candidate, len(before))
    return None if match is None else match.number


def extract_from_text(text: str, *, default_region: str | None = None) -> set[Selector]:
    """Find e-mail addresses, URLs (and their domains), IPv4 addresses and phone numbers.

    URLs are recognised in ``http://``, ``https://`` and ``www.`` forms; phone numbers by
    libphonenumber's matcher at "valid" leniency (national numbers only with
    ``default_region``). Usernames and card numbers are never taken from free text. Only the
    first :data:`MAX_TEXT_LENGTH` characters are scanned; candidates that do not normalise
    are skipped, so any text is accepted.

    Raises:
        ValueError: ``default_region`` is not a known region code.
    """
    region = check_region(default_region)
    text = text[:MAX_TEXT_LENGTH]
    found: set[Selector] = set()

    for match in _EMAIL_IN_TEXT.finditer(text) if "@" in text else ():
        local, _, domain = match.group().partition("@")
        try:
            email = normalize_email(f"{local.lstrip('.')}@{domain}")
        except SelectorError:
            continue
        found.add(Selector(SelectorKind.EMAIL, email))

    for match in _URL_IN_TEXT.finditer(text) if _URL_HINT.search(text) else ():
        try:
            url = parse_url(_trim_url(match.group()))
        except SelectorError:
            continue
        found.add(Selector(SelectorKind.URL, str(url)))
        if not url.is_ip:
            found.add(Selector(SelectorKind.DOMAIN, strip_www(url.host)))

    for match in _IPV4_IN_TEXT.finditer(text):
        try:
            found.add(Selector(SelectorKind.IP, normalize_ip(match.group())))
        except SelectorError:
            continue

    if _PHONE_IN_TEXT.search(text) is None:
        return found
    for phone_match in _Matcher(text, region or phonenumbers.UNKNOWN_REGION):
        e164 = phonenumbers.format_number(phone_match.number, E164)
        try:
            found.add(Selector(SelectorKind.PHONE, normalize_phone(e164)))
        except SelectorError:
            continue
    return found
