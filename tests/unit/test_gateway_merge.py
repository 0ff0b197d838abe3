"""Merging each agency's ranked answer into one list."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cets.gateway.merge import DEFAULT_TRUST_RATIO, MergedHit, Method, bounded_scores, merge
from cets.v1 import records_pb2, search_pb2

EMAIL = records_pb2.SelectorKind.SELECTOR_KIND_EMAIL


def hit(agency: str, record_id: str, score: float = 1.0, *, exact: bool = False) -> search_pb2.Hit:
    matched = [records_pb2.Selector(kind=EMAIL, value="x@example.org")] if exact else []
    return search_pb2.Hit(
        agency=agency, record_id=record_id, score=score, matched_selectors=matched
    )


def ids(merged: Sequence[MergedHit]) -> list[tuple[str, str]]:
    return [(m.agency, m.record_id) for m in merged]


# --------------------------------------------------------------------------------------------
# Order


def test_rrf_interleaves_agencies_whose_scores_differ_by_orders_of_magnitude() -> None:
    lists = {
        "big": [hit("big", f"b{i}", 100.0 - i) for i in range(3)],
        "small": [hit("small", f"s{i}", 0.5 - i / 10) for i in range(3)],
    }
    merged = merge(lists)
    # Raw scores would put all of "big" first; ranks interleave the two fairly.
    assert ids(merged) == [
        ("big", "b0"),
        ("small", "s0"),
        ("big", "b1"),
        ("small", "s1"),
        ("big", "b2"),
        ("small", "s2"),
    ]
    assert [m.agency_rank for m in merged] == [1, 1, 2, 2, 3, 3]
    assert merged[0].fused == pytest.approx(1 / 61)
    assert merged[-1].fused == pytest.approx(1 / 63)


def test_rrf_constant_k() -> None:
    merged = merge({"a": [hit("a", "1"), hit("a", "2")]}, k=0)
    assert [m.fused for m in merged] == [1.0, 0.5]
    with pytest.raises(ValueError, match="negative"):
        merge({}, k=-1)


def test_exact_selector_matches_come_first() -> None:
    lists = {
        "a": [hit("a", "a1"), hit("a", "a2")],
        "b": [hit("b", "b1", exact=True), hit("b", "b2", exact=True)],
    }
    merged = merge(lists)
    assert ids(merged) == [("b", "b1"), ("b", "b2"), ("a", "a1"), ("a", "a2")]
    assert [m.exact for m in merged] == [True, True, False, False]


def test_a_hit_never_overtakes_one_its_agency_ranked_higher() -> None:
    # Agency "a" put an exact match below a non-exact one: it waits for it, but still comes
    # before everything of "b" that is not exact.
    lists = {
        "a": [hit("a", "a1"), hit("a", "a2", exact=True)],
        "b": [hit("b", "b1"), hit("b", "b2")],
    }
    assert ids(merge(lists)) == [("a", "a1"), ("a", "a2"), ("b", "b1"), ("b", "b2")]


def test_min_max_normalises_each_agency_on_its_own() -> None:
    lists = {
        "a": [hit("a", "a1", 100.0), hit("a", "a2", 50.0), hit("a", "a3", 0.0)],
        "b": [hit("b", "b1", 0.5), hit("b", "b2", 0.45), hit("b", "b3", 0.1)],
    }
    merged = merge(lists, method=Method.MINMAX)
    fused = {m.record_id: m.fused for m in merged}
    assert fused == pytest.approx(
        {"a1": 1.0, "a2": 0.5, "a3": 0.0, "b1": 1.0, "b2": 0.875, "b3": 0.0}
    )
    assert ids(merged) == [
        ("a", "a1"),  # ties with b1 at 1.0; same rank; "a" < "b"
        ("b", "b1"),
        ("b", "b2"),
        ("a", "a2"),
        ("a", "a3"),
        ("b", "b3"),
    ]


def test_min_max_single_hit_and_equal_scores_get_one() -> None:
    merged = merge(
        {"a": [hit("a", "only", 3.2)], "b": [hit("b", "x", 7.0), hit("b", "y", 7.0)]},
        method="minmax",  # type: ignore[arg-type]
    )
    assert {m.record_id: m.fused for m in merged} == {"only": 1.0, "x": 1.0, "y": 1.0}


def test_min_max_survives_extreme_scores() -> None:
    lists = {
        "a": [
            hit("a", "top", 1e308),
            hit("a", "inf", float("inf")),
            hit("a", "nan", float("nan")),
            hit("a", "bottom", -1e308),
        ]
    }
    fused = {m.record_id: m.fused for m in merge(lists, method=Method.MINMAX)}
    assert fused == {"top": 1.0, "inf": 1.0, "nan": 0.0, "bottom": 0.0}


def test_ties_break_by_rank_then_agency_then_record() -> None:
    lists = {
        "zeta": [hit("zeta", "z1")],
        "alpha": [hit("alpha", "a1"), hit("alpha", "a2")],
        "mid": [hit("mid", "m1")],
    }
    assert ids(merge(lists)) == [
        ("alpha", "a1"),
        ("mid", "m1"),
        ("zeta", "z1"),
        ("alpha", "a2"),
    ]


def test_a_record_listed_twice_appears_once_where_first_listed() -> None:
    lists = {"a": [hit("a", "r1", 5.0), hit("a", "r2", 4.0), hit("a", "r1", 3.0)]}
    merged = merge(lists)
    assert ids(merged) == [("a", "r1"), ("a", "r2")]
    assert merged[0].hit.score == 5.0
    assert [m.agency_rank for m in merged] == [1, 2]


def test_the_same_record_id_at_two_agencies_is_two_hits() -> None:
    merged = merge({"a": [hit("a", "r")], "b": [hit("b", "r")]})
    assert ids(merged) == [("a", "r"), ("b", "r")]


def test_the_list_key_names_the_agency() -> None:
    merged = merge({"a": [hit("", "r1")]})
    assert merged[0].agency == "a"


def test_empty() -> None:
    assert merge({}) == []
    assert merge({"a": []}) == []


# --------------------------------------------------------------------------------------------
# Bounded: each agency's own scores, brought down when far above the others'


def test_bounded_keeps_scores_that_are_on_one_scale() -> None:
    lists = {
        "a": [hit("a", "a0", 12.0), hit("a", "a1", 7.0)],
        "b": [hit("b", "b0", 9.0), hit("b", "b1", 8.0)],
    }
    merged = merge(lists, method=Method.BOUNDED)
    # unlike min-max, which would put a1 (0.0) level with b1 (0.0) and b0 (1.0) with a0
    assert ids(merged) == [("a", "a0"), ("b", "b0"), ("b", "b1"), ("a", "a1")]
    assert [m.fused for m in merged] == [12.0, 9.0, 8.0, 7.0]


def test_a_node_multiplying_its_scores_by_1000_cannot_take_over_the_top() -> None:
    lists = {
        "a": [hit("a", "a0", 12.0), hit("a", "a1", 11.0), hit("a", "a2", 6.0)],
        "b": [hit("b", "b0", 10.0), hit("b", "b1", 9.0), hit("b", "b2", 5.0)],
        "c": [hit("c", f"c{i}", score * 1000) for i, score in enumerate((8.0, 7.0, 2.0))],
    }
    # Taken at face value, c's hits would be the top three.
    unbounded = merge(lists, method=Method.BOUNDED, trust_ratio=math.inf)
    assert ids(unbounded)[:3] == [("c", "c0"), ("c", "c1"), ("c", "c2")]
    # c's best (8000) is more than 10 times the median of the others' best (11): c's list is
    # rescaled so that its best is 11, the others in proportion.
    merged = merge(lists, method=Method.BOUNDED)
    fused = {m.record_id: m.fused for m in merged}
    assert [fused["c0"], fused["c1"], fused["c2"]] == pytest.approx([11.0, 9.625, 2.75])
    assert ids(merged) == [
        ("a", "a0"),
        ("c", "c0"),  # ties with a1 at 11; rank 1 before rank 2
        ("a", "a1"),
        ("b", "b0"),
        ("c", "c1"),
        ("b", "b1"),
        ("a", "a2"),
        ("b", "b2"),
        ("c", "c2"),
    ]


def test_with_two_agencies_each_bounds_the_other() -> None:
    lists = {"a": [hit("a", "a0", 3.0)], "b": [hit("b", "b0", 3e6), hit("b", "b1", 1.5e6)]}
    fused = {m.record_id: m.fused for m in merge(lists, method=Method.BOUNDED)}
    assert fused == pytest.approx({"a0": 3.0, "b0": 3.0, "b1": 1.5})


def test_a_node_giving_every_hit_the_same_huge_score_is_brought_to_the_others_level() -> None:
    lists = {
        "a": [hit("a", "a0", 10.0), hit("a", "a1", 6.0)],
        "b": [hit("b", "b0", 8.0), hit("b", "b1", 7.0)],
        "c": [hit("c", f"c{i}", 1000.0) for i in range(3)],
    }
    merged = merge(lists, method=Method.BOUNDED)
    # c's every hit at the median of the others' best (9), in c's own order, below a's best
    assert [m.fused for m in merged if m.agency == "c"] == [9.0, 9.0, 9.0]
    assert ids(merged) == [
        ("a", "a0"),
        ("c", "c0"),
        ("c", "c1"),
        ("c", "c2"),
        ("b", "b0"),
        ("b", "b1"),
        ("a", "a1"),
    ]


def test_an_agency_whose_hits_all_score_the_same_on_the_others_scale_is_kept() -> None:
    # Equal scores are common (exact matches, records worded alike): kept when on scale.
    lists = {
        "a": [hit("a", "a0", 10.0), hit("a", "a1", 4.0)],
        "b": [hit("b", f"b{i}", 7.0) for i in range(3)],
    }
    merged = merge(lists, method=Method.BOUNDED)
    assert [m.fused for m in merged] == [10.0, 7.0, 7.0, 7.0, 4.0]
    assert ids(merged)[1:4] == [("b", "b0"), ("b", "b1"), ("b", "b2")]


def test_bounded_with_a_single_agency_keeps_its_scores() -> None:
    alone = [hit("a", "a0", 5e6), hit("a", "a1", 3.0)]
    for lists in ({"a": alone}, {"a": alone, "b": []}):  # an agency without hits is no measure
        merged = merge(lists, method=Method.BOUNDED)
        assert ids(merged) == [("a", "a0"), ("a", "a1")]
        assert [m.fused for m in merged] == [5e6, 3.0]


def test_bounded_with_no_hits() -> None:
    assert merge({}, method=Method.BOUNDED) == []
    assert merge({"a": [], "b": []}, method=Method.BOUNDED) == []
    assert bounded_scores({}) == {}
    assert bounded_scores({"a": [], "b": []}) == {"a": [], "b": []}


def test_bounded_ties_break_by_rank_then_agency_then_record() -> None:
    lists = {
        "c": [hit("c", "c0", 1e6), hit("c", "c1", 1e6)],  # brought to 10
        "b": [hit("b", "b0", 10.0)],
        "a": [hit("a", "a0", 10.0)],
    }
    expected = [("a", "a0"), ("b", "b0"), ("c", "c0"), ("c", "c1")]
    for order in itertools.permutations(lists):
        merged = merge({agency: lists[agency] for agency in order}, method=Method.BOUNDED)
        assert ids(merged) == expected
        assert [m.fused for m in merged] == [10.0] * 4


def test_bounded_survives_extreme_scores() -> None:
    fused = bounded_scores(
        {"a": [math.inf, 5.0, math.nan, -3.0], "b": [2.0], "c": [-math.inf, 1.0]}
    )
    # a's best counts as the largest float: far above the median of 2 and 0, so rescaled to 1
    assert fused["a"][0] == pytest.approx(1.0)
    assert 0.0 <= fused["a"][1] < 1e-300
    assert fused["a"][2:] == [0.0, 0.0]
    assert fused["b"] == [2.0]  # the median of a's and c's best is huge
    assert fused["c"] == [0.0, 1.0]  # a best of 0 is never above the bound
    assert all(math.isfinite(v) for values in fused.values() for v in values)


@pytest.mark.parametrize("ratio", [0.99, -1.0, math.nan])
def test_trust_ratio_is_at_least_one(ratio: float) -> None:
    with pytest.raises(ValueError, match="trust_ratio"):
        bounded_scores({"a": [1.0]}, trust_ratio=ratio)
    with pytest.raises(ValueError, match="trust_ratio"):
        merge({"a": [hit("a", "r")]}, trust_ratio=ratio)


def test_the_default_bound_leaves_room_for_honest_partners() -> None:
    # On a name query the agency holding the name as spelled scores several times the others.
    fused = bounded_scores({"a": [46.6, 46.6], "b": [5.9]})
    assert fused["a"] == [46.6, 46.6]
    assert DEFAULT_TRUST_RATIO * 5.9 > 46.6


# --------------------------------------------------------------------------------------------
# Properties

_agency_names = st.sampled_from(["a", "b", "c", "d", "e"])


@st.composite
def agency_lists(draw: st.DrawFn) -> dict[str, list[search_pb2.Hit]]:
    agencies = draw(st.lists(_agency_names, unique=True, max_size=5))
    lists: dict[str, list[search_pb2.Hit]] = {}
    for agency in agencies:
        n = draw(st.integers(0, 12))
        lists[agency] = [
            hit(
                agency,
                draw(st.sampled_from([f"r{j}" for j in range(15)])),
                draw(st.floats(-5, 200, allow_nan=False)),
                exact=draw(st.booleans()),
            )
            for _ in range(n)
        ]
    return lists


def greedy_merge(lists: Mapping[str, Sequence[MergedHit]]) -> list[MergedHit]:
    """A k-way merge: repeatedly take the best of each agency's next hit."""

    def key(m: MergedHit) -> tuple[int, float, int, str, str]:
        return (0 if m.exact else 1, -m.fused, m.agency_rank, m.agency, m.record_id)

    queues = {agency: list(hits) for agency, hits in lists.items() if hits}
    out: list[MergedHit] = []
    while queues:
        best = min(queues, key=lambda agency: key(queues[agency][0]))
        out.append(queues[best].pop(0))
        if not queues[best]:
            del queues[best]
    return out


