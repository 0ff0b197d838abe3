"""TLS for gRPC between federation services and search nodes, from certificate files.

What is configured, and how:

- A **server** (a search node) has a certificate chain and its private key, both PEM files
  (:class:`ServerTls`). With ``client_ca`` set it requires *mutual* TLS: every client must
  present a certificate signed by that CA, or the handshake fails.
- A **client** (a federation service) trusts the CA in ``ca`` for the servers it calls
  (:class:`ClientTls`). For mutual TLS it also has a certificate and key of its own.
  ``server_name`` replaces the host name checked against the server's certificate, so a test
  or demo can dial ``127.0.0.1`` while the certificate names ``node.cets.local``.
- From the environment, with a prefix such as ``CETS_NODE`` (:func:`from_env`,
  :func:`client_from_env`)::

      server: <PREFIX>_TLS_CERT, <PREFIX>_TLS_KEY, <PREFIX>_TLS_CLIENT_CA (optional: mutual TLS)
      client: <PREFIX>_TLS_CA, <PREFIX>_TLS_CERT and <PREFIX>_TLS_KEY (optional, together),
              <PREFIX>_TLS_SERVER_NAME (optional)

  None of them set means no TLS settings (``None``); an empty value counts as not set.

The files are read and checked before gRPC sees them, because gRPC reports bad files late and
vaguely (a failed handshake, or a crash in the TLS library). Every problem is a
:class:`TlsError` (a ``ValueError``) whose message names the file or variable and what is
wrong: the file is missing or unreadable, is not PEM, the key does not match the certificate,
a certificate has expired or is not valid yet, or its extended key usage does not allow the
role (gRPC enforces it: a node needs serverAuth, a client certificate clientAuth).

For a local CA and demo certificates, :func:`make_ca` and :func:`issue` make ECDSA P-256 keys
and SHA-256-signed X.509 v3 certificates; ``cets certs`` is the command line for them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CertPair",
    "ClientTls",
    "ServerTls",
    "TlsError",
    "channel_credentials",
    "channel_options",
    "client_from_env",
    "client_to_env",
    "from_env",
    "is_loopback",
    "issue",
    "make_ca",
    "server_credentials",
    "to_env",
]

#: How far back a new certificate's validity starts, for clocks that are slightly behind.
CLOCK_SKEW = dt.timedelta(minutes=5)


class TlsError(ValueError):
    """TLS settings or files that cannot be used; the message names the file or variable."""


@dataclass(frozen=True)
class ServerTls:
    """A server's certificate chain and key; with ``client_ca``, clients must present a
    certificate signed by that CA (mutual TLS)."""

    cert: Path
    key: Path
    client_ca: Path | None = None


@dataclass(frozen=True)
class ClientTls:
    """The CA a client trusts for servers; optionally its own certificate and key (mutual
    TLS), and a name to check the server's certificate against instead of the dialled host."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            given, missing = ("cert", "key") if self.key is None else ("key", "cert")
            raise TlsError(f"client TLS: {given} is set but {missing} is not; set both or neither")


# --- reading and checking files -------------------------------------------------------------


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise TlsError(f"{path}: {what} file does not exist") from None
    except IsADirectoryError:
        raise TlsError(f"{path}: {what} file is a directory") from None
    except OSError as exc:
        raise TlsError(f"{path}: {what} file cannot be read ({exc.strerror})") from None


def _check_dates(path: Path, cert: x509.Certificate, now: dt.datetime) -> None:
    subject = cert.subject.rfc4514_string() or "(no subject)"
    if cert.not_valid_after_utc <= now:
        when = f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        raise TlsError(f"{path}: certificate {subject} expired on {when}")
    if cert.not_valid_before_utc > now:
        when = f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        raise TlsError(f"{path}: certificate {subject} is not valid until {when}")


def _parse_certs(data: bytes, path: Path) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise TlsError(f"{path}: not a PEM certificate file") from None
    now = dt.datetime.now(dt.UTC)
    for cert in certs:
        _check_dates(path, cert, now)
    return certs


def _parse_key(data: bytes, path: Path) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise TlsError(f"{path}: private key is encrypted; an unencrypted key is needed") from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsError(f"{path}: not a PEM private key file") from None


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _read_certs(path: Path, what: str) -> bytes:
    """The PEM bytes of a certificate file, after checking it holds current certificates."""
    data = _read(path, what)
    _parse_certs(data, path)
    return data


