"""Queries on one agency's records: validation, the OpenSearch body, and reading the answer.

Pure functions, no I/O. A :class:`SearchQuery` holds already-normalised selectors; the gRPC
adapter normalises what the caller typed (:mod:`cets.search.convert`).

Criteria combine with AND: free text (BM25 over title, text and names; quotes, ``-`` and ``|``
work as in OpenSearch's ``simple_query_string``), selectors (any of them, exact), a name
(folded, fuzzy, or the same phonetic keys). Filters narrow by type, creation date and handling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cets.search.errors import InvalidQuery
from cets.search.names import phonetic_keys
from cets.search.records import Handling, RecordType
from cets.search.selectors import Selector

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Scope",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "build_body",
    "parse_response",
]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_TEXT = 1_000
MAX_NAME = 200
MAX_SELECTORS = 64
MAX_RECORD_IDS = 50
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

    def __post_init__(self) -> None:
        validate(self)


def validate(query: SearchQuery) -> None:
    """Raise :class:`InvalidQuery` naming the first rule the query breaks."""
    if not (query.text.strip() or query.selectors or query.name.strip() or query.record_ids):
        raise InvalidQuery("give at least one of: text, selectors, name")
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
    """Matches that may only be counted (see :class:`Scope`)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What a requester may see, as OpenSearch filters (from the sharing policy).

    ``exclude``: records never to be touched. ``count_only``: records whose matches are counted
    but never returned.
    """

    exclude: dict[str, Any] | None = None
    count_only: dict[str, Any] | None = None


def build_body(
    query: SearchQuery, *, timeout_ms: int | None = None, scope: Scope | None = None
) -> dict[str, Any]:
    """The OpenSearch search body for ``query``, limited to ``scope``."""
    must: list[dict[str, Any]] = []
    if query.text.strip():
        must.append(
            {
                "simple_query_string": {
                    "query": query.text,
                    "fields": ["title^2", "text", "names^2"],
                    "default_operator": "and",
                    "flags": "AND|OR|NOT|PHRASE|PRECEDENCE|WHITESPACE|ESCAPE",
                    "lenient": True,
                }
            }
        )
    if query.selectors:
        keys = sorted({s.key for s in query.selectors})
        must.append({"constant_score": {"filter": {"terms": {"selectors": keys}}, "boost": 10.0}})
    if query.name.strip():
        must.append(_name_clause(query.name))
    if query.record_ids:
        must.append({"terms": {"record_id": sorted(set(query.record_ids))}})
    body: dict[str, Any] = {
        "size": query.limit,
        "track_total_hits": 10_000,
        "query": {"bool": {"must": must, "filter": _filters(query)}},
        "highlight": {
            "encoder": "html",
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
            "fragment_size": 160,
            "number_of_fragments": 3,
            "fields": {name: {} for name in HIGHLIGHT_FIELDS},
        },
    }
    if timeout_ms is not None:
        body["timeout"] = f"{max(timeout_ms, 1)}ms"
    if scope and scope.exclude:
        body["query"]["bool"]["must_not"] = [scope.exclude]
    if scope and scope.count_only:
        # post_filter drops these from the hits (and their total) but not from the aggregation
        body["post_filter"] = {"bool": {"must_not": [scope.count_only]}}
        body["aggs"] = {"withheld": {"filter": scope.count_only}}
    return body


def _name_clause(name: str) -> dict[str, Any]:
    should: list[dict[str, Any]] = [
        {"match_phrase": {"names": {"query": name, "slop": 1, "boost": 3.0}}},
        {"match": {"names": {"query": name, "fuzziness": "AUTO", "operator": "and"}}},
    ]
    keys = phonetic_keys(name)
    if keys:  # every phonetic key of the query among the record's names
        should.append(
            {
                "bool": {
                    "should": [{"term": {"name_phonetic": key}} for key in keys],
                    "minimum_should_match": len(keys),
                }
            }
        )
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _filters(query: SearchQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if query.types:
        filters.append({"terms": {"type": sorted(t.value for t in query.types)}})
    if query.handling:
        filters.append({"terms": {"handling": sorted(h.value for h in query.handling)}})
    if query.created_from or query.created_to:
        bounds = {}
        if query.created_from:
            bounds["gte"] = query.created_from.isoformat()
        if query.created_to:
            bounds["lte"] = query.created_to.isoformat()
        filters.append({"range": {"created": bounds}})
    return filters


def parse_response(query: SearchQuery, raw: dict[str, Any]) -> SearchResult:
    """Read OpenSearch's answer; ``matched_selectors`` are the query's selectors each hit holds."""
    asked = {s.key for s in query.selectors}
    hits = []
    for item in raw.get("hits", {}).get("hits", []):
        source = item.get("_source", {})
        keys = source.get("selectors", [])
        hits.append(
            SearchHit(
                record_id=source.get("record_id", item.get("_id", "")),
                type=RecordType(source["type"]),
                score=float(item.get("_score") or 0.0),
                title=source.get("title", ""),
                created=source.get("created"),
                highlights=dict(item.get("highlight", {})),
                matched_selectors=tuple(Selector.from_key(k) for k in keys if k in asked),
                selectors=tuple(Selector.from_key(k) for k in keys),
                document=source,
            )
        )
    total = raw.get("hits", {}).get("total", {"value": len(hits), "relation": "eq"})
    return SearchResult(
        hits=tuple(hits),
        total=int(total.get("value", 0)),
        # a search OpenSearch cut short (its own timeout) may have missed matches
        total_is_lower_bound=total.get("relation") == "gte" or bool(raw.get("timed_out")),
        took_ms=int(raw.get("took", 0)),
        withheld=int(raw.get("aggregations", {}).get("withheld", {}).get("doc_count", 0)),
    )
