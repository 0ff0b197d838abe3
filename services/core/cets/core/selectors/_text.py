"""Selectors found in free text."""

from __future__ import annotations

import functools
import itertools
import re
from typing import Final

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata
from phonenumbers.phonenumbermatcher import _CLOSING_PARENS, _OPENING_PARENS, PhoneNumberMatch
from phonenumbers.phonenumberutil import _MIN_LENGTH_FOR_NSN, _PLUS_CHARS, _VALID_PUNCTUATION

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
_IN_NUMBER: Final = _VALID_PUNCTUATION + _PLUS_CHARS + _OPENING_PARENS + _CLOSING_PARENS
"""What libphonenumber's matcher allows between the digits of a number."""


def _digit_run(digits: int) -> re.Pattern[str]:
    """``digits`` digits apart only by what may stand between the digits of a number."""
    return re.compile(f"\\d(?:[{_IN_NUMBER}]*\\d){{{digits - 1}}}")


_PHONE_IN_TEXT: Final = _digit_run(_MIN_PHONE_DIGITS)
"""Where a phone number may be: :data:`_MIN_PHONE_DIGITS` digits apart only by the
punctuation, plus signs and brackets libphonenumber's matcher allows inside a number. Text
without one holds no valid number, and the matcher (most of the cost of a text) is skipped."""


@functools.cache
def _phone_without_plus(region: str | None) -> re.Pattern[str] | None:
    """Where a number written without a plus sign may be, read with ``region``'s rules; ``None``
    if there is none (with no region, a number needs its plus sign).

    Without a plus sign a number is written either in ``region``'s national format, or after
    its international prefix (``011`` in North America, ``00`` in most of the world). In the
    national format libphonenumber only removes digits (the national prefix) before it checks
    the national number's length against the possible lengths of the regions sharing the
    country code, so the number has at least the fewest of those digits — unless the region
    rewrites national numbers (``national_prefix_transform_rule``: a local number gains its
    area code), which may add digits the text does not have. After the international prefix
    come a country code (a digit or more) and a national number of at least
    ``_MIN_LENGTH_FOR_NSN`` digits before any rewriting. The run asked for is the shorter of
    the two, and never shorter than :data:`_PHONE_IN_TEXT`'s; a unit test checks the bound
    against every region's example numbers.
    """
    if region is None:
        return None
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None:
        return _PHONE_IN_TEXT
    sharing = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ())
    main = PhoneMetadata.metadata_for_region(sharing[0]) if sharing else None
    if any(m is None or m.national_prefix_transform_rule for m in (metadata, main)):
        return _PHONE_IN_TEXT  # a national number "1 ..." is read with the main region's rules
    per_region = [_fewest_digits(PhoneMetadata.metadata_for_region(r)) for r in sharing]
    lengths = [n for n in per_region if n is not None]
    national = min(lengths) if lengths and len(lengths) == len(per_region) else None
    idd = _shortest_digits(metadata.international_prefix)
    if national is None or idd is None:
        return _PHONE_IN_TEXT
    fewest = min(national, idd + 1 + _MIN_LENGTH_FOR_NSN)
    return _digit_run(fewest) if fewest > _MIN_PHONE_DIGITS else _PHONE_IN_TEXT


def _fewest_digits(metadata: PhoneMetadata | None) -> int | None:
    """The shortest possible national number of a region (not local-only), if it says."""
    desc = metadata.general_desc if metadata else None
    return min((n for n in desc.possible_length if n > 0), default=None) if desc else None


def _shortest_digits(pattern: str | None, longest: int = 4) -> int | None:
    """The fewest digits a match of ``pattern`` has (``longest`` if it needs more; ``None``
    for no pattern)."""
    if not pattern:
        return None
    compiled = re.compile(pattern)
    for size in range(longest):
        if any(
            compiled.fullmatch("".join(d)) for d in itertools.product("0123456789", repeat=size)
        ):
            return size
    return longest


def _may_hold_a_phone(text: str, region: str | None) -> bool:
    """Whether ``text`` may hold a phone number libphonenumber's matcher finds (``False``
    only when it cannot)."""
    if any(plus in text for plus in _PLUS_CHARS):
        return _PHONE_IN_TEXT.search(text) is not None
    pattern = _phone_without_plus(region)
    return pattern is not None and pattern.search(text) is not None


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

    if not _may_hold_a_phone(text, region):
        return found
    for phone_match in _Matcher(text, region or phonenumbers.UNKNOWN_REGION):
        e164 = phonenumbers.format_number(phone_match.number, E164)
        try:
            found.add(Selector(SelectorKind.PHONE, normalize_phone(e164)))
        except SelectorError:
            continue
    return found
