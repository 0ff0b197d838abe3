"""``cets keys``."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from cets.cli._common import fail


@click.group()
def keys() -> None:
    """Create the secrets a node needs."""


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
