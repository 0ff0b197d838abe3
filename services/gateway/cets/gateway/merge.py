"""Merging every partner agency's ranked answer into one list.

Each agency ranks its own records, with its own index's term statistics: every node searches
the same mapping with the same analysers, so scores of different agencies are roughly on one
scale, but only roughly (an agency holding few records of a kind scores their words as rarer),
and a node that is misconfigured, or lies, can send any scores at all. So hits are compared on
a *fused* score that every agency's list is put on the same footing for:

* :attr:`Method.RRF` -- reciprocal rank fusion: ``1 / (k + rank)``, with ``rank`` the 1-based
  position in the agency's list. Only positions matter, so an agency scoring around 100 and
  one scoring around 0.5 interleave evenly.
* :attr:`Method.MINMAX` -- each agency's scores rescaled to ``[0, 1]`` by its own minimum and
  maximum (an agency's only hit, or hits that all score the same, get 1.0).
* :attr:`Method.BOUNDED` -- each agency's own scores, trusted up to a bound: an agency whose
  best score (its first hit's) is more than :data:`DEFAULT_TRUST_RATIO` times the median of
  the other agencies' best is rescaled so that its best *is* that median
  (:func:`bounded_scores`). Keeping the scores keeps what ranks and rescaling each list on its
  own throw away -- which agency holds the better matches -- and came closest to one central
  index over every agency's records in ``bench/ranking_bench.py``; the bound keeps a node
  whose scores are out of scale from taking over the list. The gateway merges this way.

Order
-----
A hit's *own key* is: image matches by their ``distance`` (the Hamming distance of the record's
PDQ hash to the image asked for: 0 to 256, computed the same way at every agency, so it is
exactly comparable across agencies, unlike scores), nearest first, ahead of every hit without
one; then exact selector matches (``matched_selectors`` non-empty), then fused score
descending, then the agency's rank, the agency id and the record id, so that no two hits tie
and the same input always gives the same order, whatever order the mapping lists the agencies
in. Text relevance therefore only orders image matches at the same distance (a node answering
an image query with text returns only records matching both, nearest first, text relevance
breaking ties); a hit without a distance in an image search (an agency whose node predates
image queries) comes after all that have one.

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
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cets.v1 import search_pb2

__all__ = ["DEFAULT_K", "DEFAULT_TRUST_RATIO", "MergedHit", "Method", "bounded_scores", "merge"]

DEFAULT_K = 60
"""The usual reciprocal-rank-fusion constant: damps the lead of the very first ranks."""

DEFAULT_TRUST_RATIO = 10.0
"""How many times the median of the other agencies' best scores an agency's best may be and
still be taken at face value (:attr:`Method.BOUNDED`). Honest partners differ by up to about
8 times for real: on a name query, the agency holding the name as spelled against agencies
that only hold names sounding alike (``bench/ranking_bench.py``); an order of magnitude
leaves room for that, and none for a node multiplying its scores by 100 or 1000."""


class Method(StrEnum):
    """How hits from different agencies are put on one scale."""

    RRF = "rrf"
    """Reciprocal rank fusion: ``1 / (k + rank)``."""
    MINMAX = "minmax"
    """Each agency's scores rescaled to ``[0, 1]`` by its own minimum and maximum."""
    BOUNDED = "bounded"
    """Each agency's own scores, brought down to the others' level when far above it
    (:func:`bounded_scores`)."""


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
    trust_ratio: float = DEFAULT_TRUST_RATIO,
) -> list[MergedHit]:
    """Merge each agency's ranked hits into one list (see the module docstring for the order).

    Args:
        lists: each agency's hits, best first, keyed by agency id. The key is what the hit is
            attributed to; a hit's own ``agency`` field is not consulted.
        method: how scores of different agencies are made comparable.
        k: the reciprocal-rank-fusion constant (used by :attr:`Method.RRF` only).
        trust_ratio: the bound of :func:`bounded_scores` (used by :attr:`Method.BOUNDED`
            only).

    Returns:
        The merged hits, best first. A record an agency listed more than once appears once,
        where the agency first listed it; later copies are dropped but keep their positions,
        so ``agency_rank`` is always the position in the list as sent.

    Raises:
        ValueError: ``k`` is negative, ``trust_ratio`` is below 1, or ``method`` is unknown.
    """
    method = Method(method)
    if k < 0:
        raise ValueError("k must not be negative")
    if not trust_ratio >= 1.0:  # also refuses NaN
        raise ValueError("trust_ratio must be at least 1")
    kept = {agency: _first_copies(hits) for agency, hits in lists.items()}
    if method is Method.BOUNDED:
        fused = bounded_scores(
            {agency: [hit.score for _, hit in hits] for agency, hits in kept.items()},
            trust_ratio=trust_ratio,
        )
    elif method is Method.RRF:
        fused = {
            agency: [1.0 / (k + position) for position, _ in hits] for agency, hits in kept.items()
        }
    else:
        fused = {agency: _min_max([hit.score for _, hit in hits]) for agency, hits in kept.items()}
    placed: list[tuple[_OwnKey, int, MergedHit]] = []
    for agency, hits in kept.items():
        worst: _OwnKey | None = None
        for (position, hit), score in zip(hits, fused[agency], strict=True):
            merged = MergedHit(
                agency=agency,
                record_id=hit.record_id,
                agency_rank=position,
                fused=score,
                exact=len(hit.matched_selectors) > 0,
                hit=hit,
            )
            key = _own_key(merged)
            worst = key if worst is None or key > worst else worst
            placed.append((worst, merged.agency_rank, merged))
    # Placement keys of different agencies never tie (they hold the agency id); within one
    # agency, equal placement keys are ordered by rank.
    placed.sort(key=lambda item: (item[0], item[1]))
    return [merged for _, _, merged in placed]


