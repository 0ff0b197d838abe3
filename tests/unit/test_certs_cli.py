"""``cets certs``: a local CA and certificates that verify, are private where they must be, and
work for mutual TLS between agencies."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from cets.cli import cli
from cets.common.tls import (
    CertPair,
    ClientTls,
    ServerTls,
    channel_credentials,
    channel_options,
    server_credentials,
)


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """The command group configures the root logger; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="cets")


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_demo_makes_a_ca_and_a_certificate_per_agency(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    result = run("certs", "demo", str(out), "--agency", "tps", "--agency", "rcmp")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "ca.crt", "ca.key", "rcmp.crt", "rcmp.key", "tps.crt", "tps.key",
    ]  # fmt: skip
    for name in ("ca", "tps", "rcmp"):
        assert stat.S_IMODE((out / f"{name}.key").stat().st_mode) == 0o600
        assert stat.S_IMODE((out / f"{name}.crt").stat().st_mode) == 0o644
        assert str(out / f"{name}.crt") in result.output

    store = Store([load(out / "ca.crt")])
    for agency in ("tps", "rcmp"):
        cert = load(out / f"{agency}.crt")
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.DNSName) == ["localhost", f"{agency}.cets.local"]
        assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
        for host in ("localhost", f"{agency}.cets.local"):
            verifier = PolicyBuilder().store(store).build_server_verifier(x509.DNSName(host))
            verifier.verify(cert, [])  # chains to the CA, for that name, as a server
        PolicyBuilder().store(store).build_client_verifier().verify(cert, [])  # and as a client
        CertPair.load(out / f"{agency}.crt", out / f"{agency}.key")  # key matches


def test_demo_certificates_work_for_mutual_tls_between_agencies(tmp_path: Path) -> None:
    assert run("certs", "demo", str(tmp_path), "--agency", "tps", "--agency", "rcmp").exit_code == 0
    node = ServerTls(tmp_path / "tps.crt", tmp_path / "tps.key", client_ca=tmp_path / "ca.crt")
    caller = ClientTls(
        tmp_path / "ca.crt", tmp_path / "rcmp.crt", tmp_path / "rcmp.key", "tps.cets.local"
    )

    async def scenario() -> None:
        server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(HealthServicer(), server)
        port = server.add_secure_port("127.0.0.1:0", server_credentials(node))
        await server.start()
        try:
            async with grpc.aio.secure_channel(
                f"127.0.0.1:{port}", channel_credentials(caller), options=channel_options(caller)
            ) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=3)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
        finally:
            await server.stop(None)

    asyncio.run(scenario())


def test_demo_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    assert run("certs", "demo", str(tmp_path), "--agency", "tps").exit_code == 0
    before = (tmp_path / "ca.crt").read_bytes()
    refused = run("certs", "demo", str(tmp_path), "--agency", "tps")
    assert refused.exit_code == 1
    assert "already exist; use --force" in refused.stderr
    assert (tmp_path / "ca.crt").read_bytes() == before
    assert run("certs", "demo", str(tmp_path), "--agency", "tps", "--force").exit_code == 0
    assert (tmp_path / "ca.crt").read_bytes() != before


def test_demo_agency_ids_must_make_dns_names(tmp_path: Path) -> None:
    result = run("certs", "demo", str(tmp_path), "--agency", "no such/agency")
    assert result.exit_code == 2
    assert "it becomes a DNS name" in result.stderr
    assert not tmp_path.joinpath("ca.crt").exists()


def test_ca_then_issue(tmp_path: Path) -> None:
    made = run("certs", "ca", str(tmp_path), "--name", "Test CA", "--days", "30")
    assert made.exit_code == 0, made.output
    ca = load(tmp_path / "ca.crt")
    assert ca.subject.rfc4514_string() == "CN=Test CA"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    issued = run(
        "certs", "issue", str(tmp_path), "federation", "--host", "fed.example",
        "--no-server", "--client",
    )  # fmt: skip
    assert issued.exit_code == 0, issued.output
    cert = load(tmp_path / "federation.crt")
    cert.verify_directly_issued_by(ca)
    assert cert.subject.rfc4514_string() == "CN=federation"
    PolicyBuilder().store(Store([ca])).build_client_verifier().verify(cert, [])
    assert stat.S_IMODE((tmp_path / "federation.key").stat().st_mode) == 0o600

    again = run("certs", "issue", str(tmp_path), "federation", "--host", "x", "--client")
    assert again.exit_code == 1
    assert "already exist; use --force" in again.stderr
    assert run("certs", "ca", str(tmp_path)).exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["node"], "a server certificate needs at least one host"),
        (["node", "--host", "a", "--no-server"], "a server, a client, or both"),
        (["../node", "--host", "a"], "Invalid value for NAME"),
    ],
)
def test_issue_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    assert run("certs", "ca", str(tmp_path)).exit_code == 0
    result = run("certs", "issue", str(tmp_path), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_issue_needs_a_ca(tmp_path: Path) -> None:
    result = run("certs", "issue", str(tmp_path), "node", "--host", "localhost")
    assert result.exit_code == 1
    assert f"{tmp_path / 'ca.crt'}: certificate file does not exist" in result.stderr
    assert "cets certs ca" in result.stderr
