"""TLS and mutual TLS between real gRPC servers and clients on 127.0.0.1, and the checks on
certificate files and settings that run before gRPC sees them."""

from __future__ import annotations

import asyncio
import datetime as dt
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from cets.common.tls import (
    CertPair,
    ClientTls,
    ServerTls,
    TlsError,
    channel_credentials,
    channel_options,
    client_from_env,
    from_env,
    is_loopback,
    issue,
    make_ca,
    server_credentials,
)

TIMEOUT_S = 3.0
OK, UNAVAILABLE = grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE


@dataclass(frozen=True)
class Pki:
    """Certificate files: ``ca`` signs everything but ``other_*``, which ``other_ca`` signs."""

    dir: Path

    def cert(self, name: str) -> Path:
        return self.dir / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.dir / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    pki = Pki(tmp_path_factory.mktemp("pki"))
    ca, other_ca = make_ca("test CA"), make_ca("other CA")
    ca.write(pki.cert("ca"), pki.key("ca"))
    other_ca.write(pki.cert("other_ca"), pki.key("other_ca"))
    loopback = ["localhost", "127.0.0.1"]
    made = {
        "server": issue(ca, "server", hosts=loopback, server=True, client=False),
        "client": issue(ca, "client", hosts=[], server=False, client=True),
        "other_client": issue(other_ca, "intruder", hosts=[], server=False, client=True),
        "node": issue(ca, "node", hosts=["node.cets.local"], server=True, client=False),
    }
    for name, pair in made.items():
        pair.write(pki.cert(name), pki.key(name))
    return pki


@asynccontextmanager
async def serving(tls: ServerTls) -> AsyncIterator[int]:
    """A gRPC server with the health service on 127.0.0.1; yields its port."""
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(HealthServicer(), server)
    port = server.add_secure_port("127.0.0.1:0", server_credentials(tls))
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)


async def check(port: int, tls: ClientTls, host: str = "127.0.0.1") -> grpc.StatusCode:
    """Call the health service; the status code the call ended with."""
    async with grpc.aio.secure_channel(
        f"{host}:{port}", channel_credentials(tls), options=channel_options(tls)
    ) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT_S)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        return grpc.StatusCode.OK


# --- connecting ------------------------------------------------------------------------------


def test_tls_client_that_trusts_the_ca_connects_and_others_do_not(pki: Pki) -> None:
    async def scenario() -> None:
        async with serving(ServerTls(pki.cert("server"), pki.key("server"))) as port:
            assert await check(port, ClientTls(pki.cert("ca"))) == OK
            assert await check(port, ClientTls(pki.cert("ca")), "localhost") == OK
            assert await check(port, ClientTls(pki.cert("other_ca"))) == UNAVAILABLE

    asyncio.run(scenario())


def test_mutual_tls_needs_a_client_certificate_from_the_ca(pki: Pki) -> None:
    tls = ServerTls(pki.cert("server"), pki.key("server"), client_ca=pki.cert("ca"))
    member = ClientTls(pki.cert("ca"), pki.cert("client"), pki.key("client"))
    anonymous = ClientTls(pki.cert("ca"))
    intruder = ClientTls(pki.cert("ca"), pki.cert("other_client"), pki.key("other_client"))

    async def scenario() -> None:
        async with serving(tls) as port:
            assert await check(port, member) == OK
            assert await check(port, anonymous) == UNAVAILABLE
            assert await check(port, intruder) == UNAVAILABLE

    asyncio.run(scenario())


def test_server_name_override_checks_the_certificate_against_that_name(pki: Pki) -> None:
    named = ClientTls(pki.cert("ca"), server_name="node.cets.local")
    misnamed = ClientTls(pki.cert("ca"), server_name="other.cets.local")

    async def scenario() -> None:
        async with serving(ServerTls(pki.cert("node"), pki.key("node"))) as port:
            assert await check(port, named) == OK
            assert await check(port, ClientTls(pki.cert("ca"))) == UNAVAILABLE
            assert await check(port, misnamed) == UNAVAILABLE

    asyncio.run(scenario())


def test_channel_options_carry_the_override_only_when_set(pki: Pki) -> None:
    assert channel_options(ClientTls(pki.cert("ca"))) == []
    assert channel_options(ClientTls(pki.cert("ca"), server_name="n.example")) == [
        ("grpc.ssl_target_name_override", "n.example")
    ]


