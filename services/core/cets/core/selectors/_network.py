"""IP addresses, domains and URLs, each in one canonical spelling."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

import idna

from cets.core.selectors._model import SelectorError

__all__ = [
    "domain_of_url",
    "normalize_domain",
    "normalize_ip",
    "normalize_url",
    "parse_url",
    "strip_www",
]


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


_OCTET: Final = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4: Final = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
"""An IPv4 address already in its one spelling (ASCII digits, no leading zeros)."""


def normalize_ip(raw: str) -> str:
    """Normalise an IPv4 or IPv6 address to its compressed form.

    Brackets (``[::1]``) are removed and an IPv4-mapped IPv6 address (``::ffff:1.2.3.4``)
    becomes its IPv4 address. IPv4 octets with leading zeros are rejected, being ambiguous.

    Raises:
        SelectorError: not an IP address, or one with a zone identifier (``fe80::1%eth0``).
    """
    text = raw.strip()
    if _CANONICAL_IPV4.fullmatch(text):
        return text
    return str(_ip(text))


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


def strip_www(host: str) -> str:
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
    return strip_www(_hostname(host))


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


_PRINTABLE_ASCII: Final = re.compile(r"[!-~]*")
"""Printable ASCII without the space: no whitespace or control character in it."""


def parse_url(raw: str) -> _Url:
    text = raw.strip()
    if not text:
        raise SelectorError("URL is empty")
    if len(text) > _MAX_URL_LENGTH:
        raise SelectorError("URL is too long")
    if not _PRINTABLE_ASCII.fullmatch(text) and any(
        char.isspace() or unicodedata.category(char) == "Cc" for char in text
    ):
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
    return str(parse_url(raw))


def domain_of_url(normalized_url: str) -> str:
    """The normalised domain (as :func:`normalize_domain`) of a URL's host.

    Returns ``""`` when the host is an IP address: such a URL has no domain, and callers
    skip it (the address itself is the IP selector).

    Raises:
        SelectorError: not a valid URL.
    """
    url = parse_url(normalized_url)
    return "" if url.is_ip else strip_www(url.host)
