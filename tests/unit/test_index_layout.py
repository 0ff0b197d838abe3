"""The index's shards and replicas: settings, the template, and a partial OpenSearch answer."""

from __future__ import annotations

from typing import Any

import pytest

from cets.core.query import SearchQuery
from cets.search.dsl import parse_response, partial_reason
from cets.search.index import IndexLayout, IndexNames, _same_layout, index_template
from cets.search.store import hosts_of

NAMES = IndexNames("cets", "tps")


def test_auto_replicas_let_opensearch_follow_the_data_nodes() -> None:
    settings = index_template(NAMES, IndexLayout())["template"]["settings"]
    assert settings["number_of_shards"] == 1
    assert settings["auto_expand_replicas"] == "0-1"  # 0 on one data node, 1 from two on
    assert settings["number_of_replicas"] == 0


def test_a_fixed_replica_count_turns_auto_expansion_off() -> None:
    settings = index_template(NAMES, IndexLayout(shards=3, replicas=2))["template"]["settings"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == (3, 2)
    assert settings["auto_expand_replicas"] is False


@pytest.mark.parametrize(
    ("replicas", "expected"), [("auto", None), ("AUTO", None), ("0", 0), (" 2 ", 2)]
)
def test_replicas_parse(replicas: str, expected: int | None) -> None:
    assert IndexLayout.parse(1, replicas).replicas == expected


@pytest.mark.parametrize(("shards", "replicas"), [(0, "auto"), (65, "1"), (1, "9"), (1, "x")])
def test_bad_layouts_are_refused(shards: int, replicas: str) -> None:
    with pytest.raises(ValueError, match=r"shards|replicas"):
        IndexLayout.parse(shards, replicas)


@pytest.mark.parametrize(
    ("settings", "layout", "same"),
    [
        ({"number_of_replicas": "1", "auto_expand_replicas": "0-1"}, IndexLayout(), True),
        ({"number_of_replicas": "0"}, IndexLayout(), False),
        ({"number_of_replicas": "1", "auto_expand_replicas": "false"}, IndexLayout(1, 1), True),
        ({"number_of_replicas": "1", "auto_expand_replicas": "0-1"}, IndexLayout(1, 1), False),
        ({"number_of_replicas": "0"}, IndexLayout(1, 2), False),
    ],
)
def test_an_existing_index_is_compared_with_the_configured_replicas(
    settings: dict[str, Any], layout: IndexLayout, same: bool
) -> None:
    assert _same_layout(settings, layout, shards=False) is same


def test_several_node_urls() -> None:
    assert hosts_of("http://a:9200") == ["http://a:9200"]
    assert hosts_of("http://a:9200, http://b:9200,") == ["http://a:9200", "http://b:9200"]


def _raw(**fields: Any) -> dict[str, Any]:
    return {"took": 3, "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}, **fields}


def test_a_complete_answer_is_not_partial() -> None:
    raw = _raw(timed_out=False, _shards={"total": 3, "successful": 3, "skipped": 0, "failed": 0})
    assert partial_reason(raw) == ""
    assert parse_response(SearchQuery(text="x"), raw).partial == ""


def test_failed_shards_make_the_answer_partial() -> None:
    raw = _raw(_shards={"total": 3, "successful": 2, "failed": 1, "failures": [{"reason": "q"}]})
    result = parse_response(SearchQuery(text="x"), raw)
    assert result.partial == "1 of 3 shards failed"  # counts only: a reason may quote the query
    assert result.total_is_lower_bound is False


def test_opensearchs_own_timeout_makes_the_answer_partial() -> None:
    raw = _raw(timed_out=True, _shards={"total": 1, "successful": 1, "failed": 0})
    result = parse_response(SearchQuery(text="x"), raw)
    assert result.partial == "OpenSearch stopped at its timeout"
    assert result.total_is_lower_bound


def test_missing_shards_without_failures_are_partial() -> None:
    assert partial_reason(_raw(_shards={"total": 2, "successful": 1, "failed": 0})) == (
        "1 of 2 shards missing"
    )