# --- checking files --------------------------------------------------------------------------


def test_a_missing_file_is_named(pki: Pki, tmp_path: Path) -> None:
    missing = tmp_path / "absent.crt"
    with pytest.raises(TlsError, match=rf"{missing}: certificate file does not exist"):
        server_credentials(ServerTls(missing, pki.key("server")))
    with pytest.raises(TlsError, match=rf"{missing}: client CA file does not exist"):
        server_credentials(ServerTls(pki.cert("server"), pki.key("server"), client_ca=missing))
    with pytest.raises(TlsError, match=rf"{missing}: CA file does not exist"):
        channel_credentials(ClientTls(missing))


def test_a_directory_is_not_a_file(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(TlsError, match=rf"{tmp_path}: private key file is a directory"):
        server_credentials(ServerTls(pki.cert("server"), tmp_path))


def test_garbage_is_not_pem(pki: Pki, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(TlsError, match=rf"{garbage}: not a PEM certificate file"):
        server_credentials(ServerTls(garbage, pki.key("server")))
    with pytest.raises(TlsError, match=rf"{garbage}: not a PEM certificate file"):
        channel_credentials(ClientTls(garbage))
    with pytest.raises(TlsError, match=rf"{garbage}: not a PEM private key file"):
        server_credentials(ServerTls(pki.cert("server"), garbage))
    # A certificate where the key belongs is not a key either.
    with pytest.raises(TlsError, match=rf"{pki.cert('ca')}: not a PEM private key file"):
        server_credentials(ServerTls(pki.cert("server"), pki.cert("ca")))


def test_a_key_that_does_not_match_the_certificate_is_refused(pki: Pki) -> None:
    with pytest.raises(
        TlsError,
        match=rf"{pki.key('client')}: private key does not match the certificate in "
        rf"{pki.cert('server')}",
    ):
        server_credentials(ServerTls(pki.cert("server"), pki.key("client")))
    with pytest.raises(TlsError, match="does not match"):
        channel_credentials(ClientTls(pki.cert("ca"), pki.cert("client"), pki.key("server")))


def test_expired_and_not_yet_valid_certificates_are_refused(pki: Pki, tmp_path: Path) -> None:
    ca = CertPair.load(pki.cert("ca"), pki.key("ca"))
    now = dt.datetime.now(dt.UTC)
    old = issue(
        ca, "old", hosts=["localhost"], server=True, client=False, days=1,
        valid_from=now - dt.timedelta(days=10),
    )  # fmt: skip
    old.write(tmp_path / "old.crt", tmp_path / "old.key")
    with pytest.raises(TlsError, match=rf"{tmp_path / 'old.crt'}: certificate CN=old expired on"):
        server_credentials(ServerTls(tmp_path / "old.crt", tmp_path / "old.key"))

    future_ca = make_ca("future CA", valid_from=now + dt.timedelta(days=2))
    future_ca.write(tmp_path / "future.crt", tmp_path / "future.key")
    with pytest.raises(TlsError, match=r"future.crt: certificate CN=future CA is not valid until"):
        channel_credentials(ClientTls(tmp_path / "future.crt"))
    with pytest.raises(TlsError, match=r"future.crt: .* not valid until"):
        CertPair.load(tmp_path / "future.crt", tmp_path / "future.key")


def test_a_certificate_must_be_meant_for_its_role(pki: Pki) -> None:
    with pytest.raises(
        TlsError, match=rf"{pki.cert('client')}: certificate is not for TLS servers"
    ):
        server_credentials(ServerTls(pki.cert("client"), pki.key("client")))
    with pytest.raises(
        TlsError, match=rf"{pki.cert('server')}: certificate is not for TLS clients"
    ):
        channel_credentials(ClientTls(pki.cert("ca"), pki.cert("server"), pki.key("server")))


def test_a_client_certificate_needs_its_key() -> None:
    with pytest.raises(TlsError, match="cert is set but key is not"):
        ClientTls(Path("ca.crt"), cert=Path("c.crt"))
    with pytest.raises(TlsError, match="key is set but cert is not"):
        ClientTls(Path("ca.crt"), key=Path("c.key"))


# --- settings from the environment -----------------------------------------------------------


def test_server_settings_from_the_environment() -> None:
    assert from_env("NODE", {}) is None
    assert from_env("NODE", {"NODE_TLS_CERT": "", "OTHER_TLS_KEY": "k"}) is None
    assert from_env("NODE", {"NODE_TLS_CERT": "c", "NODE_TLS_KEY": "k"}) == ServerTls(
        Path("c"), Path("k")
    )
    full = {"NODE_TLS_CERT": "c", "NODE_TLS_KEY": "k", "NODE_TLS_CLIENT_CA": "ca"}
    assert from_env("NODE_", full) == ServerTls(Path("c"), Path("k"), Path("ca"))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NODE_TLS_CERT": "c"}, "NODE_TLS_KEY is not set, but NODE_TLS_CERT is"),
        ({"NODE_TLS_KEY": "k"}, "NODE_TLS_CERT is not set, but NODE_TLS_KEY is"),
        ({"NODE_TLS_CLIENT_CA": "ca"}, "NODE_TLS_CERT is not set, but NODE_TLS_CLIENT_CA is"),
    ],
)
def test_partial_server_settings_name_the_missing_variable(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(TlsError, match=message):
        from_env("NODE", env)


def test_client_settings_from_the_environment() -> None:
    assert client_from_env("FED", {}) is None
    assert client_from_env("FED", {"FED_TLS_CA": "ca"}) == ClientTls(Path("ca"))
    full = {
        "FED_TLS_CA": "ca",
        "FED_TLS_CERT": "c",
        "FED_TLS_KEY": "k",
        "FED_TLS_SERVER_NAME": "node.cets.local",
    }
    assert client_from_env("FED", full) == ClientTls(
        Path("ca"), Path("c"), Path("k"), "node.cets.local"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FED_TLS_CERT": "c", "FED_TLS_KEY": "k"}, "FED_TLS_CA is not set, but FED_TLS_CERT is"),
        ({"FED_TLS_SERVER_NAME": "n"}, "FED_TLS_CA is not set, but FED_TLS_SERVER_NAME is"),
        ({"FED_TLS_CA": "ca", "FED_TLS_CERT": "c"}, "FED_TLS_KEY is not set, but FED_TLS_CERT is"),
        ({"FED_TLS_CA": "ca", "FED_TLS_KEY": "k"}, "FED_TLS_CERT is not set, but FED_TLS_KEY is"),
    ],
)
def test_partial_client_settings_name_the_missing_variable(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(TlsError, match=message):
        client_from_env("FED", env)


# --- making certificates ---------------------------------------------------------------------


def test_issued_certificates_have_what_was_asked_for(pki: Pki) -> None:
    ca = CertPair.load(pki.cert("ca"), pki.key("ca"))
    pair = issue(ca, "both", hosts=["n.example", "::1"], server=True, client=True, days=30)
    cert = pair.certificate
    cert.verify_directly_issued_by(ca.certificate)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["n.example"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["::1"]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime == dt.timedelta(days=30)
    assert cert.version == x509.Version.v3

    client_only = issue(ca, "c", hosts=[], server=False, client=True).certificate
    usages = client_only.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]


@pytest.mark.parametrize(
    ("hosts", "server", "client", "message"),
    [
        (["a"], False, False, "a server, a client, or both"),
        ([], True, False, "needs at least one host"),
        (["bad host"], True, False, "neither a DNS name nor an IP address"),
    ],
)
def test_issue_refuses_what_cannot_work(
    pki: Pki, hosts: list[str], server: bool, client: bool, message: str
) -> None:
    ca = CertPair.load(pki.cert("ca"), pki.key("ca"))
    with pytest.raises(ValueError, match=message):
        issue(ca, "x", hosts=hosts, server=server, client=client)


def test_writing_keeps_the_key_private_also_when_replacing(tmp_path: Path) -> None:
    cert_path, key_path = tmp_path / "sub" / "x.crt", tmp_path / "sub" / "x.key"
    key_path.parent.mkdir()
    key_path.write_bytes(b"old")
    key_path.chmod(0o644)
    pair = make_ca("x")
    pair.write(cert_path, key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cert_path.stat().st_mode) == 0o644
    assert CertPair.load(cert_path, key_path) == pair


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1:50051", True),
        ("localhost:1", True),
        ("[::1]:50051", True),
        ("0.0.0.0:50051", False),
        ("10.1.2.3:50051", False),
        ("node.example:50051", False),
    ],
)
def test_is_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback
