"""Near-duplicate images at the node: how a record's PDQ hash is indexed, and how an image query
becomes an exact OpenSearch query.

Indexing
--------
A record holding a PDQ hash (a ``pdq:`` selector) also gets

* ``pdq_c16``: its sixteen 16-bit chunks as keywords, ``"00:9f34"`` ... ``"15:5f46"``;
* ``pdq_l0`` ... ``pdq_l3``: the hash as four 64-bit integers (doc values only).

Querying
--------
One ``terms`` filter on ``pdq_c16`` lists every chunk value within the balanced pigeonhole radii
of every query hash (:func:`cets.core.pdq.query_chunks`: 272 values for one hash at 31 bits,
12,972 at 64). That finds a superset of the records within ``max_distance``; a Painless
``script_score`` then computes each candidate's exact distance with ``Long.bitCount`` over the
four integers, and ``min_score`` drops those farther than ``max_distance``. Nothing is
approximate: a record within the distance always has a chunk within its radius. When the
values would exceed OpenSearch's ``index.max_terms_count`` (65,536; eight dihedral hashes at
a wide distance), every record with a PDQ hash is scored instead (about 250 ms per million).

The score of an image match is ``256 - distance`` (256 for a record holding the image's MD5 or
SHA-1), so hits come nearest first. Other criteria of the same query (text, name, selectors)
still must match, and add their relevance squashed into ``[0, 1)``: it orders records at the
same distance and never overtakes a nearer one.
"""

from __future__ import annotations

from typing import Any, Final

from cets.core import pdq
from cets.core.query import ImageQuery

__all__ = [
    "MAPPING",
    "MAX_TERMS",
    "image_clause",
    "image_filter",
    "index_fields",
    "squashed",
]

MAX_TERMS: Final = 65_536
"""OpenSearch's default ``index.max_terms_count``: the most values one ``terms`` query holds."""
CHUNK_FIELD: Final = "pdq_c16"
WORD_FIELDS: Final = ("pdq_l0", "pdq_l1", "pdq_l2", "pdq_l3")

MAPPING: Final[dict[str, Any]] = {
    CHUNK_FIELD: {"type": "keyword", "doc_values": False},
    **{name: {"type": "long", "index": False} for name in WORD_FIELDS},
}

# The smallest distance of the record's hash to any query hash (params.q: 4 longs per hash).
_NEAREST = (
    "long a0 = doc['pdq_l0'].value; long a1 = doc['pdq_l1'].value;"
    " long a2 = doc['pdq_l2'].value; long a3 = doc['pdq_l3'].value;"
    " int best = 256;"
    " for (int k = 0; k < params.q.size(); k += 4) {"
    " int d = Long.bitCount(a0 ^ params.q[k]) + Long.bitCount(a1 ^ params.q[k + 1])"
    " + Long.bitCount(a2 ^ params.q[k + 2]) + Long.bitCount(a3 ^ params.q[k + 3]);"
    " if (d < best) { best = d; } }"
)
SCORE_SCRIPT: Final = _NEAREST + " return 256 - best;"
FILTER_SCRIPT: Final = (
    "if (doc['pdq_l0'].size() == 0) { return false; } " + _NEAREST + " return best <= params.d;"
)


def index_fields(selectors: list[str]) -> dict[str, Any]:
    """The near-duplicate fields of a record with these selector keys (none without a PDQ).

    A record carries one PDQ hash (a media hash); should it carry several, the first is
    indexed for near-duplicate search (every one is still found exactly, as a selector).
    """
    hashes = sorted(key.removeprefix("pdq:") for key in selectors if key.startswith("pdq:"))
    if not hashes:
        return {}
    words = pdq.to_longs(hashes[0])
    return {CHUNK_FIELD: pdq.chunks(hashes[0]), **dict(zip(WORD_FIELDS, words, strict=True))}


def _candidates(image: ImageQuery) -> dict[str, Any]:
    """A filter holding every record within the distance of a query hash (and a few more)."""
    if pdq.query_term_count(image.max_distance) * len(image.pdq) > MAX_TERMS:
        return {"exists": {"field": CHUNK_FIELD}}  # every record with a PDQ hash
    return {"terms": {CHUNK_FIELD: pdq.query_chunks(image.pdq, image.max_distance)}}


def _params(image: ImageQuery) -> dict[str, Any]:
    return {"q": [word for value in image.pdq for word in pdq.to_longs(value)]}


def _exact_keys(image: ImageQuery) -> list[str]:
    return sorted(s.key for s in image.exact)


def image_clause(image: ImageQuery) -> dict[str, Any]:
    """The scoring clause: ``256 - distance`` for a PDQ within ``max_distance``, 256 for the
    image's MD5 or SHA-1; the best of the two."""
    alternatives: list[dict[str, Any]] = []
    if image.exact:
        alternatives.append(
            {
                "constant_score": {
                    "filter": {"terms": {"selectors": _exact_keys(image)}},
                    "boost": float(pdq.HASH_BITS),
                }
            }
        )
    if image.pdq:
        alternatives.append(
            {
                "script_score": {
                    "query": {"bool": {"filter": [_candidates(image)]}},
                    "script": {
                        "lang": "painless",
                        "source": SCORE_SCRIPT,
                        "params": _params(image),
                    },
                    "min_score": float(pdq.HASH_BITS - image.max_distance),
                }
            }
        )
    if len(alternatives) == 1:
        return alternatives[0]
    return {"dis_max": {"queries": alternatives, "tie_breaker": 0.0}}


def image_filter(image: ImageQuery) -> dict[str, Any]:
    """The same records as :func:`image_clause`, as a filter (for counting, unscored)."""
    alternatives: list[dict[str, Any]] = []
    if image.exact:
        alternatives.append({"terms": {"selectors": _exact_keys(image)}})
    if image.pdq:
        script = {
            "lang": "painless",
            "source": FILTER_SCRIPT,
            "params": {**_params(image), "d": image.max_distance},
        }
        alternatives.append(
            {"bool": {"filter": [_candidates(image), {"script": {"script": script}}]}}
        )
    return {"bool": {"should": alternatives, "minimum_should_match": 1}}


def squashed(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    """``clauses`` (all must match) scored ``s / (1 + s)``: below 1, so that added to an image
    match's ``256 - distance`` it orders records at one distance and never reorders distances."""
    return {
        "script_score": {
            "query": {"bool": {"must": clauses}},
            "script": {"lang": "painless", "source": "_score / (1.0 + _score)"},
        }
    }
