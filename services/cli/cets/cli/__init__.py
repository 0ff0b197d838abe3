"""The ``cets`` command line. ``cets --help`` and ``cets COMMAND --help`` explain each command.

Settings come from the environment (see docs/configuration.md); options override them.
Commands exit 0 on success, 1 when the work failed (the message says why), 2 on bad usage.
Each command group lives in its own module here and is added to the root group below.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from cets.cli._audit import audit
from cets.cli._certs import certs
from cets.cli._demo import demo
from cets.cli._federation import federation
from cets.cli._gateway import gateway, pivot, record, search, tokens
from cets.cli._hash import hash_images
from cets.cli._import import import_
from cets.cli._ingest import ingest
from cets.cli._keys import keys
from cets.cli._node import node
from cets.cli._opensearch import opensearch
from cets.cli._releases import releases
from cets.cli._sample import sample
from cets.cli._watches import watches
from cets.common.logs import configure_logging

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--log-level",
    default=lambda: os.environ.get("CETS_LOG_LEVEL", "INFO"),
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="How much to log to stderr [env CETS_LOG_LEVEL; default INFO].",
)
@click.option(
    "--log-format",
    default=lambda: os.environ.get("CETS_LOG_FORMAT", "text"),
    type=click.Choice(["text", "json"]),
    help="Log lines as text or JSON [env CETS_LOG_FORMAT; default text].",
)
def cli(log_level: str, log_format: str) -> None:
    """cets: federated search across partner agencies' investigation records.

    Every agency keeps its records in its own OpenSearch and runs a search node; partners
    search all nodes at once.
    """
    configure_logging(log_level, log_format)


for _command in (
    opensearch,
    keys,
    certs,
    federation,
    node,
    gateway,
    tokens,
    search,
    pivot,
    record,
    hash_images,
    ingest,
    import_,
    watches,
    releases,
    sample,
    demo,
    audit,
):
    cli.add_command(_command)


def main() -> None:
    """Entry point: unexpected failures end with one line, not a traceback."""
    try:
        cli(prog_name="cets")
    except Exception as exc:
        logging.getLogger("cets").debug("unexpected failure", exc_info=True)
        click.echo(
            f"Error: unexpected failure ({type(exc).__name__}); "
            "run with --log-level DEBUG for details",
            err=True,
        )
        sys.exit(1)
