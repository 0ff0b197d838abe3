"""The query model: one query on one agency's records, its limits, and what an answer holds.

Pure types, no I/O. A :class:`SearchQuery` holds already-normalised selectors; the gRPC
adapters normalise what the caller typed (:mod:`cets.core.convert`). The node turns a query into
an OpenSearch body (:mod:`cets.search.dsl`).

Criteria combine with AND: free text (BM25 over title, text and names; quotes, ``-`` and ``|``
work as in OpenSearch's ``simple_query_string``), selectors (any of them, exact), a name
(folded, fuzzy, or the same phonetic keys). Filters narrow by type, creation date and handling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cets.core.errors import InvalidQuery
from cets.core.records import Handling, RecordType
from cets.core.selectors import Selector

__all__ = [
    "DEFAULT_LIMIT",
    "HIGHLIGHT_FIELDS",
    "MAX_LIMIT",
    "MAX_NAME",
    "MAX_RECORD_IDS",
    "MAX_RELEASE_ID",
    "MAX_SELECTORS",
    "MAX_TEXT",
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

    def __post_init__(self) -> None:
        validate(self)


def validate(query: SearchQuery) -> None:
    """Raise :class:`InvalidQuery` naming the first rule the query breaks."""
    if not (query.text.strip() or query.selectors or query.name.strip() or query.record_ids):
        raise InvalidQuery("give at least one of: text, selectors, name")
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


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: tuple[SearchHit, ...]
    total: int
    """Matches among the records that may be released as hits."""
    total_is_lower_bound: bool
    took_ms: int
    withheld: int = 0
    """Matches that may only be counted (records the policy releases only as a count)."""
