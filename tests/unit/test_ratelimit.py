"""The node's per-agency rate: what a setting may say, and that each agency is counted apart."""

from __future__ import annotations

import asyncio

import pytest

from cets.search.errors import RateLimited
from cets.search.ratelimit import PeerRateLimit, check_rate_limit


@pytest.mark.parametrize(
    ("text", "amount", "seconds"),
    [("600/minute", 600, 60), ("5/second", 5, 1), (" 20 / hour ", 20, 3600), ("1/day", 1, 86400)],
)
def test_a_rate_is_a_count_per_period(text: str, amount: int, seconds: int) -> None:
    item = check_rate_limit(text)
    assert (item.amount, item.get_expiry()) == (amount, seconds)


@pytest.mark.parametrize(
    "text", ["", "600", "0/minute", "-1/minute", "600/fortnight", "600 per minute", "1e3/minute"]
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a rate like 600/minute"):
        check_rate_limit(text)


def test_each_agency_has_its_own_allowance() -> None:
    async def run() -> list[str]:
        limit = PeerRateLimit("2/minute")
        outcomes = []
        for agency in ["a", "a", "b", "a", "b", "b", "c"]:
            try:
                await limit.admit(agency)
                outcomes.append("ok")
            except RateLimited as exc:
                outcomes.append(str(exc))
        return outcomes

    outcomes = asyncio.run(run())
    refused = "this node answers at most 2/minute per agency; retry later"
    assert outcomes == [
        "ok",
        "ok",
        "ok",
        f"too many searches from agency 'a': {refused}",
        "ok",
        f"too many searches from agency 'b': {refused}",
        "ok",
    ]
