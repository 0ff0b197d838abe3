"""Media hashes: hashes of an image or video, never the media itself."""

from __future__ import annotations

import re
from typing import Final

from cets.core.selectors._model import SelectorError, SelectorKind, parse_kind

__all__ = ["normalize_hash"]


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
    hash_kind = parse_kind(kind)
    length = _HASH_HEX_LENGTHS.get(hash_kind)
    if length is None:
        raise SelectorError("not a media hash kind; expected one of: md5, sha1, pdq")
    text = raw.strip().lower()
    if len(text) != length or not _HEX.fullmatch(text):
        raise SelectorError(f"{hash_kind.value} hash must be {length} hexadecimal digits")
    return text