def _check_purpose(path: Path, cert: x509.Certificate, role: str) -> None:
    """gRPC refuses a peer whose certificate lists extended key usages but not its role."""
    usage = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return  # no restriction
    if usage[role] not in usages and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages:
        raise TlsError(f"{path}: certificate is not for TLS {role}s (extended key usage)")


def _read_pair(cert_path: Path, key_path: Path, role: str | None = None) -> tuple[bytes, bytes]:
    """A certificate chain and its key as PEM, after checking they belong together and, with
    ``role`` ("server" or "client"), that the certificate may be used for it."""
    cert_pem = _read(cert_path, "certificate")
    key_pem = _read(key_path, "private key")
    leaf = _parse_certs(cert_pem, cert_path)[0]
    key = _parse_key(key_pem, key_path)
    if _spki(key.public_key()) != _spki(leaf.public_key()):
        raise TlsError(f"{key_path}: private key does not match the certificate in {cert_path}")
    if role is not None:
        _check_purpose(cert_path, leaf, role)
    return cert_pem, key_pem


# --- gRPC credentials ------------------------------------------------------------------------


def server_credentials(tls: ServerTls) -> grpc.ServerCredentials:
    """Credentials for ``server.add_secure_port``; mutual TLS when ``tls.client_ca`` is set."""
    cert_pem, key_pem = _read_pair(tls.cert, tls.key, "server")
    ca_pem = _read_certs(tls.client_ca, "client CA") if tls.client_ca else None
    return grpc.ssl_server_credentials(
        [(key_pem, cert_pem)], root_certificates=ca_pem, require_client_auth=ca_pem is not None
    )


def channel_credentials(tls: ClientTls) -> grpc.ChannelCredentials:
    """Credentials for ``grpc.aio.secure_channel``; pass :func:`channel_options` too."""
    ca_pem = _read_certs(tls.ca, "CA")
    cert_pem = key_pem = None
    if tls.cert is not None and tls.key is not None:
        cert_pem, key_pem = _read_pair(tls.cert, tls.key, "client")
    return grpc.ssl_channel_credentials(
        root_certificates=ca_pem, private_key=key_pem, certificate_chain=cert_pem
    )


def channel_options(tls: ClientTls) -> list[tuple[str, str]]:
    """Channel options that go with :func:`channel_credentials` (the server name override)."""
    if tls.server_name:
        return [("grpc.ssl_target_name_override", tls.server_name)]
    return []


# --- settings from the environment -----------------------------------------------------------


def _settings(
    prefix: str, names: Sequence[str], env: Mapping[str, str] | None
) -> dict[str, str] | None:
    """The set ``<PREFIX>_TLS_<NAME>`` variables by name; None when none is set."""
    source = os.environ if env is None else env
    stem = prefix.rstrip("_")
    values = {name: source.get(f"{stem}_TLS_{name}", "") for name in names}
    found = {name: value for name, value in values.items() if value}
    return found or None


def _require(prefix: str, found: Mapping[str, str], needed: str, because: str) -> str:
    if needed not in found:
        stem = prefix.rstrip("_")
        raise TlsError(f"{stem}_TLS_{needed} is not set, but {stem}_TLS_{because} is")
    return found[needed]


def from_env(prefix: str, env: Mapping[str, str] | None = None) -> ServerTls | None:
    """Server TLS from ``<PREFIX>_TLS_CERT``, ``_KEY`` and (optional) ``_CLIENT_CA``."""
    found = _settings(prefix, ("CERT", "KEY", "CLIENT_CA"), env)
    if found is None:
        return None
    other = next(iter(found))
    cert = _require(prefix, found, "CERT", other)
    key = _require(prefix, found, "KEY", other)
    client_ca = found.get("CLIENT_CA")
    return ServerTls(Path(cert), Path(key), Path(client_ca) if client_ca else None)


def client_from_env(prefix: str, env: Mapping[str, str] | None = None) -> ClientTls | None:
    """Client TLS from ``<PREFIX>_TLS_CA``, ``_CERT`` and ``_KEY`` (optional, together) and
    ``_SERVER_NAME`` (optional)."""
    found = _settings(prefix, ("CA", "CERT", "KEY", "SERVER_NAME"), env)
    if found is None:
        return None
    ca = _require(prefix, found, "CA", next(iter(found)))
    cert = _require(prefix, found, "CERT", "KEY") if "KEY" in found else None
    key = _require(prefix, found, "KEY", "CERT") if "CERT" in found else None
    return ClientTls(
        ca=Path(ca),
        cert=Path(cert) if cert else None,
        key=Path(key) if key else None,
        server_name=found.get("SERVER_NAME"),
    )


