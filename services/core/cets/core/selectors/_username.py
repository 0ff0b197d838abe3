"""Usernames and screen names, case-folded."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from cets.core.selectors._model import SelectorError

__all__ = ["normalize_username"]


_MAX_USERNAME_LENGTH: Final = 64
_USERNAME_PUNCTUATION: Final = frozenset("._-")
_PLAIN_USERNAME: Final = re.compile(r"[a-z0-9._-]+")
"""A case-folded name of ASCII letters, digits and the punctuation allowed (most names)."""


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
    if _PLAIN_USERNAME.fullmatch(text) and len(text) <= _MAX_USERNAME_LENGTH:
        return text  # passes every check below
    if any(char.isspace() for char in text):
        raise SelectorError("username contains whitespace")
    if len(text) > _MAX_USERNAME_LENGTH:
        raise SelectorError(f"username is longer than {_MAX_USERNAME_LENGTH} characters")
    if not all(_username_char_ok(char) for char in text):
        raise SelectorError("username may contain only letters, digits, '.', '_' and '-'")
    return text