@settings(max_examples=200, deadline=None)
@given(agency_lists(), st.sampled_from(list(Method)), st.randoms(use_true_random=False))
def test_agency_order_in_the_mapping_does_not_matter(
    lists: dict[str, list[search_pb2.Hit]], method: Method, rnd: random.Random
) -> None:
    items = list(lists.items())
    rnd.shuffle(items)
    assert merge(dict(items), method=method) == merge(lists, method=method)


@settings(max_examples=200, deadline=None)
@given(agency_lists(), st.sampled_from(list(Method)))
def test_merge_is_a_k_way_merge_keeping_each_agencys_order(
    lists: dict[str, list[search_pb2.Hit]], method: Method
) -> None:
    merged = merge(lists, method=method)
    per_agency: dict[str, list[MergedHit]] = {}
    for m in merged:
        per_agency.setdefault(m.agency, []).append(m)
    for agency, hits in per_agency.items():
        ranks = [m.agency_rank for m in hits]
        assert ranks == sorted(ranks)
        first_positions: dict[str, int] = {}
        for position, h in enumerate(lists[agency], start=1):
            first_positions.setdefault(h.record_id, position)
        assert sorted(ranks) == sorted(first_positions.values())
    assert len(set(ids(merged))) == len(merged)
    assert merged == greedy_merge(per_agency)