def to_env(prefix: str, tls: ServerTls | None) -> dict[str, str]:
    """The variables :func:`from_env` reads back as ``tls`` (none for ``None``)."""
    if tls is None:
        return {}
    stem = prefix.rstrip("_")
    env = {f"{stem}_TLS_CERT": str(tls.cert), f"{stem}_TLS_KEY": str(tls.key)}
    if tls.client_ca is not None:
        env[f"{stem}_TLS_CLIENT_CA"] = str(tls.client_ca)
    return env


def client_to_env(prefix: str, tls: ClientTls | None) -> dict[str, str]:
    """The variables :func:`client_from_env` reads back as ``tls`` (none for ``None``)."""
    if tls is None:
        return {}
    stem = prefix.rstrip("_")
    env = {f"{stem}_TLS_CA": str(tls.ca)}
    if tls.cert is not None and tls.key is not None:
        env |= {f"{stem}_TLS_CERT": str(tls.cert), f"{stem}_TLS_KEY": str(tls.key)}
    if tls.server_name:
        env[f"{stem}_TLS_SERVER_NAME"] = tls.server_name
    return env


# --- making certificates ---------------------------------------------------------------------


@dataclass(frozen=True)
class CertPair:
    """A PEM certificate and its PEM (PKCS #8, unencrypted) private key."""

    cert_pem: bytes
    key_pem: bytes

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertPair:
        """Read a pair, checking both files and that the key matches the certificate."""
        return cls(*_read_pair(Path(cert_path), Path(key_path)))

    def write(self, cert_path: Path, key_path: Path) -> None:
        """Write the key readable by the owner only (0600), the certificate by all (0644)."""
        _write(Path(key_path), self.key_pem, 0o600)
        _write(Path(cert_path), self.cert_pem, 0o644)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def private_key(self) -> PrivateKeyTypes:
        return serialization.load_pem_private_key(self.key_pem, password=None)


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)  # also when replacing a file that had other permissions
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _builder(
    common_name: str,
    public_key: ec.EllipticCurvePublicKey,
    days: int,
    valid_from: dt.datetime | None,
) -> x509.CertificateBuilder:
    if days < 1:
        raise ValueError("a certificate must be valid for at least one day")
    start = valid_from or dt.datetime.now(dt.UTC) - CLOCK_SKEW
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(*, digital_signature: bool, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _pair(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> CertPair:
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return CertPair(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def make_ca(
    common_name: str, *, days: int = 365, valid_from: dt.datetime | None = None
) -> CertPair:
    """A new self-signed CA that can sign end-entity certificates (not other CAs).

    ``valid_from`` defaults to a few minutes ago; the CA is valid for ``days`` after it.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(common_name, key.public_key(), days, valid_from)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(digital_signature=True, cert_sign=True), critical=True)
    )
    return _pair(builder.sign(key, hashes.SHA256()), key)


def _authority_key_id(
    ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
) -> x509.AuthorityKeyIdentifier:
    """Names the CA by its own key identifier, which is how verifiers find the issuer."""
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not host or not host.isascii() or any(c.isspace() or c in "/:@" for c in host):
        raise ValueError(f"{host!r} is neither a DNS name nor an IP address")
    return x509.DNSName(host.lower())


def issue(
    ca: CertPair,
    common_name: str,
    *,
    hosts: Sequence[str],
    server: bool,
    client: bool,
    days: int = 365,
    valid_from: dt.datetime | None = None,
) -> CertPair:
    """A new key and certificate signed by ``ca``, for a TLS server, client, or both.

    ``hosts`` (DNS names and IP addresses) become the subject alternative names, which is
    what clients check a server's certificate against; a server certificate needs at least
    one. ``valid_from`` defaults to a few minutes ago; the certificate is valid for ``days``
    after it.
    """
    if not (server or client):
        raise ValueError("a certificate must be for a server, a client, or both")
    if server and not hosts:
        raise ValueError("a server certificate needs at least one host")
    names = [_general_name(host) for host in hosts]
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] * server + [ExtendedKeyUsageOID.CLIENT_AUTH] * client
    ca_cert, ca_key = ca.certificate, ca.private_key
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("the CA key must be an ECDSA or RSA key")
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(common_name, key.public_key(), days, valid_from)
        .issuer_name(ca_cert.subject)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(_authority_key_id(ca_cert, ca_key), critical=False)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return _pair(builder.sign(ca_key, hashes.SHA256()), key)


def is_loopback(address: str) -> bool:
    """Whether a ``host:port`` listen address is reachable from this machine only."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
