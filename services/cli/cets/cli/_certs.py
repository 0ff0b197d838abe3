"""``cets certs``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cets.cli._common import fail

if TYPE_CHECKING:
    from cets.common.tls import CertPair

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

DIRECTORY = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
DAYS = click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=365,
    show_default=True,
    help="How long the certificates are valid.",
)
FORCE = click.option("--force", is_flag=True, help="Replace existing files.")


@click.group()
def certs() -> None:
    """Make a local CA and TLS certificates for search nodes and federation services.

    For demos and tests: files are written as DIRECTORY/NAME.crt and DIRECTORY/NAME.key, keys
    readable by the owner only. Agencies in production use certificates from their own PKI.
    """


def _paths(directory: Path, name: str) -> tuple[Path, Path]:
    return directory / f"{name}.crt", directory / f"{name}.key"


def _refuse_to_replace(paths: Sequence[Path], force: bool) -> None:
    existing = [str(path) for path in paths if path.exists()]
    if existing and not force:
        verb = "exists" if len(existing) == 1 else "exist"
        raise fail(f"{', '.join(existing)} already {verb}; use --force to replace")


def _load_ca(directory: Path) -> CertPair:
    from cets.common.tls import CertPair, TlsError

    try:
        return CertPair.load(*_paths(directory, "ca"))
    except TlsError as exc:
        raise fail(f"CA: {exc} (make one with: cets certs ca {directory})") from None


@certs.command("ca")
@DIRECTORY
@click.option("--name", default="cets local CA", show_default=True, help="The CA's common name.")
@DAYS
@FORCE
def certs_ca(directory: Path, name: str, days: int, force: bool) -> None:
    """Make a new CA: DIRECTORY/ca.crt and DIRECTORY/ca.key.

    Give ca.crt to everyone who must trust the certificates it signs; keep ca.key private.
    """
    from cets.common.tls import make_ca

    cert_path, key_path = _paths(directory, "ca")
    _refuse_to_replace([cert_path, key_path], force)
    make_ca(name, days=days).write(cert_path, key_path)
    click.echo(f"wrote {cert_path} and {key_path}")


@certs.command("issue")
@DIRECTORY
@click.argument("name")
@click.option(
    "--host",
    "hosts",
    multiple=True,
    metavar="HOST",
    help="A DNS name or IP address the certificate is for; repeat for several.",
)
@click.option(
    "--server/--no-server", default=True, show_default=True, help="Usable by a TLS server."
)
@click.option(
    "--client/--no-client", default=False, show_default=True, help="Usable by a TLS client."
)
@DAYS
@FORCE
def certs_issue(
    directory: Path,
    name: str,
    hosts: tuple[str, ...],
    server: bool,
    client: bool,
    days: int,
    force: bool,
) -> None:
    """Issue DIRECTORY/NAME.crt and .key, signed by the CA in DIRECTORY.

    NAME is also the certificate's common name. A server certificate needs at least one
    --host: clients check the name they dial against these.
    """
    from cets.common.tls import issue

    if not _NAME.fullmatch(name):
        raise click.BadParameter("letters, digits, '.', '_' and '-' only", param_hint="NAME")
    ca = _load_ca(directory)
    cert_path, key_path = _paths(directory, name)
    _refuse_to_replace([cert_path, key_path], force)
    try:
        pair = issue(ca, name, hosts=hosts, server=server, client=client, days=days)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    pair.write(cert_path, key_path)
    click.echo(f"wrote {cert_path} and {key_path}")


@certs.command("demo")
@DIRECTORY
@click.option(
    "--agency",
    "agencies",
    multiple=True,
    required=True,
    metavar="ID",
    help="An agency id, e.g. tps; repeat for each agency.",
)
@DAYS
@FORCE
def certs_demo(directory: Path, agencies: tuple[str, ...], days: int, force: bool) -> None:
    """Make a CA and a certificate for each agency's node and federation service.

    Each agency's certificate is for localhost, 127.0.0.1 and AGENCY.cets.local, and works
    as a TLS server and as a TLS client (mutual TLS): DIRECTORY/AGENCY.crt and .key, all
    signed by DIRECTORY/ca.crt.
    """
    from cets.common.tls import issue, make_ca

    for agency in agencies:
        if not _LABEL.fullmatch(agency):
            raise click.BadParameter(
                f"{agency!r}: letters, digits and '-' only (it becomes a DNS name)",
                param_hint="--agency",
            )
    names = ["ca", *dict.fromkeys(agencies)]
    _refuse_to_replace([path for name in names for path in _paths(directory, name)], force)
    ca = make_ca("cets demo CA", days=days)
    ca_cert, ca_key = _paths(directory, "ca")
    ca.write(ca_cert, ca_key)
    click.echo(f"CA: {ca_cert} (key {ca_key})")
    for agency in names[1:]:
        hosts = ["localhost", "127.0.0.1", f"{agency.lower()}.cets.local"]
        pair = issue(ca, agency, hosts=hosts, server=True, client=True, days=days)
        cert_path, key_path = _paths(directory, agency)
        pair.write(cert_path, key_path)
        click.echo(f"{agency}: {cert_path} (key {key_path}) for {', '.join(hosts)}")
