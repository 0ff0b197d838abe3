"""Stable pagination across agencies, and cursors bound to their query."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cets.common.canonical import canonical_json
from cets.gateway.merge import MergedHit, Method, merge
from cets.gateway.pagination import (
    MAX_DEPTH,
    BadCursor,
    decode_cursor,
    encode_cursor,
    page,
    query_digest,
    wanted,
)
from cets.v1 import records_pb2, search_pb2

KEY = bytes(range(32))
EMAIL = records_pb2.SelectorKind.SELECTOR_KIND_EMAIL


def hit(agency: str, record_id: str, score: float = 1.0, *, exact: bool = False) -> search_pb2.Hit:
    matched = [records_pb2.Selector(kind=EMAIL, value="x@example.org")] if exact else []
    return search_pb2.Hit(
        agency=agency, record_id=record_id, score=score, matched_selectors=matched
    )


def ids(merged: Sequence[MergedHit]) -> list[tuple[str, str]]:
    return [(m.agency, m.record_id) for m in merged]


def read_all(
    lists: Mapping[str, Sequence[search_pb2.Hit]],
    size: int,
    *,
    cap: int = MAX_DEPTH,
    method: Method = Method.RRF,
    through_cursor: bool = False,
) -> list[list[MergedHit]]:
    """Page through as the gateway does: each page from a fresh fetch of each agency's prefix."""
    digest = query_digest(search_pb2.Query(text="x"), sorted(lists))
    shown: dict[str, int] = {}
    pages: list[list[MergedHit]] = []
    for _ in range(10_000):
        window = wanted(shown, size, cap, agencies=lists)
        fetched = {agency: hits[: window[agency]] for agency, hits in lists.items()}
        hits, shown = page(merge(fetched, method=method), shown, size)
        if not hits:
            return pages
        pages.append(hits)
        if through_cursor:
            token = encode_cursor(shown, query_digest=digest, key=KEY)
            assert decode_cursor(token, query_digest=digest, key=KEY) == {
                agency: count for agency, count in shown.items() if count
            }
    raise AssertionError("paging did not end")


# --------------------------------------------------------------------------------------------
# Pages


def test_pages_follow_the_merged_order() -> None:
    lists = {
        "a": [hit("a", f"a{i}", 100 - i) for i in range(5)],
        "b": [hit("b", f"b{i}", 1 - i / 10) for i in range(3)],
    }
    pages = read_all(lists, 3)
    assert [ids(p) for p in pages] == [
        [("a", "a0"), ("b", "b0"), ("a", "a1")],
        [("b", "b1"), ("a", "a2"), ("b", "b2")],
        [("a", "a3"), ("a", "a4")],
    ]


def test_page_state_counts_how_far_each_agency_was_read() -> None:
    merged = merge({"a": [hit("a", "a1"), hit("a", "a2")], "b": [hit("b", "b1")]})
    first, shown = page(merged, {}, 2)
    assert ids(first) == [("a", "a1"), ("b", "b1")]
    assert shown == {"a": 1, "b": 1}
    second, shown = page(merged, shown, 2)
    assert ids(second) == [("a", "a2")]
    assert shown == {"a": 2, "b": 1}
    assert page(merged, shown, 2) == ([], shown)


def test_an_agency_missing_from_a_page_keeps_its_counter() -> None:
    _, shown = page(merge({"b": [hit("b", "b1")]}), {"a": 7}, 5)
    assert shown == {"a": 7, "b": 1}


def test_a_late_exact_match_is_not_lost() -> None:
    # Agency "a" ranked an exact match tenth; it is shown after a's first nine, never skipped.
    lists = {
        "a": [hit("a", f"a{i}", exact=i == 9) for i in range(10)],
        "b": [hit("b", f"b{i}") for i in range(10)],
    }
    pages = read_all(lists, 4)
    flat = [m for p in pages for m in p]
    assert ids(flat) == ids(merge(lists))
    assert ("a", "a9") in ids(flat)


def test_wanted() -> None:
    assert wanted({"a": 10, "b": 0}, 20) == {"a": 30, "b": 20}
    assert wanted({"a": 95}, 20) == {"a": 100}
    assert wanted({"a": 95}, 20, cap=50) == {"a": 50}
    assert wanted({}, 10, agencies=["x", "y"]) == {"x": 10, "y": 10}
    assert wanted({"x": 4}, 10, agencies=["x"]) == {"x": 14}


