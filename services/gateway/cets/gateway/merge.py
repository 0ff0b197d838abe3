"""Merging every partner agency's ranked answer into one list.

Each agency ranks its own records; its scores mean nothing next to another agency's (different
index sizes, analysers, boosts). So hits are compared on a *fused* score that every agency's
list is put on the same footing for:

* :attr:`Method.RRF` -- reciprocal rank fusion: ``1 / (k + rank)``, with ``rank`` the 1-based
  position in the agency's list. Only positions matter, so an agency scoring around 100 and
  one scoring around 0.5 interleave evenly.
* :attr:`Method.MINMAX` -- each agency's scores rescaled to ``[0, 1]`` by its own minimum and
  maximum (an agency's only hit, or hits that all score the same, get 1.0).

Order
-----
A hit's *own key* is: image matches by their ``distance`` (the Hamming distance of the record's
PDQ hash to the image asked for: 0 to 256, computed the same way at every agency, so it *is*
comparable across agencies, unlike scores), nearest first, ahead of every hit without one; then
exact selector matches (``matched_selectors`` non-empty), then fused score descending, then the
agency's rank, the agency id and the record id, so that no two hits tie and the same input
always gives the same order, whatever order the mapping lists the agencies in. Text relevance
therefore only orders image matches at the same distance (a node answering an image query with
text returns only records matching both, nearest first, text relevance breaking ties); a hit
without a distance in an image search (an agency whose node predates image queries) comes
after all that have one.

One more rule: **a hit never overtakes a hit its own agency ranked above it.** Each hit is
placed by the worst own key among itself and the hits its agency ranked above it (its
*placement key*); within an agency, rank decides. This is exactly the order a k-way merge of
the agencies' lists produces (repeatedly take the best of each agency's next hit). It changes
nothing when an agency's list is already in own-key order -- always so for RRF when every hit
of an agency is an exact match or none is, which is how a node answers: when a query names
selectors, every hit a node returns holds one. What it buys is that a hit's place depends
only on the agency's list *up to that hit*, never on hits fetched after it, so that
:mod:`cets.gateway.pagination` can page through the merged list with a few counters.

The module is pure: no I/O, no logging.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cets.v1 import search_pb2

__all__ = ["DEFAULT_K", "MergedHit", "Method", "merge"]

DEFAULT_K = 60
"""The usual reciprocal-rank-fusion constant: damps the lead of the very first ranks."""


class Method(StrEnum):
    """How hits from different agencies are put on one scale."""

    RRF = "rrf"
    """Reciprocal rank fusion: ``1 / (k + rank)``."""
    MINMAX = "minmax"
    """Each agency's scores rescaled to ``[0, 1]`` by its own minimum and maximum."""


@dataclass(frozen=True)
class MergedHit:
    """One hit in the merged list."""

    agency: str
    """The agency whose answer held the hit (the key it was listed under)."""
    record_id: str
    agency_rank: int
    """1-based position in that agency's list as the agency sent it."""
    fused: float
    """The score hits of different agencies are compared on (see :class:`Method`)."""
    exact: bool
    """The record holds one of the query's selectors."""
    hit: search_pb2.Hit

    @property
    def distance(self) -> int | None:
        """With an image query: the record's PDQ distance to the image (0 to 256)."""
        return self.hit.distance if self.hit.HasField("distance") else None


_NO_DISTANCE = 257
_OwnKey = tuple[int, int, float, int, str, str]


def _own_key(hit: MergedHit) -> _OwnKey:
    """Smaller is better: nearest image first, then exact, then fused descending, then the
    tie-breakers."""
    distance = hit.distance
    return (
        _NO_DISTANCE if distance is None else distance,
        0 if hit.exact else 1,
        -hit.fused,
        hit.agency_rank,
        hit.agency,
        hit.record_id,
    )


def merge(
    lists: Mapping[str, Sequence[search_pb2.Hit]],
    *,
    method: Method = Method.RRF,
    k: int = DEFAULT_K,
) -> list[MergedHit]:
    """Merge each agency's ranked hits into one list (see the module docstring for the order).

    Args:
        lists: each agency's hits, best first, keyed by agency id. The key is what the hit is
            attributed to; a hit's own ``agency`` field is not consulted.
        method: how scores of different agencies are made comparable.
        k: the reciprocal-rank-fusion constant (ignored by :attr:`Method.MINMAX`).

    Returns:
        The merged hits, best first. A record an agency listed more than once appears once,
        where the agency first listed it; later copies are dropped but keep their positions,
        so ``agency_rank`` is always the position in the list as sent.

    Raises:
        ValueError: ``k`` is negative or ``method`` is unknown.
    """
    method = Method(method)
    if k < 0:
        raise ValueError("k must not be negative")
    placed: list[tuple[_OwnKey, int, MergedHit]] = []
    for agency, hits in lists.items():
        worst: _OwnKey | None = None
        for merged in _agency_hits(agency, hits, method, k):
            key = _own_key(merged)
            worst = key if worst is None or key > worst else worst
            placed.append((worst, merged.agency_rank, merged))
    # Placement keys of different agencies never tie (they hold the agency id); within one
    # agency, equal placement keys are ordered by rank.
    placed.sort(key=lambda item: (item[0], item[1]))
    return [merged for _, _, merged in placed]


def _agency_hits(
    agency: str, hits: Sequence[search_pb2.Hit], method: Method, k: int
) -> list[MergedHit]:
    """One agency's hits in its own order, first copy of each record only, with fused scores."""
    seen: set[str] = set()
    kept: list[tuple[int, search_pb2.Hit]] = []
    for position, hit in enumerate(hits, start=1):
        if hit.record_id in seen:
            continue
        seen.add(hit.record_id)
        kept.append((position, hit))
    if method is Method.RRF:
        fused = [1.0 / (k + position) for position, _ in kept]
    else:
        fused = _min_max([hit.score for _, hit in kept])
    return [
        MergedHit(
            agency=agency,
            record_id=hit.record_id,
            agency_rank=position,
            fused=score,
            exact=len(hit.matched_selectors) > 0,
            hit=hit,
        )
        for (position, hit), score in zip(kept, fused, strict=True)
    ]


def _min_max(scores: Sequence[float]) -> list[float]:
    """Scores rescaled to ``[0, 1]``; all equal (or a single one) gives 1.0 each.

    A non-finite score (which a well-behaved node never sends) counts as the top for ``+inf``
    and the bottom otherwise, and does not stretch the scale of the others.
    """
    finite = [s for s in scores if math.isfinite(s)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    # Halved, so that the spread of two huge scores of opposite sign cannot overflow.
    half_spread = high / 2 - low / 2
    result: list[float] = []
    for score in scores:
        if not math.isfinite(score):
            result.append(1.0 if score == math.inf else 0.0)
        elif half_spread <= 0.0:
            result.append(1.0)
        else:
            result.append(min(1.0, max(0.0, (score / 2 - low / 2) / half_spread)))
    return result
