"""Node settings from the environment: defaults, parsing, overrides, and failing fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from cets.core.errors import ConfigError
from cets.search.config import NodeConfig

KEY_HEX = "00112233445566778899aabbccddeeff" * 2


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "card.key"
    path.write_text(KEY_HEX + "\n", encoding="ascii")
    return path


@pytest.fixture
def env(key_file: Path) -> dict[str, str]:
    return {
        "CETS_AGENCY_ID": "tps",
        "OPENSEARCH_URL": "http://localhost:9200",
        "CETS_CARD_KEY_FILE": str(key_file),
    }


def test_required_settings_and_defaults(env: dict[str, str]) -> None:
    config = NodeConfig.from_env(env)
    assert config.agency_id == "tps"
    assert config.opensearch_url == "http://localhost:9200"
    assert config.card_key == bytes.fromhex(KEY_HEX)
    assert config.listen == "127.0.0.1:50051"
    assert config.default_region is None
    assert config.index_prefix == "cets"
    assert config.default_timeout_s == 10.0
    assert config.index.alias == "cets-tps-records"
    assert config.max_request_bytes == 64 * 1024
    assert config.rate_limit == "3000/minute"
    assert (config.index_shards, config.index_replicas) == (1, "auto")
    assert config.index_layout.replicas is None  # auto: OpenSearch's auto_expand_replicas
    assert config.wait_for_active_shards == "1"


def test_shards_replicas_and_active_shards_are_read(env: dict[str, str]) -> None:
    env |= {
        "CETS_INDEX_SHARDS": "3",
        "CETS_INDEX_REPLICAS": "2",
        "CETS_WAIT_FOR_ACTIVE_SHARDS": "all",
        "OPENSEARCH_URL": "http://os-0:9200, http://os-1:9200,http://os-2:9200",
    }
    config = NodeConfig.from_env(env)
    assert (config.index_layout.shards, config.index_layout.replicas) == (3, 2)
    assert config.wait_for_active_shards == "all"


def test_every_setting_is_read(env: dict[str, str]) -> None:
    env |= {
        "CETS_NODE_LISTEN": "0.0.0.0:7000",
        "CETS_DEFAULT_REGION": "GB",
        "CETS_INDEX_PREFIX": "test",
        "CETS_NODE_TIMEOUT_S": "2.5",
        "CETS_NODE_GRACE_S": "0",
        "CETS_NODE_MAX_MESSAGE_BYTES": "1048576",
        "CETS_NODE_MAX_REQUEST_BYTES": "32768",
        "CETS_MAX_CLOCK_SKEW_S": "5",
        "CETS_NODE_RATE_LIMIT": "20/second",
    }
    config = NodeConfig.from_env(env)
    assert config.listen == "0.0.0.0:7000"
    assert config.default_region == "GB"
    assert config.index.alias == "test-tps-records"
    assert config.default_timeout_s == 2.5
    assert config.grace_s == 0.0
    assert config.max_message_bytes == 1_048_576
    assert config.max_request_bytes == 32_768
    assert config.max_clock_skew_s == 5.0
    assert config.rate_limit == "20/second"


def test_an_empty_variable_counts_as_unset(env: dict[str, str]) -> None:
    env |= {"CETS_NODE_LISTEN": "", "CETS_DEFAULT_REGION": ""}
    config = NodeConfig.from_env(env)
    assert config.listen == "127.0.0.1:50051"
    assert config.default_region is None


def test_the_card_key_is_not_in_the_repr(env: dict[str, str]) -> None:
    assert KEY_HEX[:16] not in repr(NodeConfig.from_env(env))
    assert "card_key" not in repr(NodeConfig.from_env(env))


@pytest.mark.parametrize("variable", ["CETS_AGENCY_ID", "OPENSEARCH_URL", "CETS_CARD_KEY_FILE"])
def test_a_missing_required_setting_is_named(env: dict[str, str], variable: str) -> None:
    del env[variable]
    with pytest.raises(ConfigError, match=f"^{variable} is not set$"):
        NodeConfig.from_env(env)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("CETS_DEFAULT_REGION", "canada", "CETS_DEFAULT_REGION"),
        ("CETS_DEFAULT_REGION", "ca", "CETS_DEFAULT_REGION"),
        ("CETS_DEFAULT_REGION", "XX", "CETS_DEFAULT_REGION"),
        ("CETS_NODE_LISTEN", "nope", "CETS_NODE_LISTEN"),
        ("CETS_NODE_LISTEN", "host:port", "CETS_NODE_LISTEN"),
        ("CETS_AGENCY_ID", "Bad Id", "agency id"),
        ("CETS_INDEX_PREFIX", "Bad_Prefix", "index prefix"),
        ("OPENSEARCH_URL", "localhost:9200", "OPENSEARCH_URL"),
        ("OPENSEARCH_URL", "http://a:9200,b:9200", "OPENSEARCH_URL"),
        ("CETS_INDEX_SHARDS", "0", "CETS_INDEX_SHARDS"),
        ("CETS_INDEX_SHARDS", "many", "CETS_INDEX_SHARDS"),
        ("CETS_INDEX_REPLICAS", "some", "CETS_INDEX_REPLICAS"),
        ("CETS_INDEX_REPLICAS", "-1", "CETS_INDEX_REPLICAS"),
        ("CETS_WAIT_FOR_ACTIVE_SHARDS", "0", "CETS_WAIT_FOR_ACTIVE_SHARDS"),
        ("CETS_WAIT_FOR_ACTIVE_SHARDS", "most", "CETS_WAIT_FOR_ACTIVE_SHARDS"),
        ("CETS_NODE_TIMEOUT_S", "soon", "CETS_NODE_TIMEOUT_S"),
        ("CETS_NODE_TIMEOUT_S", "0", "CETS_NODE_TIMEOUT_S"),
        ("CETS_NODE_TIMEOUT_S", "-1", "CETS_NODE_TIMEOUT_S"),
        ("CETS_NODE_TIMEOUT_S", "nan", "CETS_NODE_TIMEOUT_S"),
        ("CETS_NODE_TIMEOUT_S", "inf", "CETS_NODE_TIMEOUT_S"),
        ("CETS_NODE_GRACE_S", "-1", "CETS_NODE_GRACE_S"),
        ("CETS_NODE_GRACE_S", "nan", "CETS_NODE_GRACE_S"),
        ("CETS_NODE_MAX_MESSAGE_BYTES", "4MB", "CETS_NODE_MAX_MESSAGE_BYTES"),
        ("CETS_NODE_MAX_MESSAGE_BYTES", "-1", "CETS_NODE_MAX_MESSAGE_BYTES"),
        ("CETS_NODE_MAX_REQUEST_BYTES", "-1", "CETS_NODE_MAX_REQUEST_BYTES"),
        ("CETS_NODE_MAX_REQUEST_BYTES", "0", "CETS_NODE_MAX_REQUEST_BYTES"),
        ("CETS_NODE_MAX_REQUEST_BYTES", "4294967296", "CETS_NODE_MAX_REQUEST_BYTES"),
        ("CETS_MAX_CLOCK_SKEW_S", "-1", "CETS_MAX_CLOCK_SKEW_S"),
        ("CETS_MAX_CLOCK_SKEW_S", "nan", "CETS_MAX_CLOCK_SKEW_S"),
        ("CETS_NODE_RATE_LIMIT", "lots", "CETS_NODE_RATE_LIMIT"),
        ("CETS_NODE_RATE_LIMIT", "0/minute", "CETS_NODE_RATE_LIMIT"),
        ("CETS_NODE_RATE_LIMIT", "600/fortnight", "CETS_NODE_RATE_LIMIT"),
        ("CETS_NODE_RATE_LIMIT", "-5/minute", "CETS_NODE_RATE_LIMIT"),
        ("CETS_NODE_RATE_LIMIT", "600", "CETS_NODE_RATE_LIMIT"),
    ],
)
def test_a_bad_value_is_refused_naming_the_setting(
    env: dict[str, str], variable: str, value: str, named: str
) -> None:
    env[variable] = value
    with pytest.raises(ConfigError, match=named):
        NodeConfig.from_env(env)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"00112233", "shorter than 16 bytes"),
        (b"", "shorter than 16 bytes"),
        (b"not hex at all, not hex at all, not hex", "must hold hexadecimal text"),
        (b"0011223344556677889\n", "must hold hexadecimal text"),
        ("\u00e9".encode() * 40, "must hold hexadecimal text"),
    ],
)
def test_a_bad_card_key_file_is_refused(
    env: dict[str, str], key_file: Path, content: bytes, reason: str
) -> None:
    key_file.write_bytes(content)
    with pytest.raises(ConfigError, match=reason) as caught:
        NodeConfig.from_env(env)
    assert "card key" in str(caught.value)


def test_a_missing_card_key_file_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    env["CETS_CARD_KEY_FILE"] = str(tmp_path / "absent.key")
    with pytest.raises(ConfigError, match="cannot read the card key file"):
        NodeConfig.from_env(env)


def test_overrides_win_over_the_environment(env: dict[str, str], tmp_path: Path) -> None:
    other_key = tmp_path / "other.key"
    other_key.write_text("ff" * 32)
    env |= {"CETS_NODE_LISTEN": "0.0.0.0:7000", "CETS_DEFAULT_REGION": "GB"}
    config = NodeConfig.from_env(
        env,
        agency_id="rcmp",
        opensearch_url="https://search.internal:9200",
        card_key_file=other_key,
        listen="127.0.0.1:0",
        default_region="CA",
    )
    assert config.agency_id == "rcmp"
    assert config.opensearch_url == "https://search.internal:9200"
    assert config.card_key == b"\xff" * 32
    assert config.listen == "127.0.0.1:0"
    assert config.default_region == "CA"


def test_overrides_that_are_none_leave_the_environment(env: dict[str, str]) -> None:
    config = NodeConfig.from_env(env, agency_id=None, card_key_file=None, listen=None)
    assert config.agency_id == "tps"
    assert config.card_key == bytes.fromhex(KEY_HEX)
    assert config.listen == "127.0.0.1:50051"


def test_overrides_can_supply_required_settings() -> None:
    config = NodeConfig.from_env(
        {}, agency_id="nca", opensearch_url="http://os:9200", card_key=b"k" * 16
    )
    assert config.agency_id == "nca"
    assert config.card_key == b"k" * 16


def test_a_bad_override_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="CETS_NODE_LISTEN"):
        NodeConfig.from_env(env, listen="nope")
    with pytest.raises(ConfigError, match="card key"):
        NodeConfig.from_env(env, card_key=b"short")
