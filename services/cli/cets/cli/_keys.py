"""``cets keys``."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cets.cli._common import fail

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


@click.group()
def keys() -> None:
    """Create the secrets a node needs: signing keys and the card-fingerprint key."""


@keys.command("card-key")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing file.")
def keys_card_key(out: Path, force: bool) -> None:
    """Write a new random card-fingerprint key (hex) to OUT, readable by the owner only.

    Agencies that want to link payment cards with each other must use the same key.
    """
    if out.exists() and not force:
        raise fail(f"{out} exists; use --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when --force replaces a file that was readable by others
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    click.echo(f"wrote {out}")


ADMIN_KEY_NAME = "federation-admin"


@keys.command("agency")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--agency", "agency_id", required=True, help="The agency's id, e.g. tps.")
@click.option("--force", is_flag=True, help="Replace existing key files.")
def keys_agency(directory: Path, agency_id: str, force: bool) -> None:
    """Make an agency's signing key pair in DIR.

    Writes DIR/ID.key (the Ed25519 private key, readable by its owner only) and DIR/ID.pub
    (the public key as ed25519:... text). The .key file stays with the agency's federation
    service and search node; the .pub text goes to the federation administrator for the
    membership document.
    """
    from cets.common.membership import AGENCY_ID

    if not AGENCY_ID.fullmatch(agency_id):
        raise click.BadParameter(
            "must be 1-48 of a-z, 0-9, _ and -, starting with a letter or digit",
            param_hint="'--agency'",
        )
    _write_key_pair(directory, agency_id, force)


@keys.command("admin")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace existing key files.")
def keys_admin(directory: Path, force: bool) -> None:
    """Make the federation administrator's key pair in DIR.

    Writes DIR/federation-admin.key (private) and DIR/federation-admin.pub. The private key
    signs the membership document; keep it offline. Every node is given the .pub text to
    check the document's signature.
    """
    _write_key_pair(directory, ADMIN_KEY_NAME, force)


@keys.command("show-public")
@click.argument("keyfile", type=click.Path(dir_okay=False, path_type=Path))
def keys_show_public(keyfile: Path) -> None:
    """Print the public key in KEYFILE and its key id.

    KEYFILE is a private key file (which must be readable by its owner only) or a .pub file.
    """
    from cets.common.keys import KeyFileError, key_id, public_key_text

    try:
        key = _public_key_of(keyfile)
    except KeyFileError as exc:
        raise fail(str(exc)) from None
    click.echo(public_key_text(key))
    click.echo(f"key id: {key_id(key)}")


def _write_key_pair(directory: Path, name: str, force: bool) -> None:
    from cets.common.keys import (
        KeyFileError,
        generate_private_key,
        key_id,
        write_private_key,
        write_public_key,
    )

    private, public = directory / f"{name}.key", directory / f"{name}.pub"
    for path in (private, public):
        if path.exists() and not force:
            raise fail(f"{path} exists; use --force to replace it")
    key = generate_private_key()
    try:
        write_private_key(private, key)
        write_public_key(public, key)
    except KeyFileError as exc:
        raise fail(str(exc)) from None
    click.echo(f"wrote {private} (private: readable by its owner only)")
    click.echo(f"wrote {public} (key id {key_id(key)})")


def _public_key_of(path: Path) -> Ed25519PublicKey:
    """The public key in a private key file (checked to be 0600) or in a public key file."""
    from cets.common.keys import load_private_key, load_public_key

    try:
        with path.open("rb") as handle:
            private = b"PRIVATE KEY-----" in handle.read(4096)
    except OSError:
        private = False  # load_public_key reports what is wrong with the file
    if private:
        return load_private_key(path).public_key()
    return load_public_key(path)