@pytest.mark.parametrize(
    ("shown", "size", "cap"),
    [({}, 0, 100), ({}, 10, 0), ({"a": -1}, 10, 100), ({"a": True}, 10, 100)],
)
def test_bad_paging_arguments(shown: dict[str, int], size: int, cap: int) -> None:
    with pytest.raises(ValueError):
        wanted(shown, size, cap)
    if cap > 0:
        with pytest.raises(ValueError):
            page([], shown, size)


_agency_names = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def agency_lists(draw: st.DrawFn, *, duplicates: bool = False) -> dict[str, list[search_pb2.Hit]]:
    agencies = draw(st.lists(_agency_names, unique=True, max_size=4))
    lists: dict[str, list[search_pb2.Hit]] = {}
    for agency in agencies:
        n = draw(st.integers(0, 30))
        names = (
            [f"r{draw(st.integers(0, 40))}" for _ in range(n)]
            if duplicates
            else [f"r{j}" for j in draw(st.permutations(range(n)))]
        )
        lists[agency] = [
            hit(
                agency,
                name,
                draw(st.floats(-10, 1000, allow_nan=False)),
                exact=draw(st.booleans()),
            )
            for name in names
        ]
    return lists


@settings(max_examples=300, deadline=None)
@given(
    agency_lists(),
    st.integers(1, 12),
    st.integers(1, 40),
    # the methods whose fused scores need nothing beyond each agency's first hits
    st.sampled_from([Method.RRF, Method.BOUNDED]),
)
def test_pages_concatenate_to_exactly_the_full_merged_list(
    lists: dict[str, list[search_pb2.Hit]], size: int, cap: int, method: Method
) -> None:
    full = merge({agency: hits[:cap] for agency, hits in lists.items()}, method=method)
    pages = read_all(lists, size, cap=cap, method=method)
    flat = [m for p in pages for m in p]
    assert flat == full
    assert all(len(p) == size for p in pages[:-1])
    assert len(set(ids(flat))) == len(flat)


@settings(max_examples=200, deadline=None)
@given(agency_lists(duplicates=True), st.integers(1, 12), st.sampled_from(list(Method)))
def test_pages_never_repeat_a_hit_whatever_the_lists(
    lists: dict[str, list[search_pb2.Hit]], size: int, method: Method
) -> None:
    # Records listed twice, or min-max scores that move as more is fetched: the order may
    # differ from the merge of the whole lists, but no page repeats a hit.
    full = merge(lists, method=method)
    flat = ids([m for p in read_all(lists, size, method=method) for m in p])
    assert len(set(flat)) == len(flat)
    assert set(flat) <= set(ids(full))


@settings(max_examples=200, deadline=None)
@given(agency_lists(), st.integers(1, 12), st.sampled_from(list(Method)))
def test_pages_show_every_hit_once(
    lists: dict[str, list[search_pb2.Hit]], size: int, method: Method
) -> None:
    full = merge(lists, method=method)
    flat = ids([m for p in read_all(lists, size, method=method) for m in p])
    assert sorted(flat) == sorted(ids(full))


@settings(max_examples=50, deadline=None)
@given(agency_lists(), st.integers(1, 12))
def test_paging_through_cursors(lists: dict[str, list[search_pb2.Hit]], size: int) -> None:
    full = merge(lists)
    flat = [m for p in read_all(lists, size, through_cursor=True) for m in p]
    assert flat == full


# --------------------------------------------------------------------------------------------
# Cursors

QUERY = search_pb2.Query(text="groomer", limit=20)
DIGEST = query_digest(QUERY, ["rcmp", "tps"])


def test_cursor_round_trip() -> None:
    shown = {"tps": 20, "rcmp": 13, "opp": 0}
    token = encode_cursor(shown, query_digest=DIGEST, key=KEY)
    assert token.isascii()
    assert "=" not in token
    assert "+" not in token
    assert "/" not in token
    assert decode_cursor(token, query_digest=DIGEST, key=KEY) == {"rcmp": 13, "tps": 20}
    assert encode_cursor({}, query_digest=DIGEST, key=KEY) != token
    empty = encode_cursor({}, query_digest=DIGEST, key=KEY)
    assert decode_cursor(empty, query_digest=DIGEST, key=KEY) == {}


