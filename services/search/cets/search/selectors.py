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

import hashlib
import hmac
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import idna
import phonenumbers
from email_validator import EmailNotValidError, validate_email

__all__ = [
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


class SelectorKind(StrEnum):
    """The kinds of identifier that link records."""

    EMAIL = "email"
    PHONE = "phone"
    USERNAME = "username"
    IP = "ip"
    URL = "url"
    DOMAIN = "domain"
    CARD = "card"
    """Keyed fingerprint of a payment card number (never the number itself)."""
    # Media hashes: hashes of an image or video, never the media itself.
    MD5 = "md5"
    SHA1 = "sha1"
    PDQ = "pdq"


class SelectorError(ValueError):
    """A raw value that cannot be normalised.

    ``str(error)`` is a short reason that is safe to show to the user and to write to logs:
    it never contains the raw value itself.
    """


@dataclass(frozen=True, order=True, slots=True)
class Selector:
    """A normalised identifier of a given kind."""

    kind: SelectorKind
    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.kind, SelectorKind):
            # Accept the plain string spelling of a kind, but always store the enum.
            object.__setattr__(self, "kind", _kind(self.kind))

    @property
    def key(self) -> str:
        """``"<kind>:<value>"``, the form indexed as an exact keyword."""
        return f"{self.kind}:{self.value}"

    @classmethod
    def from_key(cls, key: str) -> Selector:
        """Parse a :attr:`key` back into a selector.

        Only the structure is checked (a known kind, a non-empty value without surrounding
        whitespace); the value is not normalised again, so keys written under earlier
        normalisation rules still parse.

        Raises:
            SelectorError: ``key`` is not of the form ``"<kind>:<value>"``.
        """
        kind, sep, value = key.partition(":")
        if not sep:
            raise SelectorError("selector key must have the form '<kind>:<value>'")
        if not value or value != value.strip():
            raise SelectorError("selector key has an empty or padded value")
        return cls(_kind(kind), value)


@dataclass(frozen=True, slots=True)
class CardFingerprint:
    """What may be stored about a payment card: a keyed fingerprint and the last four digits."""

    fingerprint: str
    """First 32 hex characters of HMAC-SHA256(key, digits)."""
    last4: str


# --------------------------------------------------------------------------------------------
# Kinds


def _kind(kind: SelectorKind | str) -> SelectorKind:
    if isinstance(kind, SelectorKind):
        return kind
    try:
        return SelectorKind(str(kind).strip().lower())
    except ValueError:
        allowed = ", ".join(k.value for k in SelectorKind)
        raise SelectorError(f"unknown selector kind; expected one of: {allowed}") from None


# --------------------------------------------------------------------------------------------
# E-mail


@dataclass(frozen=True, slots=True)
class _MailProvider:
    """How a mail provider spells one mailbox several ways."""

    domain: str
    """Canonical domain of the provider."""
    ignore_dots: bool
    """Dots in the local part are not significant."""
    tag_separator: str
    """Everything from this character on in the local part is a tag ("sub-address")."""


_GMAIL: Final = _MailProvider("gmail.com", ignore_dots=True, tag_separator="+")

# Providers whose addresses have aliases that all reach one mailbox. Only providers with
# documented, unambiguous rules are listed. Yahoo is absent on purpose: its "-" sub-address
# separator is also legal inside ordinary Yahoo names, so stripping it would merge people.
_MAIL_PROVIDERS: Final[dict[str, _MailProvider]] = {
    "gmail.com": _GMAIL,
    "googlemail.com": _GMAIL,
    **{
        domain: _MailProvider(domain, ignore_dots=False, tag_separator="+")
        for domain in (
            "outlook.com",
            "hotmail.com",
            "live.com",
            "icloud.com",
            "me.com",
            "protonmail.com",
            "proton.me",
            "fastmail.com",
        )
    },
}

_MAX_EMAIL_LENGTH: Final = 320


