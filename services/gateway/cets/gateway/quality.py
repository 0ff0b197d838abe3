"""How close a merged ranking comes to a reference ranking: top-k overlap and nDCG@k.

The reference for a federated search is what *one* index over every agency's records would
rank: the merged list is good when it shows the records that index would show, in about the
same order. Both measures compare a ranking (a sequence of record keys, best first) with
*grades* the reference gives those records.

Grades
------
:func:`positional_grades` is the textbook choice: the reference's hit at 1-based position
``p`` (``p <= k``) gets ``k + 1 - p``, every other record 0.

:func:`tie_aware_grades` is the same, except that records the reference scored *equally*
share the grade of the best position among them, and a record tied with the reference's
``k``-th hit counts as one of its top ``k``, whether or not it was listed. Search engines
break ties arbitrarily (by internal document order), and exact-match queries score every
match the same, so without this a ranking would be rewarded or penalised for the engine's
arbitrary order among equals. Scores are compared with a relative tolerance of
:data:`SCORE_TOLERANCE`.

Measures
--------
:func:`overlap_at_k`: the share of the reference's top ``k`` (its records with a grade above
0) found among the ranking's first ``k``. The denominator is ``min(k, number of records
with a grade above 0)``, so a query with fewer than ``k`` matches can still reach 1.0.

:func:`ndcg_at_k`: discounted cumulative gain of the ranking's first ``k`` (linear gain: the
grade; discount ``log2(position + 1)``), divided by that of the best possible order of the
graded records. 1.0 means the reference's order (up to ties).

The module is pure: no I/O, no logging.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from itertools import pairwise
from typing import TypeVar

__all__ = [
    "SCORE_TOLERANCE",
    "ndcg_at_k",
    "overlap_at_k",
    "positional_grades",
    "tie_aware_grades",
]

K = TypeVar("K", bound=Hashable)

SCORE_TOLERANCE = 1e-6
"""Two scores whose relative difference is at most this are a tie."""


def _tied(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=SCORE_TOLERANCE, abs_tol=0.0)


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError("k must be at least 1")


def positional_grades(reference: Sequence[K], k: int = 10) -> dict[K, int]:
    """The reference's hit at 1-based position ``p <= k`` gets ``k + 1 - p``.

    Args:
        reference: the reference ranking, best first (only the first ``k`` are used).
        k: the cut-off.

    Returns:
        Grades of the reference's first ``k`` records; any other record's grade is 0.
        A record listed twice keeps its first (higher) grade.

    Raises:
        ValueError: ``k`` is below 1.
    """
    _check_k(k)
    grades: dict[K, int] = {}
    for position, key in enumerate(reference[:k], start=1):
        grades.setdefault(key, k + 1 - position)
    return grades


def tie_aware_grades(
    reference: Sequence[tuple[K, float]],
    k: int = 10,
    *,
    others: Mapping[K, float | None] | None = None,
) -> dict[K, int]:
    """Grades from a scored reference ranking, with ties sharing a grade.

    A record scored ``s`` by the reference gets ``k - n``, with ``n`` the number of the
    reference's first ``k`` hits that scored higher than ``s`` -- provided ``s`` reaches the
    ``k``-th hit's score (or the reference has fewer than ``k`` hits: then every match
    qualifies). Without ties this is exactly :func:`positional_grades`.

    Args:
        reference: the reference ranking as ``(key, score)``, best first; at least its first
            ``k`` hits, or all of them when it has fewer. Hits past the ``k``-th are graded
            too (above 0 only when tied with the ``k``-th).
        k: the cut-off.
        others: the reference's scores for records it may not have listed among its first
            ``k`` (e.g. every record of the ranking being judged); ``None`` means the
            reference does not match the record at all (grade 0).

    Returns:
        A grade for every record of ``reference`` and of ``others``; 0 for records that are
        not among the reference's top ``k``, ties included.

    Raises:
        ValueError: ``k`` is below 1, or ``reference`` is not in descending score order.
    """
    _check_k(k)
    top = list(reference[:k])
    scores = [score for _, score in top]
    listed = [score for _, score in reference]
    if any(b > a and not _tied(a, b) for a, b in pairwise(listed)):
        raise ValueError("the reference must be in descending score order")
    cutoff = scores[-1] if len(scores) == k else None

    def grade(score: float | None) -> int:
        if score is None:
            return 0
        if cutoff is not None and score < cutoff and not _tied(score, cutoff):
            return 0
        above = sum(1 for s in scores if s > score and not _tied(s, score))
        return k - above

    grades: dict[K, int] = {}
    for key, score in reference:
        grades.setdefault(key, grade(score))
    for key, maybe in (others or {}).items():
        if key not in grades:
            grades[key] = grade(maybe)
    return grades


def overlap_at_k(ranking: Sequence[K], grades: Mapping[K, float], k: int = 10) -> float:
    """Share of the reference's top ``k`` among the ranking's first ``k``.

    Args:
        ranking: the ranking judged, best first.
        grades: the reference's grades; a record counts when its grade is above 0.
        k: the cut-off.

    Returns:
        ``|ranking[:k] ∩ relevant| / min(k, |relevant|)``, between 0 and 1 (a record listed
        twice counts once).

    Raises:
        ValueError: ``k`` is below 1, or no record has a grade above 0.
    """
    _check_k(k)
    relevant = {key for key, g in grades.items() if g > 0}
    if not relevant:
        raise ValueError("the reference ranks no record")
    found = relevant.intersection(ranking[:k])
    return len(found) / min(k, len(relevant))


def _dcg(gains: Iterable[float]) -> float:
    return sum(gain / math.log2(position + 1) for position, gain in enumerate(gains, start=1))


def ndcg_at_k(ranking: Sequence[K], grades: Mapping[K, float], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the ranking's first ``k`` records.

    Args:
        ranking: the ranking judged, best first. A record listed again gains nothing the
            second time.
        grades: the reference's grades (missing records: 0).
        k: the cut-off.

    Returns:
        ``DCG(ranking[:k]) / DCG(best order)``, between 0 and 1, with the grade as the gain
        and ``log2(position + 1)`` as the discount.

    Raises:
        ValueError: ``k`` is below 1, or no record has a grade above 0.
    """
    _check_k(k)
    ideal = _dcg(sorted((g for g in grades.values() if g > 0), reverse=True)[:k])
    if ideal <= 0.0:
        raise ValueError("the reference ranks no record")
    seen: set[K] = set()
    gains: list[float] = []
    for key in ranking[:k]:
        gains.append(0.0 if key in seen else float(grades.get(key, 0)))
        seen.add(key)
    return _dcg(gains) / ideal