def _first_copies(hits: Sequence[search_pb2.Hit]) -> list[tuple[int, search_pb2.Hit]]:
    """One agency's hits in its own order with their 1-based positions, first copy of each
    record only."""
    seen: set[str] = set()
    kept: list[tuple[int, search_pb2.Hit]] = []
    for position, hit in enumerate(hits, start=1):
        if hit.record_id in seen:
            continue
        seen.add(hit.record_id)
        kept.append((position, hit))
    return kept


def bounded_scores(
    scores: Mapping[str, Sequence[float]], *, trust_ratio: float = DEFAULT_TRUST_RATIO
) -> dict[str, list[float]]:
    """Each agency's scores, trusted as long as they stay near the other agencies' scale.

    An agency's *best* is the score of the first hit in its list; its *reference* is the
    median of the other agencies' bests (agencies with no hits do not count). When its best
    is at most ``trust_ratio`` times its reference, or no other agency has a hit, its scores
    are kept as they are. Otherwise its scale is not believed: every score is multiplied by
    ``reference / best``, so that its best equals the reference and its list keeps its own
    shape -- it then competes like a typical partner whose best matches are as good as the
    others' best.

    Why a hostile node cannot take over: a node whose scores are out of scale (multiplied by
    1000, or a made-up 1000 for every hit) has a best far above the bound, so it is brought
    down to the others' level; moving the bound means moving the median, which takes half of
    the other agencies (with two agencies, each bounds the other). A list that scores every
    hit the same from such a node ends up level with that median, each hit behind the one
    its agency ranked above it, instead of ahead of everything. What the bound cannot stop is
    a node inflating its scores by less than ``trust_ratio``: it gains up to that factor, as
    a partner with truly better matches does.

    Only the first hits are consulted, besides each hit's own score, and every fetch of a
    list holds its first hit: so a hit's fused score, like its place, depends only on its
    agency's list up to that hit and the other agencies' first hits, as paging needs
    (:mod:`cets.gateway.pagination`).

    Scores are taken as relevance scores are: zero or more. A negative or NaN score (which a
    well-behaved node never sends) counts as 0, ``+inf`` as the largest finite float.

    Args:
        scores: each agency's scores, in the order of its list.
        trust_ratio: the bound, at least 1; ``math.inf`` keeps every agency's scores.

    Returns:
        The fused scores, agency by agency and in the same order.

    Raises:
        ValueError: ``trust_ratio`` is below 1 (or NaN).
    """
    if not trust_ratio >= 1.0:
        raise ValueError("trust_ratio must be at least 1")
    clean = {
        agency: [_relevance(s) for s in agency_scores] for agency, agency_scores in scores.items()
    }
    bests = {agency: values[0] for agency, values in clean.items() if values}
    fused: dict[str, list[float]] = {}
    for agency, values in clean.items():
        others = [best for other, best in bests.items() if other != agency]
        if not values or not others:
            fused[agency] = values
            continue
        reference = statistics.median(others)
        best = values[0]
        if best <= trust_ratio * reference:
            fused[agency] = values
        else:  # best > 0 here; the factor is below 1 / trust_ratio, so nothing overflows
            factor = reference / best
            # value / best * reference for a hit scored at most the best: the best itself
            # becomes exactly the reference, and none goes above it even where the factor,
            # tiny, has lost precision (a reference near the smallest floats)
            fused[agency] = [
                value / best * reference if value <= best else value * factor for value in values
            ]
    return fused


def _relevance(score: float) -> float:
    """A score as a relevance score: 0 for a negative or NaN one, finite."""
    if math.isnan(score) or score <= 0.0:
        return 0.0
    return min(score, sys.float_info.max)


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
