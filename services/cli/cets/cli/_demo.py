"""``cets demo``."""

from __future__ import annotations

import asyncio
import logging

import click

from cets.cli._common import fail


@click.command()
@click.option(
    "--agencies",
    type=click.IntRange(3, 4),
    default=3,
    show_default=True,
    help="How many sample agencies, each with its own OpenSearch and node.",
)
@click.option(
    "--records",
    type=click.IntRange(1_000, 1_000_000),
    default=3_000,
    show_default=True,
    help="Sample records across all agencies.",
)
@click.option("--keep-running", is_flag=True, help="Keep everything up until Ctrl-C.")
def demo(agencies: int, records: int, keep_running: bool) -> None:
    """Start several agencies locally, load sample data, and search every node.

    Each agency gets its own OpenSearch (set OPENSEARCH_URL_<AGENCY>, e.g. OPENSEARCH_URL_TPS,
    or OPENSEARCH_URL for all, to use existing clusters instead) and its own search node.
    """
    from cets.demo import DemoError, run_demo

    if logging.getLogger().level == logging.INFO:  # the demo's own lines tell the story
        logging.getLogger("cets").setLevel(logging.WARNING)
    try:
        asyncio.run(
            run_demo(agencies=agencies, records=records, keep_running=keep_running, out=click.echo)
        )
    except DemoError as exc:
        raise fail(str(exc)) from None
