"""Rates in the settings (node per agency, gateway per officer), and each agency counted apart."""

from __future__ import annotations

from pathlib import Path

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
    limit = PeerRateLimit("2/minute")
    outcomes = []
    for agency in ["a", "a", "b", "a", "b", "b", "c"]:
        try:
            limit.admit(agency)
            outcomes.append("ok")
        except RateLimited as exc:
            outcomes.append(str(exc))
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


@pytest.mark.parametrize("text", ["30/minute", " 5 / second "])
def test_the_gateway_takes_a_rate_per_officer(text: str) -> None:
    from cets.gateway.config import GatewayConfig

    config = GatewayConfig("tps", Path("officer.pub"), Path("audit.log"), rate_limit=text)
    assert config.rate_limit == text


@pytest.mark.parametrize("text", ["0/minute", "lots", "30/fortnight", "-1/hour"])
def test_the_gateway_refuses_a_rate_it_cannot_apply(text: str) -> None:
    from cets.common.settings import ConfigError
    from cets.gateway.config import GatewayConfig

    with pytest.raises(ConfigError, match="CETS_GATEWAY_RATE_LIMIT must look like 30/minute"):
        GatewayConfig("tps", Path("officer.pub"), Path("audit.log"), rate_limit=text)


def test_each_kind_of_request_has_its_own_window() -> None:
    limit = PeerRateLimit("1/minute")
    limit.admit("a", kind="searches")
    limit.admit("a", kind="watches")
    with pytest.raises(RateLimited, match="too many watches from agency 'a'"):
        limit.admit("a", kind="watches")


def test_a_quota_is_a_moving_window_and_forgets_holders_gone_quiet() -> None:
    from cets.common.quota import Quota

    now = [0.0]
    quota = Quota("3/minute", clock=lambda: now[0])
    for at in (0.0, 20.0, 40.0):
        now[0] = at
        assert quota.take("a") is not None
    now[0] = 59.0
    assert quota.take("a") is None  # three in the last 60 s, wherever the minute starts
    assert quota.retry_after_s("a") == 1  # the use at 0 s leaves the window at 60 s
    now[0] = 60.0
    assert quota.take("a") is not None and quota.take("a") is None
    assert quota.retry_after_s("a") == 20
    for holder in range(1000):
        assert quota.take(("searches", f"agency-{holder}")) is not None
    now[0] = 200.0  # every use is more than a minute old: the next use sweeps them away
    assert quota.take("b") is not None
    assert len(quota._windows) == 1


def test_the_officers_quota_gives_back_a_refused_search_and_forgets_old_ones() -> None:
    from cets.common.quota import Quota

    now = [1000.0]
    quota = Quota("2/minute", clock=lambda: now[0])
    first = quota.take("det-1")
    assert first is not None and quota.take("det-1") is not None
    assert quota.take("det-1") is None and quota.take("det-2") is not None
    assert quota.retry_after_s("det-1") == 60
    quota.give_back(first)  # refused as invalid: it did not count
    assert quota.take("det-1") is not None
    now[0] += 61
    assert quota.take("det-1") is not None and quota.take("det-1") is not None


def test_the_metrics_token_comes_from_a_file_and_must_be_long_enough(tmp_path: Path) -> None:
    from cets.common.settings import ConfigError
    from cets.gateway.config import GatewayConfig

    env = {
        "CETS_AGENCY_ID": "tps",
        "CETS_OFFICER_KEY_FILE": "officer.pub",
        "CETS_GATEWAY_AUDIT_LOG": "audit.log",
    }
    assert GatewayConfig.from_env(env).metrics_token is None  # off unless set
    token = tmp_path / "metrics.token"
    token.write_text("s3cret-scraper-token-42\n")
    config = GatewayConfig.from_env({**env, "CETS_GATEWAY_METRICS_TOKEN_FILE": str(token)})
    assert config.metrics_token == "s3cret-scraper-token-42"
    assert "s3cret" not in repr(config)
    token.write_text("short")
    with pytest.raises(ConfigError, match="at least 16 printable"):
        GatewayConfig.from_env({**env, "CETS_GATEWAY_METRICS_TOKEN_FILE": str(token)})
    with pytest.raises(ConfigError, match="cannot read the metrics token"):
        GatewayConfig.from_env({**env, "CETS_GATEWAY_METRICS_TOKEN_FILE": str(tmp_path / "no")})