@settings(max_examples=200, deadline=None)
@given(agency_lists(), st.floats(1.0, 1e12), st.floats(1.0, 100.0))
def test_no_factor_lifts_an_agency_past_the_bound(
    lists: dict[str, list[search_pb2.Hit]], factor: float, ratio: float
) -> None:
    scores = {agency: [h.score for h in hits] for agency, hits in lists.items()}
    if scores:  # one agency multiplies its scores
        inflated = sorted(scores)[0]
        scores[inflated] = [s * factor for s in scores[inflated]]
    fused = bounded_scores(scores, trust_ratio=ratio)
    assert {agency: len(values) for agency, values in fused.items()} == {
        agency: len(values) for agency, values in scores.items()
    }
    bests = {agency: max(0.0, values[0]) for agency, values in scores.items() if values}
    for agency, values in fused.items():
        others = [best for other, best in bests.items() if other != agency]
        assert all(math.isfinite(v) and v >= 0.0 for v in values)
        if values and others:
            # however much it multiplied, its first hit is at most the bound
            reference = statistics.median(others)
            assert values[0] <= ratio * reference * (1 + 1e-12)
            if bests[agency] > ratio * reference:
                assert values[0] == pytest.approx(reference)
            else:
                assert values == [max(0.0, s) for s in scores[agency]]


