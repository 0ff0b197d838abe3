"""Judging a merged ranking against a reference: grades, top-k overlap, nDCG@k."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cets.gateway.quality import (
    ndcg_at_k,
    overlap_at_k,
    positional_grades,
    tie_aware_grades,
)

# --------------------------------------------------------------------------------------------
# Grades


def test_positional_grades_count_down_from_k() -> None:
    assert positional_grades(["a", "b", "c"], k=3) == {"a": 3, "b": 2, "c": 1}


def test_positional_grades_ignore_hits_past_k_and_repeats() -> None:
    assert positional_grades(["a", "b", "a", "c"], k=3) == {"a": 3, "b": 2}


def test_tie_aware_grades_equal_positional_grades_without_ties() -> None:
    reference = [("a", 9.0), ("b", 7.5), ("c", 3.0), ("d", 1.0)]
    grades = tie_aware_grades(reference, k=3)
    assert grades == {**positional_grades(["a", "b", "c", "d"], k=3), "d": 0}


def test_hits_listed_past_k_are_graded_by_their_score() -> None:
    reference = [("a", 9.0), ("b", 5.0), ("c", 5.0), ("d", 1.0)]
    assert tie_aware_grades(reference, k=2) == {"a": 2, "b": 1, "c": 1, "d": 0}


def test_tied_records_share_the_best_grade_among_them() -> None:
    reference = [("a", 9.0), ("b", 5.0), ("c", 5.0), ("d", 1.0)]
    assert tie_aware_grades(reference, k=4) == {"a": 4, "b": 3, "c": 3, "d": 1}


def test_a_record_tied_with_the_kth_hit_counts_even_if_the_reference_did_not_list_it() -> None:
    reference = [("a", 9.0), ("b", 5.0)]
    others = {"x": 5.0, "y": 4.9, "z": None}
    grades = tie_aware_grades(reference, k=2, others=others)
    assert grades == {"a": 2, "b": 1, "x": 1, "y": 0, "z": 0}


def test_every_match_qualifies_when_the_reference_has_fewer_than_k_hits() -> None:
    grades = tie_aware_grades([("a", 3.0)], k=10, others={"b": 1.0})
    assert grades == {"a": 10, "b": 9}


def test_scores_within_the_tolerance_are_a_tie() -> None:
    reference = [("a", 2.0), ("b", 2.0 * (1 - 1e-9))]
    assert tie_aware_grades(reference, k=2) == {"a": 2, "b": 2}


def test_every_exact_match_scoring_the_same_gets_the_top_grade() -> None:
    reference = [(f"r{i}", 10.0) for i in range(10)]
    grades = tie_aware_grades(reference, k=10, others={"r99": 10.0})
    assert set(grades.values()) == {10}


def test_a_reference_out_of_order_is_refused() -> None:
    with pytest.raises(ValueError, match="descending"):
        tie_aware_grades([("a", 1.0), ("b", 2.0)])


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_is_refused(k: int) -> None:
    with pytest.raises(ValueError, match="k must"):
        positional_grades(["a"], k=k)
    with pytest.raises(ValueError, match="k must"):
        tie_aware_grades([("a", 1.0)], k=k)
    with pytest.raises(ValueError, match="k must"):
        overlap_at_k(["a"], {"a": 1}, k=k)
    with pytest.raises(ValueError, match="k must"):
        ndcg_at_k(["a"], {"a": 1}, k=k)


# --------------------------------------------------------------------------------------------
# Overlap


def test_overlap_is_the_share_of_the_reference_top_k_found() -> None:
    grades = positional_grades(["a", "b", "c", "d"], k=4)
    assert overlap_at_k(["a", "x", "c", "y"], grades, k=4) == 0.5
    assert overlap_at_k(["d", "c", "b", "a"], grades, k=4) == 1.0


def test_overlap_only_looks_at_the_first_k() -> None:
    grades = positional_grades(["a", "b"], k=2)
    assert overlap_at_k(["x", "a", "b"], grades, k=2) == 0.5


def test_overlap_with_fewer_than_k_matches_can_reach_one() -> None:
    grades = positional_grades(["a", "b"], k=10)
    assert overlap_at_k(["b", "a"], grades, k=10) == 1.0


def test_overlap_with_more_tied_records_than_k_is_capped_at_one() -> None:
    grades = tie_aware_grades([("a", 1.0), ("b", 1.0)], k=2, others={"c": 1.0})
    assert overlap_at_k(["c", "a"], grades, k=2) == 1.0


def test_a_repeated_record_counts_once() -> None:
    grades = positional_grades(["a", "b"], k=2)
    assert overlap_at_k(["a", "a"], grades, k=2) == 0.5
    assert ndcg_at_k(["a", "a"], grades, k=2) < 1.0


def test_a_reference_without_hits_is_refused() -> None:
    with pytest.raises(ValueError, match="no record"):
        overlap_at_k(["a"], {"a": 0}, k=3)
    with pytest.raises(ValueError, match="no record"):
        ndcg_at_k(["a"], {}, k=3)


# --------------------------------------------------------------------------------------------
# nDCG


def test_ndcg_of_the_reference_order_is_one() -> None:
    order = ["a", "b", "c", "d"]
    assert ndcg_at_k(order, positional_grades(order, k=4), k=4) == pytest.approx(1.0)


def test_ndcg_by_hand() -> None:
    grades = positional_grades(["a", "b"], k=2)  # a: 2, b: 1
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(["b", "a"], grades, k=2) == pytest.approx((1 + 2 / math.log2(3)) / ideal)
    assert ndcg_at_k(["x", "a"], grades, k=2) == pytest.approx((2 / math.log2(3)) / ideal)


def test_ndcg_ignores_the_order_among_ties() -> None:
    grades = tie_aware_grades([("a", 5.0), ("b", 5.0), ("c", 1.0)], k=3)
    assert ndcg_at_k(["b", "a", "c"], grades, k=3) == pytest.approx(1.0)
    assert ndcg_at_k(["c", "a", "b"], grades, k=3) < 1.0


def test_swapping_a_better_record_down_lowers_ndcg() -> None:
    grades = positional_grades(list("abcdefghij"), k=10)
    good = ndcg_at_k(list("abcdefghij"), grades)
    worse = ndcg_at_k(list("bacdefghij"), grades)
    worst = ndcg_at_k(list("jihgfedcba"), grades)
    assert good > worse > worst > 0.0


@given(
    reference=st.lists(st.integers(0, 30), min_size=1, max_size=20, unique=True),
    ranking=st.lists(st.integers(0, 40), max_size=20),
    k=st.integers(1, 12),
)
def test_both_measures_stay_between_zero_and_one(
    reference: list[int], ranking: list[int], k: int
) -> None:
    grades = positional_grades(reference, k=k)
    assert 0.0 <= overlap_at_k(ranking, grades, k=k) <= 1.0
    assert 0.0 <= ndcg_at_k(ranking, grades, k=k) <= 1.0 + 1e-12


@given(
    scores=st.lists(st.integers(0, 5).map(float), min_size=1, max_size=15),
    k=st.integers(1, 10),
)
def test_any_order_of_the_reference_that_respects_scores_is_perfect(
    scores: list[float], k: int
) -> None:
    reference = sorted(enumerate(scores), key=lambda item: -item[1])
    grades = tie_aware_grades(reference, k=k)
    # the same records, ties broken the other way round
    shuffled = [key for key, _ in sorted(enumerate(scores), key=lambda item: (-item[1], -item[0]))]
    assert ndcg_at_k(shuffled, grades, k=k) == pytest.approx(1.0)
    assert overlap_at_k(shuffled, grades, k=k) == 1.0
