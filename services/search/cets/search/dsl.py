"""A query as an OpenSearch body, and OpenSearch's answer as a :class:`SearchResult`.

Pure functions, no I/O: the node's translation of the query model (:mod:`cets.core.query`) into
OpenSearch's query language. Criteria combine with AND: free text (BM25 over title, text and
names; quotes, ``-`` and ``|`` work as in OpenSearch's ``simple_query_string``), selectors (any
of them, exact), a name (folded, fuzzy, or the same phonetic keys), an image (its hashes; see
:mod:`cets.search.images`). Filters narrow by type, creation date and handling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cets.core import pdq
from cets.core.names import phonetic_keys
from cets.core.query import HIGHLIGHT_FIELDS, SearchHit, SearchQuery, SearchResult
from cets.core.records import RecordType
from cets.core.selectors import Selector
from cets.search.images import image_clause, image_filter, squashed

__all__ = ["Scope", "build_body", "parse_response", "partial_reason"]


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
    if query.image is not None:  # nearest first; the other criteria order ties
        must = [image_clause(query.image), *([squashed(must)] if must else [])]
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
        # post_filter drops these from the hits (and their total). They are counted apart, by
        # the selectors asked alone: a record released only as a count must not be narrowed
        # down by type, date, handling or text, or bisecting dates would tell its creation
        # time and trying types its type. A global aggregation ignores the query's clauses.
        body["post_filter"] = {"bool": {"must_not": [scope.count_only]}}
        identifiers: list[dict[str, Any]] = []
        if query.selectors:
            identifiers.append({"terms": {"selectors": sorted({s.key for s in query.selectors})}})
        if query.image is not None:
            identifiers.append(image_filter(query.image))
        counted: dict[str, Any] = {
            "bool": {"filter": [scope.count_only, *(identifiers or [{"match_none": {}}])]}
        }
        if scope.exclude:
            counted["bool"]["must_not"] = [scope.exclude]
        body["aggs"] = {"withheld": {"global": {}, "aggs": {"matched": {"filter": counted}}}}
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
    """Read OpenSearch's answer; ``matched_selectors`` are the query's selectors each hit holds
    (with an image query, also the image's MD5, SHA-1 and PDQ hashes held exactly)."""
    asked = {s.key for s in query.selectors}
    if query.image is not None:
        asked |= {s.key for s in query.image.exact} | {f"pdq:{h}" for h in query.image.pdq}
    hits = []
    for item in raw.get("hits", {}).get("hits", []):
        source = item.get("_source", {})
        keys = source.get("selectors", [])
        distance, nearest = _distance(query, keys)
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
                distance=distance,
                matched_pdq=nearest,
            )
        )
    total = raw.get("hits", {}).get("total", {"value": len(hits), "relation": "eq"})
    return SearchResult(
        hits=tuple(hits),
        total=int(total.get("value", 0)),
        # a search OpenSearch cut short (its own timeout) may have missed matches
        total_is_lower_bound=total.get("relation") == "gte" or bool(raw.get("timed_out")),
        took_ms=int(raw.get("took", 0)),
        withheld=int(
            raw.get("aggregations", {}).get("withheld", {}).get("matched", {}).get("doc_count", 0)
        ),
        partial=partial_reason(raw),
    )


def partial_reason(raw: dict[str, Any]) -> str:
    """Why OpenSearch's answer is incomplete, or "" when it is complete.

    OpenSearch answers 200 with what it found when some shards fail (a data node lost, a
    copy still recovering) or when it stops at the body's ``timeout``; the answer says so in
    ``_shards`` and ``timed_out``. Such an answer is passed on, marked partial, never as
    complete. Only counts are given: OpenSearch's failure reasons can quote the query.
    """
    reasons = []
    shards = raw.get("_shards") or {}
    total, failed = int(shards.get("total") or 0), int(shards.get("failed") or 0)
    if failed:
        reasons.append(f"{failed} of {total} shards failed")
    elif total and int(shards.get("successful") or 0) + int(shards.get("skipped") or 0) < total:
        reasons.append(f"{total - int(shards.get('successful') or 0)} of {total} shards missing")
    if raw.get("timed_out"):
        reasons.append("OpenSearch stopped at its timeout")
    return "; ".join(reasons)


def _distance(query: SearchQuery, keys: list[str]) -> tuple[int | None, int]:
    """A hit's distance to the image asked for, computed again from its own hash (so that it
    never depends on how a score was rounded): 0 for the image's MD5 or SHA-1."""
    image = query.image
    if image is None:
        return None, 0
    if any(s.key in keys for s in image.exact):
        return 0, 0
    stored = [k.removeprefix("pdq:") for k in keys if k.startswith("pdq:")]
    if not stored or not image.pdq:
        return None, 0
    return min(pdq.nearest(value, image.pdq) for value in stored)