@settings(max_examples=200, deadline=None)
@given(agency_lists())
def test_exact_hits_lead_when_each_agency_lists_them_first(
    lists: dict[str, list[search_pb2.Hit]],
) -> None:
    ordered = {
        agency: sorted(hits, key=lambda h: not h.matched_selectors)
        for agency, hits in lists.items()
    }
    merged = merge(ordered)
    flags = [m.exact for m in merged]
    assert flags == sorted(flags, reverse=True)
    for before, after in itertools.pairwise(merged):
        if before.exact == after.exact:
            assert before.fused >= after.fused


# --------------------------------------------------------------------------------------------
# Image matches: distance is comparable across agencies, scores are not


def image_hit(agency: str, record_id: str, distance: int, score: float = 1.0) -> search_pb2.Hit:
    found = hit(agency, record_id, score)
    found.distance = distance
    return found


@pytest.mark.parametrize("method", list(Method))
def test_image_matches_merge_by_distance_whatever_the_scores(method: Method) -> None:
    lists = {
        "a": [image_hit("a", "a0", 3, 255.9), image_hit("a", "a1", 20, 0.1)],
        "b": [image_hit("b", "b0", 0, 0.0001), image_hit("b", "b1", 12), image_hit("b", "b2", 31)],
    }
    merged = merge(lists, method=method)
    assert ids(merged) == [("b", "b0"), ("a", "a0"), ("b", "b1"), ("a", "a1"), ("b", "b2")]
    assert [m.distance for m in merged] == [0, 3, 12, 20, 31]