def test_cursor_is_canonical() -> None:
    one = encode_cursor({"a": 1, "b": 2}, query_digest=DIGEST, key=KEY)
    two = encode_cursor({"b": 2, "a": 1}, query_digest=DIGEST, key=KEY)
    assert one == two


def test_query_digest_ignores_limit_and_target_order() -> None:
    again = search_pb2.Query(text="groomer", limit=40)
    assert query_digest(again, ["tps", "rcmp", "tps"]) == DIGEST
    assert query_digest(search_pb2.Query(text="groomers"), ["rcmp", "tps"]) != DIGEST
    assert query_digest(QUERY, ["rcmp"]) != DIGEST
    with_selector = search_pb2.Query(
        text="groomer", selectors=[records_pb2.Selector(kind=EMAIL, value="a@b.c")]
    )
    assert query_digest(with_selector, ["rcmp", "tps"]) != DIGEST
    assert len(DIGEST) == 64


def test_cursor_for_another_query_is_refused() -> None:
    token = encode_cursor({"tps": 20}, query_digest=DIGEST, key=KEY)
    other = query_digest(search_pb2.Query(text="other"), ["rcmp", "tps"])
    with pytest.raises(BadCursor, match="not for this query"):
        decode_cursor(token, query_digest=other, key=KEY)


def _unpack(token: str) -> tuple[bytes, bytes]:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return raw[:-16], raw[-16:]


def _pack(body: bytes, tag: bytes) -> str:
    return base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode()


def test_tampered_cursor_is_refused() -> None:
    token = encode_cursor({"tps": 20}, query_digest=DIGEST, key=KEY)
    body, tag = _unpack(token)
    value = json.loads(body)
    value["s"]["tps"] = 40
    forged = _pack(canonical_json(value), tag)
    with pytest.raises(BadCursor, match="tampered"):
        decode_cursor(forged, query_digest=DIGEST, key=KEY)
    flipped = _pack(body, bytes([tag[0] ^ 1]) + tag[1:])
    with pytest.raises(BadCursor, match="tampered"):
        decode_cursor(flipped, query_digest=DIGEST, key=KEY)
    with pytest.raises(BadCursor, match="tampered"):
        decode_cursor(token, query_digest=DIGEST, key=bytes(32))


def test_cursor_with_values_out_of_range_is_refused() -> None:
    token = encode_cursor({"tps": 150}, query_digest=DIGEST, key=KEY, max_depth=200)
    with pytest.raises(BadCursor, match="out of range"):
        decode_cursor(token, query_digest=DIGEST, key=KEY)
    assert decode_cursor(token, query_digest=DIGEST, key=KEY, max_depth=200) == {"tps": 150}
    for bad in ({"tps": 101}, {"tps": -1}, {"": 1}, {"x" * 300: 1}):
        with pytest.raises(ValueError, match="out of range"):
            encode_cursor(bad, query_digest=DIGEST, key=KEY)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not a cursor",
        "abc+def/",
        "a",
        "AAAA",
        "x" * 70_000,
        base64.urlsafe_b64encode(b"{}" + bytes(16)).decode().rstrip("="),
        base64.urlsafe_b64encode(b"[" * 5000 + bytes(16)).decode().rstrip("="),
        base64.urlsafe_b64encode(b'{"q":"x","s":[],"v":1}' + bytes(16)).decode().rstrip("="),
        base64.urlsafe_b64encode(b'{"q":"x","s":{},"v":true}' + bytes(16)).decode().rstrip("="),
        base64.urlsafe_b64encode(b"\xff\xfe" + bytes(16)).decode().rstrip("="),
    ],
)
def test_garbage_cursor_is_refused(token: str) -> None:
    with pytest.raises(BadCursor, match="malformed"):
        decode_cursor(token, query_digest=DIGEST, key=KEY)


def test_short_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="key") as info:
        encode_cursor({}, query_digest=DIGEST, key=b"short")
    assert not isinstance(info.value, BadCursor)
    with pytest.raises(ValueError, match="key"):
        decode_cursor("AAAA", query_digest=DIGEST, key=b"short")
