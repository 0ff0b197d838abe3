"""Person names: accent- and case-insensitive folding and phonetic keys.

Names are matched loosely: :func:`fold` makes "JOSÉ  García" and "jose garcia" equal, and
:func:`phonetic_keys` makes "Jon Smyth" and "John Smith" equal. Pure functions, no I/O.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

import jellyfish

__all__ = ["fold", "name_tokens", "phonetic_keys"]

# Letters that Unicode decomposition leaves alone but that readers treat as (mostly) Latin
# letters without a diacritic. Applied after case folding, so only lowercase forms are needed
# ("ß" is already "ss" by then).
_LETTER_MAP: Final = str.maketrans(
    {
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "\u0131": "i",  # dotless i
    }
)

# Typographic apostrophes and look-alikes, all read as "'" (as in O'Brien).
_APOSTROPHES: Final = str.maketrans(dict.fromkeys("\u2018\u2019\u02bc\u02bb`\u00b4\u2032", "'"))

_MIN_PHONETIC_TOKEN: Final = 2
_ASCII_SEPARATORS: Final = re.compile(r"[^a-z0-9']")
"""What separates words in a lowercase ASCII name: all but letters, digits and "'"."""


def _keep(char: str) -> bool:
    # Letters and digits of any script, the marks some scripts need, and the apostrophe.
    return char.isalnum() or char == "'" or unicodedata.category(char).startswith("M")


def fold(name: str) -> str:
    """Fold a name for loose comparison.

    Case-folded, diacritics removed (NFKD, combining marks dropped) and a few letters
    decomposition misses mapped (ß→ss, æ→ae, œ→oe, ø→o, ł→l, đ/ð→d, þ→th, dotless i→i). Letters,
    digits and apostrophes are kept; hyphens and all other characters separate words;
    whitespace is collapsed and apostrophes at the edges of a word dropped.

    >>> fold("JOSÉ  García")
    'jose garcia'
    """
    if name.isascii():
        # The steps below, for ASCII (most names): only "`" is an apostrophe look-alike,
        # decomposition changes nothing, case folding is lowercasing, no letter is mapped.
        text = _ASCII_SEPARATORS.sub(" ", name.replace("`", "'").lower())
    else:
        text = _folded_words(name)
    words = (word.strip("'") for word in text.split())
    return " ".join(word for word in words if word)


def _folded_words(name: str) -> str:
    """:func:`fold` before its words are trimmed: any text."""
    text = unicodedata.normalize("NFKD", name.translate(_APOSTROPHES))
    # Case folding can produce new apostrophe look-alikes (U+0149 becomes U+02BC U+006E).
    text = unicodedata.normalize("NFKD", text.casefold()).translate(_APOSTROPHES)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.translate(_LETTER_MAP)
    return "".join(char if _keep(char) else " " for char in text)


def name_tokens(name: str) -> list[str]:
    """The words of the folded name, in order."""
    return fold(name).split()


def phonetic_keys(name: str) -> list[str]:
    """Metaphone keys of the name's words, for sound-alike matching.

    One key per folded word of at least two characters (apostrophes ignored), uppercase,
    without duplicates, in the order of the words. Words metaphone cannot encode (digits,
    non-Latin scripts) give no key. Only metaphone is used, which keeps the keys few and
    predictable: "John Smith" and "Jon Smyth" both give ``["JN", "SM0"]``.
    """
    return list(_phonetic_keys(name))


@functools.lru_cache(maxsize=32_768)  # names recur across records: the same people, the same words
def _phonetic_keys(name: str) -> tuple[str, ...]:
    keys: dict[str, None] = {}
    for token in name_tokens(name):
        word = token.replace("'", "")
        if len(word) < _MIN_PHONETIC_TOKEN:
            continue
        key: str = jellyfish.metaphone(word)
        key = key.upper()
        if key:
            keys.setdefault(key)
    return tuple(keys)
