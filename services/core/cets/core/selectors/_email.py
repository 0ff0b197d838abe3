"""E-mail addresses: syntax checked, case folded, provider aliases folded together."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from typing import Final

from email_validator import EmailNotValidError, validate_email

from cets.core.selectors._model import SelectorError

__all__ = ["normalize_email"]


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


CACHE_SIZE = 65_536
"""Normalised values remembered (each a few hundred bytes at most)."""


@functools.lru_cache(maxsize=CACHE_SIZE)  # the same identifiers recur across records
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