def normalize_email(raw: str) -> str:
    """Normalise an e-mail address.

    The address is NFKC-normalised and its syntax validated; local part and domain are
    lowercased and the domain is IDNA-encoded. For a few large providers (see
    ``_MAIL_PROVIDERS``) aliases of one mailbox are folded together: Gmail ignores dots and a
    ``+tag`` (and ``googlemail.com`` is ``gmail.com``); the others ignore a ``+tag``.

    Raises:
        SelectorError: not a valid e-mail address.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise SelectorError("e-mail address is empty")
    if len(text) > _MAX_EMAIL_LENGTH:
        raise SelectorError("e-mail address is too long")
    try:
        validated = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        # The library's message may quote parts of the address, so it is not passed on.
        raise SelectorError("not a valid e-mail address") from None
    local = unicodedata.normalize("NFKC", validated.local_part.lower())
    domain = validated.ascii_domain.lower()
    provider = _MAIL_PROVIDERS.get(domain)
    if provider is not None:
        domain = provider.domain
        local = local.partition(provider.tag_separator)[0]
        if provider.ignore_dots:
            local = local.replace(".", "")
        if not local:
            raise SelectorError("e-mail address has an empty mailbox name")
    return f"{local}@{domain}"


# --------------------------------------------------------------------------------------------
# Phone

_E164: Final = phonenumbers.PhoneNumberFormat.E164
_INTERNATIONAL_00: Final = re.compile(r"^[\s(]*00")


def _region(default_region: str | None) -> str | None:
    """Validate a default phone region ("CA", "GB", ...); ``None`` or "ZZ" mean none."""
    if default_region is None:
        return None
    region = default_region.strip().upper()
    if region == phonenumbers.UNKNOWN_REGION:
        return None
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("unknown default phone region; expected an ISO 3166 code such as 'CA'")
    return region


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """Normalise a phone number to E.164, e.g. ``"+14165550123"``.

    A number written without a country code is read as a national number of
    ``default_region``. A leading ``00`` international prefix is understood whether or not a
    region is given. The number must be both possible and valid for its country.

    Raises:
        SelectorError: not a valid phone number.
        ValueError: ``default_region`` is not a known region code.
    """
    region = _region(default_region)
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
            return phonenumbers.format_number(number, _E164)
    raise SelectorError("not a valid phone number")


# --------------------------------------------------------------------------------------------
# Username

_MAX_USERNAME_LENGTH: Final = 64
_USERNAME_PUNCTUATION: Final = frozenset("._-")


def _username_char_ok(char: str) -> bool:
    if char in _USERNAME_PUNCTUATION:
        return True
    category = unicodedata.category(char)
    # Letters of any script, the marks some scripts need to spell them, and decimal digits.
    return category[0] in "LM" or category == "Nd"


def normalize_username(raw: str) -> str:
    """Normalise a user name (handle) on some platform.

    NFKC, surrounding whitespace and one leading ``@`` removed, case-folded. Allowed are
    letters and digits of any script plus ``.``, ``_`` and ``-``; at most 64 characters.

    Raises:
        SelectorError: empty, too long, or containing other characters.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if text.startswith("@"):
        text = text[1:]
    text = unicodedata.normalize("NFKC", text.casefold())
    if not text:
        raise SelectorError("username is empty")
    if any(char.isspace() for char in text):
        raise SelectorError("username contains whitespace")
    if len(text) > _MAX_USERNAME_LENGTH:
        raise SelectorError(f"username is longer than {_MAX_USERNAME_LENGTH} characters")
    if not all(_username_char_ok(char) for char in text):
        raise SelectorError("username may contain only letters, digits, '.', '_' and '-'")
    return text


# --------------------------------------------------------------------------------------------
# IP address