def test_at_one_distance_exact_then_relevance_orders_and_hits_without_a_distance_come_last() -> (
    None
):
    lists = {
        "a": [image_hit("a", "a0", 5, 9.0), hit("a", "a-old", 50.0)],
        "b": [image_hit("b", "b0", 5, 1.0), image_hit("b", "b1", 5, 0.5)],
    }
    lists["b"][1].matched_selectors.append(records_pb2.Selector(kind=EMAIL, value="x@y.org"))
    merged = merge(lists, method=Method.MINMAX)
    # at distance 5: b0 is its agency's best (fused 1.0), a0 is scaled below a's text-only hit
    # (fused 0.0); b1 holds an exact identifier but never overtakes b0, which b ranked above it
    assert ids(merged)[:3] == [("b", "b0"), ("b", "b1"), ("a", "a0")]
    assert ids(merged)[-1] == ("a", "a-old") and merged[-1].distance is None


def test_a_bounded_best_is_exactly_the_reference_even_near_the_smallest_floats() -> None:
    # found by the property above: a factor of 5e-314 has lost precision, and the bounded
    # best came out above the reference it was brought down to
    tiny = 2.22507385852178e-313
    fused = bounded_scores({"a": [tiny, 0.0], "b": [5.0, 2.5, 5.0]}, trust_ratio=1.0)
    assert fused["a"] == [tiny, 0.0]
    assert fused["b"][:2] == [tiny, 2.5 / 5.0 * tiny]
    assert fused["b"][2] == tiny
