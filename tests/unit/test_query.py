"""Queries: the rules a query must follow, the OpenSearch body it becomes, and reading answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from cets.core.errors import InvalidQuery
from cets.core.names import phonetic_keys
from cets.core.query import DEFAULT_LIMIT, MAX_LIMIT, SearchQuery
from cets.core.records import Handling, RecordType
from cets.core.selectors import Selector, SelectorKind
from cets.search.dsl import build_body, parse_response

EMAIL = Selector(SelectorKind.EMAIL, "ann@mail.example")
PHONE = Selector(SelectorKind.PHONE, "+14165550199")
USER = Selector(SelectorKind.USERNAME, "night_owl")
JAN = datetime(2024, 1, 1, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "give at least one of: text, selectors, name, image"),
        ({"text": "  \t", "name": " "}, "give at least one of: text, selectors, name, image"),
        ({"text": "x" * 1001}, "text is longer than 1000 characters"),
        ({"name": "x" * 201}, "name is longer than 200 characters"),
        (
            {"selectors": tuple(Selector(SelectorKind.USERNAME, f"u{i}") for i in range(65))},
            "more than 64 selectors",
        ),
        ({"text": "x", "limit": 0}, f"limit must be between 1 and {MAX_LIMIT}"),
        ({"text": "x", "limit": MAX_LIMIT + 1}, f"limit must be between 1 and {MAX_LIMIT}"),
        ({"text": "x", "limit": -5}, f"limit must be between 1 and {MAX_LIMIT}"),
        ({"text": "x", "created_from": FEB, "created_to": JAN}, "created_from is after created_to"),
        ({"text": "x", "created_from": datetime(2024, 1, 1)}, "dates must carry a time zone"),
        ({"text": "x", "created_to": datetime(2024, 1, 1)}, "dates must carry a time zone"),
        (
            {"text": "x", "created_from": datetime(2024, 1, 1), "created_to": FEB},
            "dates must carry a time zone",
        ),
        (
            {"text": "x", "created_from": JAN, "created_to": datetime(2023, 1, 1)},
            "dates must carry a time zone",
        ),
    ],
)
def test_a_query_that_breaks_a_rule_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidQuery) as caught:
        SearchQuery(**fields)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "x" * 1000},
        {"name": "x" * 200},
        {"selectors": (EMAIL,)},
        {"selectors": tuple(Selector(SelectorKind.USERNAME, f"u{i}") for i in range(64))},
        {"text": "x", "limit": 1},
        {"text": "x", "limit": MAX_LIMIT},
        {"text": "x", "created_from": JAN, "created_to": JAN},
        {
            "text": "x",
            "created_from": datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=2))),
            "created_to": datetime(2023, 12, 31, 23, 30, tzinfo=UTC),
        },
    ],
)
def test_queries_at_the_limits_are_accepted(fields: dict[str, Any]) -> None:
    assert SearchQuery(**fields).limit >= 1


def test_the_default_limit() -> None:
    assert SearchQuery(text="x").limit == DEFAULT_LIMIT


# --------------------------------------------------------------------------------------------
# The OpenSearch body


def _must(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["query"]["bool"]["must"]  # type: ignore[no-any-return]


def _filters(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["query"]["bool"]["filter"]  # type: ignore[no-any-return]


def test_text_is_a_simple_query_string_over_title_text_and_names() -> None:
    body = build_body(SearchQuery(text='"red car" -blue', limit=7))
    (clause,) = _must(body)
    query = clause["simple_query_string"]
    assert query["query"] == '"red car" -blue'
    assert query["fields"] == ["title^2", "text", "names^2"]
    assert query["default_operator"] == "and"
    assert body["size"] == 7
    assert _filters(body) == []
    assert set(body["highlight"]["fields"]) == {"title", "text", "names"}


def test_selectors_are_one_exact_terms_filter_on_their_keys() -> None:
    body = build_body(SearchQuery(selectors=(USER, EMAIL, PHONE, EMAIL)))
    (clause,) = _must(body)
    assert clause["constant_score"]["filter"] == {
        "terms": {
            "selectors": ["email:ann@mail.example", "phone:+14165550199", "username:night_owl"]
        }
    }


def test_a_name_matches_as_phrase_fuzzily_or_by_every_phonetic_key() -> None:
    body = build_body(SearchQuery(name="Jon Smyth"))
    (clause,) = _must(body)
    should = clause["bool"]["should"]
    assert clause["bool"]["minimum_should_match"] == 1
    assert {"match_phrase": {"names": {"query": "Jon Smyth", "slop": 1, "boost": 3.0}}} in should
    assert any(c.get("match", {}).get("names", {}).get("fuzziness") == "AUTO" for c in should)
    (phonetic,) = [c["bool"] for c in should if "bool" in c]
    keys = phonetic_keys("John Smith")
    assert keys == phonetic_keys("Jon Smyth")
    assert phonetic["should"] == [{"term": {"name_phonetic": key}} for key in keys]
    assert phonetic["minimum_should_match"] == len(keys)


def test_a_name_without_phonetic_keys_has_no_phonetic_clause() -> None:
    (clause,) = _must(build_body(SearchQuery(name="X 4")))
    assert all("bool" not in c for c in clause["bool"]["should"])


def test_criteria_combine_and_blank_text_is_ignored() -> None:
    body = build_body(SearchQuery(text="  ", selectors=(EMAIL,), name="Ann Lee"))
    kinds = [next(iter(clause)) for clause in _must(body)]
    assert kinds == ["constant_score", "bool"]
    body = build_body(SearchQuery(text="car", selectors=(EMAIL,), name="Ann Lee"))
    assert [next(iter(clause)) for clause in _must(body)] == [
        "simple_query_string",
        "constant_score",
        "bool",
    ]


def test_filters_for_types_handling_and_dates() -> None:
    query = SearchQuery(
        text="x",
        types=(RecordType.TIP, RecordType.CHAT_MESSAGE),
        handling=(Handling.RED, Handling.AMBER_STRICT),
        created_from=JAN,
        created_to=FEB,
    )
    assert _filters(build_body(query)) == [
        {"terms": {"type": ["chat_message", "tip"]}},
        {"terms": {"handling": ["amber+strict", "red"]}},
        {
            "range": {
                "created": {"gte": "2024-01-01T00:00:00+00:00", "lte": "2024-02-01T00:00:00+00:00"}
            }
        },
    ]


def test_an_open_date_range_has_one_bound() -> None:
    assert _filters(build_body(SearchQuery(text="x", created_to=FEB))) == [
        {"range": {"created": {"lte": "2024-02-01T00:00:00+00:00"}}}
    ]
    assert _filters(build_body(SearchQuery(text="x", created_from=JAN))) == [
        {"range": {"created": {"gte": "2024-01-01T00:00:00+00:00"}}}
    ]


@pytest.mark.parametrize(("timeout_ms", "expected"), [(2500, "2500ms"), (1, "1ms"), (0, "1ms")])
def test_the_timeout_is_passed_to_opensearch(timeout_ms: int, expected: str) -> None:
    assert build_body(SearchQuery(text="x"), timeout_ms=timeout_ms)["timeout"] == expected


def test_no_timeout_without_a_budget() -> None:
    assert "timeout" not in build_body(SearchQuery(text="x"))


# --------------------------------------------------------------------------------------------
# Reading the answer


def _response(relation: str) -> dict[str, Any]:
    return {
        "took": 12,
        "timed_out": False,
        "hits": {
            "total": {"value": 10_000, "relation": relation},
            "max_score": 3.5,
            "hits": [
                {
                    "_id": "p-1",
                    "_score": 3.5,
                    "_source": {
                        "record_id": "p-1",
                        "type": "person",
                        "title": "Ann Lee",
                        "created": "2024-01-05T00:00:00Z",
                        "selectors": [
                            "email:ann@mail.example",
                            "phone:+14165550199",
                            "username:annie",
                        ],
                        "body": {"name": "Ann Lee"},
                    },
                    "highlight": {"names": ["<mark>Ann</mark> Lee"]},
                },
                {
                    "_id": "t-9",
                    "_score": None,
                    "_source": {"type": "tip", "title": "tip", "selectors": []},
                },
            ],
        },
    }


def test_parse_response_reads_hits_and_the_selectors_they_matched() -> None:
    query = SearchQuery(selectors=(EMAIL, PHONE, USER))
    result = parse_response(query, _response("eq"))
    assert result.took_ms == 12
    assert result.total == 10_000
    assert result.total_is_lower_bound is False
    first, second = result.hits
    assert first.record_id == "p-1"
    assert first.type is RecordType.PERSON
    assert first.score == 3.5
    assert first.title == "Ann Lee"
    assert first.created == "2024-01-05T00:00:00Z"
    assert first.highlights == {"names": ["<mark>Ann</mark> Lee"]}
    assert first.matched_selectors == (EMAIL, PHONE)
    assert first.selectors == (EMAIL, PHONE, Selector(SelectorKind.USERNAME, "annie"))
    assert first.document["body"] == {"name": "Ann Lee"}
    assert second.record_id == "t-9"  # from _id when the source has none
    assert second.type is RecordType.TIP
    assert second.score == 0.0
    assert second.matched_selectors == ()
    assert second.created is None


def test_a_total_with_relation_gte_is_a_lower_bound() -> None:
    result = parse_response(SearchQuery(text="x"), _response("gte"))
    assert result.total == 10_000
    assert result.total_is_lower_bound is True
    assert all(hit.matched_selectors == () for hit in result.hits)


def test_an_empty_answer() -> None:
    result = parse_response(SearchQuery(text="x"), {"took": 1, "hits": {"hits": []}})
    assert result.hits == ()
    assert result.total == 0
    assert result.total_is_lower_bound is False


def test_highlights_for_a_terminal_are_bold_and_never_carry_control_characters() -> None:
    from cets.core.display import BOLD, plain_fragment

    fragment = "a <mark>word</mark> &lt;mark&gt; red\x1b[31m &#27;[2J\nend"
    shown = plain_fragment(fragment)
    assert shown == f"a {BOLD[0]}word{BOLD[1]} <mark> red[31m [2J end"
    assert "[word]" not in shown
    assert plain_fragment("<mark>open", ("<", ">")) == "<open>"


def test_a_page_for_a_terminal_carries_no_control_characters_from_titles_or_ids() -> None:
    from cets.gateway.display import format_page

    hit = {
        "rank": 1,
        "exact": False,
        "agency": "rcmp",
        "type": "tip",
        "disclosure": "full",
        "record_id": "tip-\x1b]0;owned\x07-1",
        "title": "Report\x1b[2J\x1b[31m about\nuploads",
        "matched_selectors": [],
        "highlights": {},
    }
    shown = format_page({"results": [hit], "agencies": [], "links": []})
    assert "\x1b" not in shown and "\x07" not in shown
    assert "tip-]0;owned-1  Report[2J[31m about uploads" in shown
