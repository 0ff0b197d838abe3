"""The query model: one query on one agency's records, its limits, and what an answer holds.

Pure types, no I/O. A :class:`SearchQuery` holds already-normalised selectors; the gRPC
adapters normalise what the caller typed (:mod:`cets.core.convert`). The node turns a query into
an OpenSearch body (:mod:`cets.search.dsl`).

Criteria combine with AND: free text (BM25 over title, text and names; quotes, ``-`` and ``|``
work as in OpenSearch's ``simple_query_string``), selectors (any of them, exact), a name
(folded, fuzzy, or the same phonetic keys), an image (:class:`ImageQuery`: its MD5 or SHA-1,
or its PDQ within a Hamming distance). Filters narrow by type, creation date and handling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cets.core.errors import InvalidQuery
from cets.core.pdq import DEFAULT_MAX_DISTANCE, MAX_DISTANCE, MAX_QUERY_HASHES, is_pdq
from cets.core.records import Handling, RecordType
from cets.core.selectors import Selector, SelectorKind

__all__ = [
    "DEFAULT_LIMIT",
    "HIGHLIGHT_FIELDS",
    "MAX_LIMIT",
    "MAX_NAME",
    "MAX_RECORD_IDS",
    "MAX_RELEASE_ID",
    "MAX_SELECTORS",
    "MAX_TEXT",
    "ImageQuery",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "validate",
]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_TEXT = 1_000
MAX_NAME = 200
MAX_SELECTORS = 64
MAX_RECORD_IDS = 50
MAX_RELEASE_ID = 64
HIGHLIGHT_FIELDS = ("title", "text", "names")


@dataclass(frozen=True, slots=True)
class ImageQuery:
    """An image, by its hashes (never the image): records holding the same MD5 or SHA-1, or a
    PDQ within ``max_distance`` bits of one of ``pdq`` (up to eight: an image's dihedral
    variants, to find rotated and mirrored copies too). All values in normal form."""

    pdq: tuple[str, ...] = ()
    max_distance: int = DEFAULT_MAX_DISTANCE
    md5: str = ""
    sha1: str = ""

    def __post_init__(self) -> None:
        if not (self.pdq or self.md5 or self.sha1):
            raise InvalidQuery("image: give at least one of: pdq, md5, sha1")
        if len(self.pdq) > MAX_QUERY_HASHES:
            raise InvalidQuery(f"image.pdq: more than {MAX_QUERY_HASHES} hashes")
        if any(not is_pdq(h) for h in self.pdq):
            raise InvalidQuery("image.pdq: a hash is not 64 lowercase hexadecimal digits")
        if not 0 <= self.max_distance <= MAX_DISTANCE:
            raise InvalidQuery(f"image.max_distance must be between 0 and {MAX_DISTANCE}")

    @property
    def exact(self) -> tuple[Selector, ...]:
        """The selectors an identical file carries: its MD5 and SHA-1."""
        pairs = ((SelectorKind.MD5, self.md5), (SelectorKind.SHA1, self.sha1))
        return tuple(Selector(kind, value) for kind, value in pairs if value)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One query on one agency's records."""

    text: str = ""
    selectors: tuple[Selector, ...] = ()
    name: str = ""
    types: tuple[RecordType, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    handling: tuple[Handling, ...] = ()
    limit: int = DEFAULT_LIMIT
    record_ids: tuple[str, ...] = ()
    release_id: str = ""
    """With ``record_ids``: fetch them under this approved release, not the sharing policy."""
    image: ImageQuery | None = None

    def __post_init__(self) -> None:
        validate(self)


def validate(query: SearchQuery) -> None:
    """Raise :class:`InvalidQuery` naming the first rule the query breaks."""
    if not (
        query.text.strip()
        or query.selectors
        or query.name.strip()
        or query.record_ids
        or query.image
    ):
        raise InvalidQuery("give at least one of: text, selectors, name, image")
    if query.release_id and not query.record_ids:
        raise InvalidQuery("a release id fetches record ids: give the records approved")
    if len(query.release_id) > MAX_RELEASE_ID:
        raise InvalidQuery(f"a release id is longer than {MAX_RELEASE_ID} characters")
    if len(query.record_ids) > MAX_RECORD_IDS:
        raise InvalidQuery(f"more than {MAX_RECORD_IDS} record ids")
    if len(query.text) > MAX_TEXT:
        raise InvalidQuery(f"text is longer than {MAX_TEXT} characters")
    if len(query.name) > MAX_NAME:
        raise InvalidQuery(f"name is longer than {MAX_NAME} characters")
    if len(query.selectors) > MAX_SELECTORS:
        raise InvalidQuery(f"more than {MAX_SELECTORS} selectors")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}")
    for moment in (query.created_from, query.created_to):
        if moment is not None and moment.tzinfo is None:
            raise InvalidQuery("dates must carry a time zone")
    if query.created_from and query.created_to and query.created_from > query.created_to:
        raise InvalidQuery("created_from is after created_to")


@dataclass(frozen=True, slots=True)
class SearchHit:
    record_id: str
    type: RecordType
    score: float
    title: str
    created: str | None
    highlights: dict[str, list[str]]
    matched_selectors: tuple[Selector, ...]
    selectors: tuple[Selector, ...]
    document: dict[str, Any] = field(repr=False)
    """The stored document, to be released only as the sharing policy allows."""
    distance: int | None = None
    """With an image query: the record's PDQ's Hamming distance to the nearest query hash (0
    for a record holding the image's MD5 or SHA-1)."""
    matched_pdq: int = 0
    """With an image query: which of its PDQ hashes was nearest (an index into ``pdq``)."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: tuple[SearchHit, ...]
    total: int
    """Matches among the records that may be released as hits."""
    total_is_lower_bound: bool
    took_ms: int
    withheld: int = 0
    """Matches that may only be counted (records the policy releases only as a count)."""
    partial: str = ""
    """Why OpenSearch's answer is incomplete (shards failed, or it timed out); empty when it
    is complete."""
