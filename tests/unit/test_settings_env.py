"""Settings written out as environment variables read back as the same settings, so a test
(or a launcher) can run ``cets node serve``, ``cets ingest`` and ``cets federation serve`` as
processes with exactly the configuration it would use in-process."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from cets.common.tls import ClientTls, ServerTls
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.federation.config import FederationConfig
from cets.search.config import NodeConfig


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> LocalFederation:
    specs = [AgencySpec("tps", "Toronto Police Service", "CA"), AgencySpec("nca", "NCA", None)]
    return build_local_federation(tmp_path_factory.mktemp("federation"), specs)


def test_node_settings_read_back_the_same(fed: LocalFederation) -> None:
    agency = fed.agency("tps")
    config = agency.node_config("http://127.0.0.1:9200", index_prefix="faults")
    env = agency.node_env("http://127.0.0.1:9200", index_prefix="faults")
    assert NodeConfig.from_env(env) == config
    assert env["CETS_CARD_KEY_FILE"] == str(fed.root / "card.key")
    assert env["CETS_NODE_GRACE_S"] == "1.0"


def test_node_tls_settings_read_back_the_same(fed: LocalFederation, tmp_path: Path) -> None:
    config = dataclasses.replace(
        fed.agency("nca").node_config("https://search.nca.example:9200"),
        tls=ServerTls(tmp_path / "node.crt", tmp_path / "node.key", client_ca=tmp_path / "ca"),
        max_clock_skew_s=0.1 + 0.2,  # a float that prints with many digits
    )
    env = config.to_env(card_key_file=fed.root / "card.key")
    assert "CETS_DEFAULT_REGION" not in env  # None is left out, not written as "None"
    assert NodeConfig.from_env(env) == config


def test_federation_settings_read_back_the_same(fed: LocalFederation, tmp_path: Path) -> None:
    agency = fed.agency("tps")
    assert FederationConfig.from_env(agency.federation_env()) == agency.federation_config()
    config = agency.federation_config(
        tls=ServerTls(tmp_path / "fed.crt", tmp_path / "fed.key", client_ca=tmp_path / "ca"),
        peer_tls=ClientTls(
            tmp_path / "ca", tmp_path / "c.crt", tmp_path / "c.key", server_name="node.local"
        ),
        allowed_clients=frozenset({"gateway-2", "gateway-1"}),
        default_timeout_s=2.5,
    )
    env = config.to_env(card_key_file=fed.root / "card.key")
    assert env["CETS_FEDERATION_ALLOWED_CLIENTS"] == "gateway-1,gateway-2"
    assert FederationConfig.from_env(env) == config


def test_a_card_key_file_that_holds_another_key_is_refused(
    fed: LocalFederation, tmp_path: Path
) -> None:
    other = tmp_path / "other.key"
    other.write_text("00" * 32 + "\n")
    with pytest.raises(ValueError, match="card key"):
        fed.agency("tps").node_config("http://127.0.0.1:9200").to_env(card_key_file=other)
    with pytest.raises(ValueError, match="card key"):
        fed.agency("tps").federation_config().to_env()  # it has a card key: where is it?
    without = fed.agency("tps").federation_config(card_key=None).to_env()
    assert "CETS_CARD_KEY_FILE" not in without


def test_the_federations_receive_limit_and_health_listener_are_settings(
    fed: LocalFederation,
) -> None:
    from cets.core.errors import ConfigError
    from cets.federation.peers import GrpcCaller
    from cets.federation.server import FederationServer

    agency = fed.agency("tps")
    assert agency.federation_config().max_answer_bytes == 4 * 1024 * 1024  # as before
    env = agency.federation_env() | {
        "CETS_FEDERATION_MAX_ANSWER_BYTES": "16777216",
        "CETS_FEDERATION_HEALTH_LISTEN": "127.0.0.1:8081",
    }
    config = FederationConfig.from_env(env)
    assert (config.max_answer_bytes, config.health_listen) == (16 * 1024 * 1024, "127.0.0.1:8081")
    assert FederationConfig.from_env(config.to_env(card_key_file=fed.root / "card.key")) == config

    async def built() -> FederationServer:  # a gRPC aio server is made inside an event loop
        return FederationServer(config)

    server = asyncio.run(built())
    assert isinstance(server._caller, GrpcCaller)
    assert server._caller._max_message == 16 * 1024 * 1024  # what the peers' channels take
    server._audit.close()
    for bad in ("512", "many"):
        with pytest.raises(ConfigError, match="CETS_FEDERATION_MAX_ANSWER_BYTES"):
            FederationConfig.from_env(env | {"CETS_FEDERATION_MAX_ANSWER_BYTES": bad})
    with pytest.raises(ConfigError, match="CETS_FEDERATION_HEALTH_LISTEN"):
        FederationConfig.from_env(env | {"CETS_FEDERATION_HEALTH_LISTEN": config.listen})
