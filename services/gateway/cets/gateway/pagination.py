"""Paging through a merged federated answer without keeping anything on the server.

The state of a reader is one counter per agency: how far down that agency's list the pages
shown so far reached (``shown[agency]``; an agency the state does not name is at 0). For the
next page the gateway asks each agency again, for its first :func:`wanted` hits, merges the
answers (:func:`cets.gateway.merge.merge`) and calls :func:`page`. The state travels to the
client and back as an opaque cursor, signed with a key of the gateway and bound to the query
(:func:`encode_cursor`, :func:`decode_cursor`, :func:`query_digest`).

Why pages neither repeat nor skip
---------------------------------
Assume each agency's list is stable (asking for more hits returns a longer list that starts
with the shorter one) and lists a record once, and scores are fused by rank (RRF) or by the
gateway's bounded scores (:attr:`~cets.gateway.merge.Method.BOUNDED`: a hit's own score,
bounded by the agencies' first hits, which every fetch holds). Then every hit's place in the
merged order depends only on its agency's list up to that hit (a hit never overtakes one its
agency ranked above it) and on the agencies' first hits, so merging prefixes of the lists
gives a subsequence, in the same order, of merging the whole lists -- the *full order*.
Suppose the pages so far are the first ``n`` hits of the full order; restricted to one agency
these are its first ``shown[agency]`` hits, since the full order keeps each agency's own
order. The next ``size`` hits of the full order include at most ``size`` of any agency,
namely its next ones, all within the first ``shown[agency] + size`` of its list, which is
what :func:`wanted` asks for. So after the hits already shown are set aside, the merge of
what was fetched starts with exactly those ``size`` hits, :func:`page` returns them, and the
new counters again describe a prefix of the full order: concatenating the pages gives the
full order, hit for hit.

Without those assumptions (an agency down for one page, min-max scores that move as more of a
list is fetched, a record listed twice) pages may interleave agencies differently from the
merge of the whole lists, but they still never show a hit twice: each page takes, from each
agency, hits strictly beyond its counter and in the agency's own order.

The module is pure: no I/O, no logging.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from cets.common.canonical import canonical_json
from cets.gateway.merge import MergedHit
from cets.v1 import search_pb2

__all__ = [
    "MAX_AGENCIES",
    "MAX_DEPTH",
    "BadCursor",
    "decode_cursor",
    "encode_cursor",
    "page",
    "query_digest",
    "wanted",
]

MAX_DEPTH: Final = 100
"""How far down its list an agency is ever asked for hits."""
MAX_AGENCIES: Final = 1000
"""The most agencies a cursor may name."""
MAX_AGENCY_CHARS: Final = 256
MAX_CURSOR_CHARS: Final = 65536

_VERSION: Final = 1
_TAG_BYTES: Final = 16  # HMAC-SHA256, truncated to 128 bits
_QUERY_TAG_CHARS: Final = 16  # how much of the query digest a cursor names in clear
_MIN_KEY_BYTES: Final = 16
_MAC_CONTEXT: Final = b"cets.gateway.cursor.v1\x00"
_DIGEST_CONTEXT: Final = b"cets.gateway.query.v1\x00"
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]+")


class BadCursor(ValueError):
    """A cursor that cannot be used. ``str(error)`` is a short reason, safe to show."""


# --------------------------------------------------------------------------------------------
# Pages


def page(
    merged: Sequence[MergedHit], shown: Mapping[str, int], size: int
) -> tuple[list[MergedHit], dict[str, int]]:
    """The next page, and the state after it.

    Args:
        merged: the merge of each agency's first :func:`wanted` hits.
        shown: how far down each agency's list the earlier pages reached (missing: 0).
        size: the page size, at least 1.

    Returns:
        Up to ``size`` hits: in merged order, those beyond their agency's counter. And the new
        counters: for each agency that contributed, the rank of its last hit on this page;
        the others unchanged. A page shorter than ``size`` means there is nothing more to
        show, as far as the agencies answered.
    """
    if size < 1:
        raise ValueError("page size must be at least 1")
    _check_counters(shown)
    taken: list[MergedHit] = []
    after = dict(shown)
    for hit in merged:
        if len(taken) == size:
            break
        if hit.agency_rank <= shown.get(hit.agency, 0):
            continue
        taken.append(hit)
        after[hit.agency] = max(after.get(hit.agency, 0), hit.agency_rank)
    return taken, dict(sorted(after.items()))


def wanted(
    shown: Mapping[str, int],
    size: int,
    cap: int = MAX_DEPTH,
    *,
    agencies: Iterable[str] = (),
) -> dict[str, int]:
    """How many hits to ask each agency for, to compute the next page of ``size``.

    ``shown[agency] + size``, at most ``cap``: for every agency ``shown`` names, and for each
    of ``agencies`` (the query's targets), which ``shown`` may not name yet. The gateway
    applies the same ``cap`` on every page, and treats an agency's first ``cap`` hits as
    its whole list.
    """
    if size < 1:
        raise ValueError("page size must be at least 1")
    if cap < 1:
        raise ValueError("cap must be at least 1")
    _check_counters(shown)
    names = set(shown) | set(agencies)
    return {name: min(shown.get(name, 0) + size, cap) for name in sorted(names)}


# --------------------------------------------------------------------------------------------
# Cursors


def query_digest(query: search_pb2.Query, targets: Sequence[str]) -> str:
    """A hex SHA-256 that names one officer query: its criteria and the agencies it asks.

    ``limit`` is left out: the gateway changes it from page to page. Targets count as a set.
    """
    criteria = search_pb2.Query()
    criteria.CopyFrom(query)
    criteria.ClearField("limit")
    digest = hashlib.sha256(_DIGEST_CONTEXT)
    serialized = criteria.SerializeToString(deterministic=True)
    digest.update(len(serialized).to_bytes(8, "big"))
    digest.update(serialized)
    digest.update(canonical_json(sorted(set(targets))))
    return digest.hexdigest()


def encode_cursor(
    shown: Mapping[str, int], *, query_digest: str, key: bytes, max_depth: int = MAX_DEPTH
) -> str:
    """An opaque, URL-safe cursor for ``shown``, usable only with the same query and key.

    The cursor is base64url (unpadded) of the canonical JSON of the counters and the start of
    the query digest, followed by a truncated HMAC-SHA256 over both and the whole digest.
    Counters at 0 are left out. The cursor is signed, not encrypted: it reveals the agency
    ids and counters it holds.

    Raises:
        ValueError: the key is too short, or a counter is not a whole number from 0 to
            ``max_depth`` (the ``cap`` given to :func:`wanted`), or an agency id is empty or
            too long.
    """
    _check_key(key)
    if not _valid_cursor_state(shown, max_depth):
        raise ValueError("cursor value out of range")
    body = canonical_json(
        {
            "q": query_digest[:_QUERY_TAG_CHARS],
            "s": {agency: count for agency, count in shown.items() if count},
            "v": _VERSION,
        }
    )
    raw = body + _tag(key, query_digest, body)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(
    token: str, *, query_digest: str, key: bytes, max_depth: int = MAX_DEPTH
) -> dict[str, int]:
    """The counters of a cursor made by :func:`encode_cursor` for this query and key.

    Raises:
        BadCursor: "malformed cursor", "cursor is not for this query", "cursor has been
            tampered with" or "cursor value out of range".
        ValueError: the key is too short (a configuration fault, not a bad cursor).
    """
    _check_key(key)
    if (
        not isinstance(token, str)
        or not 0 < len(token) <= MAX_CURSOR_CHARS
        or _BASE64URL.fullmatch(token) is None
    ):
        raise BadCursor("malformed cursor")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise BadCursor("malformed cursor") from None
    body, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
    parsed = _parse_body(body)
    if parsed is None:
        raise BadCursor("malformed cursor")
    if not hmac.compare_digest(parsed["q"], query_digest[:_QUERY_TAG_CHARS]):
        raise BadCursor("cursor is not for this query")
    if not hmac.compare_digest(tag, _tag(key, query_digest, body)):
        raise BadCursor("cursor has been tampered with")
    shown: dict[str, int] = parsed["s"]
    if not _valid_cursor_state(shown, max_depth):
        raise BadCursor("cursor value out of range")
    return dict(sorted(shown.items()))


def _parse_body(body: bytes) -> dict[str, Any] | None:
    """The cursor's JSON object if it has the expected shape, else ``None``."""
    if not body:
        return None
    try:
        value = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or set(value) != {"q", "s", "v"}:
        return None
    if value["v"] != _VERSION or type(value["v"]) is not int:
        return None
    if not isinstance(value["q"], str) or not value["q"].isascii():
        return None
    if not isinstance(value["s"], dict):
        return None
    return value


def _tag(key: bytes, digest: str, body: bytes) -> bytes:
    message = _MAC_CONTEXT + digest.encode("utf-8") + b"\x00" + body
    return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"the cursor key must be at least {_MIN_KEY_BYTES} bytes")


def _check_counters(shown: Mapping[str, int]) -> None:
    for count in shown.values():
        if type(count) is not int or count < 0:
            raise ValueError("counters must be whole numbers, at least 0")


def _valid_cursor_state(shown: Mapping[str, Any], max_depth: int) -> bool:
    """At most :data:`MAX_AGENCIES` sane agency ids, each with a count from 0 to max_depth."""
    return len(shown) <= MAX_AGENCIES and all(
        isinstance(agency, str)
        and 0 < len(agency) <= MAX_AGENCY_CHARS
        and type(count) is int
        and 0 <= count <= max_depth
        for agency, count in shown.items()
    )
