"""Linking records at different agencies that share a selector."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cets.core.convert import selector_to_proto
from cets.core.selectors import Selector, SelectorKind
from cets.gateway.linking import MAX_LINK_HITS, Evidence, entity_id, link, selector_key
from cets.v1 import records_pb2, search_pb2

FULL = search_pb2.DisclosureLevel.DISCLOSURE_LEVEL_FULL
SUMMARY = search_pb2.DisclosureLevel.DISCLOSURE_LEVEL_SUMMARY


def sel(key: str) -> records_pb2.Selector:
    return selector_to_proto(Selector.from_key(key))


def full(agency: str, record_id: str, *keys: str) -> search_pb2.Hit:
    return search_pb2.Hit(
        agency=agency, record_id=record_id, selectors=[sel(k) for k in keys], disclosure=FULL
    )


def summary(agency: str, record_id: str, *matched: str) -> search_pb2.Hit:
    return search_pb2.Hit(
        agency=agency,
        record_id=record_id,
        matched_selectors=[sel(k) for k in matched],
        disclosure=SUMMARY,
    )


def test_an_email_shared_by_two_agencies_links_their_records() -> None:
    hits = [
        full("tps", "t1", "email:groomer@example.org", "username:kid_friend"),
        full("rcmp", "r9", "email:groomer@example.org", "phone:+14165550100"),
        full("rcmp", "r10", "phone:+16045550199"),
    ]
    [entity] = link(hits)
    assert entity.records == (("rcmp", "r9"), ("tps", "t1"))
    assert entity.agencies == ("rcmp", "tps")
    assert entity.selectors == ("email:groomer@example.org",)
    assert entity.evidence == (
        Evidence("email:groomer@example.org", (("rcmp", "r9"), ("tps", "t1"))),
    )
    assert entity.id == entity_id(["email:groomer@example.org"])
    assert len(entity.id) == 32


def test_a_selector_shared_within_one_agency_only_is_no_link() -> None:
    hits = [
        full("tps", "t1", "email:groomer@example.org"),
        full("tps", "t2", "email:groomer@example.org"),
        full("rcmp", "r1", "email:someone.else@example.org"),
    ]
    assert link(hits) == []


def test_links_chain_across_three_agencies() -> None:
    hits = [
        full("tps", "a", "email:groomer@example.org"),
        full("rcmp", "b", "email:groomer@example.org", "phone:+14165550100"),
        full("opp", "c", "phone:+14165550100", "ip:203.0.113.7"),
        full("opp", "unrelated", "ip:198.51.100.1"),
    ]
    [entity] = link(hits)
    assert entity.agencies == ("opp", "rcmp", "tps")
    assert entity.records == (("opp", "c"), ("rcmp", "b"), ("tps", "a"))
    assert entity.selectors == ("email:groomer@example.org", "phone:+14165550100")
    assert [e.selector for e in entity.evidence] == list(entity.selectors)
    assert entity.evidence[1].records == (("opp", "c"), ("rcmp", "b"))


def test_summary_hits_link_through_their_matched_selectors() -> None:
    hits = [
        summary("tps", "t1", "email:groomer@example.org"),
        summary("rcmp", "r1", "email:groomer@example.org"),
    ]
    [entity] = link(hits)
    assert entity.agencies == ("rcmp", "tps")


def test_summary_and_full_hits_link_together() -> None:
    hits = [
        full("tps", "t1", "username:kid_friend", "email:groomer@example.org"),
        summary("rcmp", "r1", "email:groomer@example.org"),
    ]
    [entity] = link(hits)
    assert entity.records == (("rcmp", "r1"), ("tps", "t1"))
    assert entity.selectors == ("email:groomer@example.org",)


def test_card_fingerprints_link_like_any_selector() -> None:
    card = "card:" + "0123456789abcdef" * 2
    hits = [full("tps", "txn1", card), full("rcmp", "card7", card)]
    [entity] = link(hits)
    assert entity.selectors == (card,)


def test_a_record_seen_twice_counts_once_with_all_its_selectors() -> None:
    hits = [
        summary("tps", "t1", "email:groomer@example.org"),
        full("tps", "t1", "email:groomer@example.org", "phone:+14165550100"),
        full("rcmp", "r1", "phone:+14165550100"),
    ]
    [entity] = link(hits)
    assert entity.records == (("rcmp", "r1"), ("tps", "t1"))
    assert entity.selectors == ("phone:+14165550100",)


def test_entities_sort_by_agencies_then_records_then_id() -> None:
    hits = [
        # two agencies, three records
        full("a", "1", "email:x@example.org"),
        full("a", "2", "email:x@example.org"),
        full("b", "1", "email:x@example.org"),
        # three agencies
        full("a", "3", "username:y"),
        full("b", "3", "username:y"),
        full("c", "3", "username:y"),
        # two agencies, two records, two of them
        full("c", "4", "ip:203.0.113.9"),
        full("d", "4", "ip:203.0.113.9"),
        full("c", "5", "ip:203.0.113.10"),
        full("d", "5", "ip:203.0.113.10"),
    ]
    entities = link(hits)
    assert [e.selectors for e in entities[:2]] == [("username:y",), ("email:x@example.org",)]
    last_two = entities[2:]
    assert [e.id for e in last_two] == sorted(e.id for e in last_two)


def test_unusable_hits_and_selectors_are_ignored() -> None:
    unspecified = records_pb2.Selector(value="groomer@example.org")
    empty = records_pb2.Selector(kind=records_pb2.SelectorKind.SELECTOR_KIND_EMAIL)
    unknown = records_pb2.Selector(kind=999, value="x")  # type: ignore[arg-type]
    assert selector_key(unspecified) is None
    assert selector_key(empty) is None
    assert selector_key(unknown) is None
    assert selector_key(sel("email:a@b.c")) == "email:a@b.c"
    hits = [
        search_pb2.Hit(agency="tps", record_id="t1", selectors=[unspecified, empty, unknown]),
        search_pb2.Hit(agency="rcmp", record_id="r1", selectors=[unspecified, empty, unknown]),
        search_pb2.Hit(agency="", record_id="x", selectors=[sel("email:a@b.c")]),
        search_pb2.Hit(agency="rcmp", record_id="", selectors=[sel("email:a@b.c")]),
        full("tps", "t2", "email:a@b.c"),
    ]
    assert link(hits) == []


def test_at_most_5000_hits() -> None:
    hits = (full("a" if i % 2 else "b", str(i), "email:x@example.org") for i in range(5001))
    with pytest.raises(ValueError, match="5000"):
        link(hits)
    [entity] = link(full("a" if i % 2 else "b", str(i), f"username:u{i // 4}") for i in range(4))
    assert len(entity.records) == 4
    assert MAX_LINK_HITS == 5000


def test_5000_hits_link_quickly() -> None:
    rnd = random.Random(7)
    kinds = [SelectorKind.EMAIL, SelectorKind.PHONE, SelectorKind.USERNAME, SelectorKind.IP]
    hits = [
        full(
            f"agency{rnd.randrange(10)}",
            str(i),
            *(f"{rnd.choice(kinds)}:v{rnd.randrange(20_000)}" for _ in range(5)),
        )
        for i in range(MAX_LINK_HITS)
    ]
    entities = link(hits)
    assert entities
    assert all(len(e.agencies) >= 2 for e in entities)


@st.composite
def random_hits(draw: st.DrawFn) -> list[search_pb2.Hit]:
    n = draw(st.integers(0, 30))
    return [
        full(
            draw(st.sampled_from(["a", "b", "c"])),
            str(draw(st.integers(0, 10))),
            *draw(st.lists(st.sampled_from([f"username:u{j}" for j in range(12)]), max_size=3)),
        )
        for _ in range(n)
    ]


@settings(max_examples=200, deadline=None)
@given(random_hits(), st.randoms(use_true_random=False))
def test_linking_is_deterministic_and_consistent(
    hits: list[search_pb2.Hit], rnd: random.Random
) -> None:
    entities = link(hits)
    shuffled = list(hits)
    rnd.shuffle(shuffled)
    assert link(shuffled) == entities
    seen_records: set[tuple[str, str]] = set()
    for entity in entities:
        assert len(entity.agencies) >= 2
        assert entity.agencies == tuple(sorted({a for a, _ in entity.records}))
        assert entity.id == entity_id(entity.selectors)
        assert not seen_records & set(entity.records)
        seen_records |= set(entity.records)
        for evidence in entity.evidence:
            assert len(evidence.records) >= 2
            assert set(evidence.records) <= set(entity.records)
        covered = {r for e in entity.evidence for r in e.records}
        assert covered == set(entity.records)
    assert entities == sorted(entities, key=lambda e: (-len(e.agencies), -len(e.records), e.id))