def _ip(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if "%" in text:
        raise SelectorError("IP addresses with a zone identifier are not supported")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise SelectorError("not a valid IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def normalize_ip(raw: str) -> str:
    """Normalise an IPv4 or IPv6 address to its compressed form.

    Brackets (``[::1]``) are removed and an IPv4-mapped IPv6 address (``::ffff:1.2.3.4``)
    becomes its IPv4 address. IPv4 octets with leading zeros are rejected, being ambiguous.

    Raises:
        SelectorError: not an IP address, or one with a zone identifier (``fe80::1%eth0``).
    """
    return str(_ip(raw))


# --------------------------------------------------------------------------------------------
# Domain and URL

_MAX_HOST_LENGTH: Final = 253
_LABEL: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def _hostname(raw: str) -> str:
    """Lowercase, IDNA-encode and check a DNS host name; the result is ASCII.

    Underscores are tolerated (they occur in real host names); a name must have at least two
    labels and its last label must not be all digits (so it cannot be a malformed IP).
    """
    host = raw
    if len(host) > 4 * _MAX_HOST_LENGTH:
        raise SelectorError("host name is too long")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise SelectorError("host name is not a valid internationalised name") from None
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise SelectorError("host name is empty")
    if len(host) > _MAX_HOST_LENGTH:
        raise SelectorError("host name is too long")
    labels = host.split(".")
    if len(labels) < 2:
        raise SelectorError("host name must contain a dot")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise SelectorError("host name has an empty or invalid label")
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError):
                raise SelectorError("host name has an invalid IDNA label") from None
    if labels[-1].isdigit():
        raise SelectorError("host name has a numeric top-level domain")
    return host


def _strip_www(host: str) -> str:
    while host.startswith("www.") and "." in host[4:]:
        host = host[4:]
    return host


def normalize_domain(raw: str) -> str:
    """Normalise a domain name.

    Lowercased, trailing dot removed, IDNA-encoded (``bücher.example`` becomes
    ``xn--bcher-kva.example``) and leading ``www.`` labels removed; it must contain a dot.

    Raises:
        SelectorError: not a valid domain name.
    """
    host = raw.strip()
    if not host:
        raise SelectorError("domain is empty")
    return _strip_www(_hostname(host))


_DEFAULT_PORTS: Final[dict[str, int]] = {"http": 80, "https": 443, "ftp": 21}
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# "mailto:", "javascript:", ...: a scheme without "//", as opposed to "host:port".
_OPAQUE_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d*(?:[/?#]|$))")
_MAX_URL_LENGTH: Final = 8192


@dataclass(frozen=True, slots=True)
class _Url:
    scheme: str
    host: str
    """ASCII host name, or an IP address in normalised form (unbracketed)."""
    is_ip: bool
    port: int | None
    path: str
    query: str

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port is None else f":{self.port}"
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{host}{port}{self.path}{query}"


def _parse_url(raw: str) -> _Url:
    text = raw.strip()
    if not text:
        raise SelectorError("URL is empty")
    if len(text) > _MAX_URL_LENGTH:
        raise SelectorError("URL is too long")
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in text):
        raise SelectorError("URL contains whitespace or control characters")

    match = _SCHEME.match(text)
    if match:
        scheme = match.group(1).lower()
        rest = text[match.end() :]
    elif text.startswith("//"):
        scheme, rest = "http", text[2:]
    elif _OPAQUE_SCHEME.match(text):
        raise SelectorError("URL scheme must be http, https or ftp")
    else:
        scheme, rest = "http", text
    if scheme not in _DEFAULT_PORTS:
        raise SelectorError("URL scheme must be http, https or ftp")

    rest = rest.partition("#")[0]
    end = next((i for i, char in enumerate(rest) if char in "/?"), len(rest))
    authority, rest = rest[:end], rest[end:]
    path, _, query = rest.partition("?")

    host_port = authority.rpartition("@")[2]  # user information is dropped
    port_text: str | None = None
    if host_port.startswith("["):
        close = host_port.find("]")
        after = host_port[close + 1 :]
        if close < 0 or (after and not after.startswith(":")):
            raise SelectorError("URL has a malformed bracketed host")
        host_text = host_port[1:close]
        if ":" not in host_text:
            raise SelectorError("URL brackets must enclose an IPv6 address")
        port_text = after[1:] if after else None
    else:
        host_text, sep, port_part = host_port.partition(":")
        if sep:
            if ":" in port_part:
                raise SelectorError("URL has an IPv6 host without brackets")
            port_text = port_part
    if not host_text:
        raise SelectorError("URL has no host")

    port: int | None = None
    if port_text:
        if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
            raise SelectorError("URL has an invalid port")
        port = int(port_text)
        if port == _DEFAULT_PORTS[scheme]:
            port = None

    is_ip = True
    try:
        host = normalize_ip(host_text)
    except SelectorError:
        if host_port.startswith("["):
            raise
        is_ip = False
        host = _hostname(host_text)
    return _Url(scheme, host, is_ip, port, path or "/", query)


def normalize_url(raw: str) -> str:
    """Normalise a URL.

    A missing scheme means ``http``; only ``http``, ``https`` and ``ftp`` are accepted.
    Scheme and host are lowercased, the host IDNA-encoded (an IP host normalised as by
    :func:`normalize_ip`), default ports, user information and the fragment dropped, and an
    empty path becomes ``/``. Path and query are kept exactly as written.

    Raises:
        SelectorError: not a usable URL, or its host is neither a dotted domain nor an IP.
    """
    return str(_parse_url(raw))


def domain_of_url(normalized_url: str) -> str:
    """The normalised domain (as :func:`normalize_domain`) of a URL's host.

    Returns ``""`` when the host is an IP address: such a URL has no domain, and callers
    skip it (the address itself is the IP selector).

    Raises:
        SelectorError: not a valid URL.
    """
    url = _parse_url(normalized_url)
    return "" if url.is_ip else _strip_www(url.host)


# --------------------------------------------------------------------------------------------
# Payment card

_MIN_CARD_KEY_BYTES: Final = 16
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
    if len(key) < _MIN_CARD_KEY_BYTES:
        raise ValueError(f"card fingerprint key must be at least {_MIN_CARD_KEY_BYTES} bytes")
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


def mask_card_numbers(text: str, key: bytes) -> tuple[str, list[CardFingerprint]]:
    """Replace every card number written in free text by ``[card ending NNNN]``.

    A card number here is 13 to 19 digits with a valid Luhn check digit, written without
    separators or in the groups cards print (4-4-4-4, 4-6-5, ...) — so phone numbers, which
    are grouped otherwise, are left alone. Returns the masked text and the fingerprints of the
    numbers found, so that a card mentioned in a note still links — and is never stored.
    """
    found: list[CardFingerprint] = []

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


# --------------------------------------------------------------------------------------------
# Media hashes

_HASH_HEX_LENGTHS: Final[dict[SelectorKind, int]] = {
    SelectorKind.MD5: 32,
    SelectorKind.SHA1: 40,
    SelectorKind.PDQ: 64,
}
_HEX: Final = re.compile(r"[0-9a-f]+")


def normalize_hash(kind: SelectorKind, raw: str) -> str:
    """Normalise a media hash (MD5: 32, SHA-1: 40, PDQ: 64 hex digits) to lowercase hex.

    Raises:
        SelectorError: ``kind`` is not a hash kind, or the value is not that many hex digits.
    """
    hash_kind = _kind(kind)
    length = _HASH_HEX_LENGTHS.get(hash_kind)
    if length is None:
        raise SelectorError("not a media hash kind; expected one of: md5, sha1, pdq")
    text = raw.strip().lower()
    if len(text) != length or not _HEX.fullmatch(text):
        raise SelectorError(f"{hash_kind.value} hash must be {length} hexadecimal digits")
    return text


# --------------------------------------------------------------------------------------------
# Dispatch


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
    selector_kind = _kind(kind)
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


# --------------------------------------------------------------------------------------------
# Free text

MAX_TEXT_LENGTH: Final = 100_000
"""Only this many leading characters of a text are scanned for selectors."""

# Quantifiers are bounded and matches anchored at the start of a run so that scanning stays
# linear in the length of the text.
_EMAIL_IN_TEXT: Final = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}@(?:[\w-]{1,63}\.){1,8}[\w-]{2,63}(?![\w-])"
)
_URL_IN_TEXT: Final = re.compile(r"(?:\bhttps?://|(?<![\w@.-])www\.)[^\s<>\"'`]+", re.IGNORECASE)
_IPV4_IN_TEXT: Final = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
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
    region = _region(default_region)
    text = text[:MAX_TEXT_LENGTH]
    found: set[Selector] = set()

    for match in _EMAIL_IN_TEXT.finditer(text):
        local, _, domain = match.group().partition("@")
        try:
            email = normalize_email(f"{local.lstrip('.')}@{domain}")
        except SelectorError:
            continue
        found.add(Selector(SelectorKind.EMAIL, email))

    for match in _URL_IN_TEXT.finditer(text):
        try:
            url = _parse_url(_trim_url(match.group()))
        except SelectorError:
            continue
        found.add(Selector(SelectorKind.URL, str(url)))
        if not url.is_ip:
            found.add(Selector(SelectorKind.DOMAIN, _strip_www(url.host)))

    for match in _IPV4_IN_TEXT.finditer(text):
        try:
            found.add(Selector(SelectorKind.IP, normalize_ip(match.group())))
        except SelectorError:
            continue

    matcher = phonenumbers.PhoneNumberMatcher(
        text, region or phonenumbers.UNKNOWN_REGION, leniency=phonenumbers.Leniency.VALID
    )
    for phone_match in matcher:
        e164 = phonenumbers.format_number(phone_match.number, _E164)
        try:
            found.add(Selector(SelectorKind.PHONE, normalize_phone(e164)))
        except SelectorError:
            continue
    return found
