"""The selector type, its kinds and its error."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "MAX_TEXT_LENGTH",
    "CardFingerprint",
    "Selector",
    "SelectorError",
    "SelectorKind",
    "parse_kind",
]


MAX_TEXT_LENGTH: Final = 100_000
"""Only this many leading characters of a text are scanned for selectors."""


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
            object.__setattr__(self, "kind", parse_kind(self.kind))

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
        return cls(parse_kind(kind), value)


@dataclass(frozen=True, slots=True)
class CardFingerprint:
    """What may be stored about a payment card: a keyed fingerprint and the last four digits."""

    fingerprint: str
    """First 32 hex characters of HMAC-SHA256(key, digits)."""
    last4: str


def parse_kind(kind: SelectorKind | str) -> SelectorKind:
    if isinstance(kind, SelectorKind):
        return kind
    try:
        return SelectorKind(str(kind).strip().lower())
    except ValueError:
        allowed = ", ".join(k.value for k in SelectorKind)
        raise SelectorError(f"unknown selector kind; expected one of: {allowed}") from None
