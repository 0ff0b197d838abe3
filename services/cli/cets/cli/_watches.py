"""``cets watches``: what partners watch at this agency's node — who, how much, until when."""

from __future__ import annotations

import json
from typing import Any

import click

from cets.cli._common import fail, node_config, node_options


@click.group()
def watches() -> None:
    """Partners' watches held by this agency's node (selectors are kept only as digests)."""


@watches.command("list")
@node_options
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def watches_list(as_json: bool, **options: Any) -> None:
    """Which partner agencies watch how many selectors here, and until when.

    Shows counts and expiry dates only: the watched selectors themselves are stored as keyed
    digests and cannot be listed.
    """
    from datetime import UTC, datetime

    from cets.search.errors import NodeError
    from cets.search.store import connect
    from cets.search.watches import WatchIndexNames, list_watchers

    config = node_config(**options)
    client = connect(config.opensearch_url)
    try:
        found = list_watchers(client, WatchIndexNames(config.index), now=datetime.now(UTC))
    except NodeError as exc:
        raise fail(str(exc)) from None
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps([_row(w) for w in found]))
        return
    if not found:
        click.echo("no partner watches anything here")
        return
    click.echo(f"{'agency':<16} {'watches':>8} {'selectors':>10}  expiring")
    for w in found:
        click.echo(
            f"{w.watcher:<16} {w.watches:>8} {w.selectors:>10}  "
            f"{w.earliest_expiry[:10]} to {w.latest_expiry[:10]}"
        )


def _row(summary: Any) -> dict[str, Any]:
    return {
        "agency": summary.watcher,
        "watches": summary.watches,
        "selectors": summary.selectors,
        "earliest_expiry": summary.earliest_expiry,
        "latest_expiry": summary.latest_expiry,
    }
