"""``cets releases``: partners' requests for records this agency released below ``full``, and
this agency's decisions on them."""

from __future__ import annotations

import getpass
import json
from typing import Any

import click

from cets.cli._common import fail, node_config, node_options


@click.group()
def releases() -> None:
    """Requests from partners to release records (decide with approve or deny).

    A decision reaches the requester signed by this agency's node the next time its
    federation service collects decisions; an approval lets it fetch exactly the records
    listed, at the level approved, until the approval expires.
    """


def _store(options: dict[str, Any]) -> tuple[Any, Any]:
    from cets.search.releases import ReleaseNames
    from cets.search.store import connect

    config = node_config(**options)
    return connect(config.opensearch_url), ReleaseNames(config.index)


@releases.command("list")
@node_options
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "denied"]),
    default=None,
    help="Only requests in this state (default: all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def releases_list(status: str | None, as_json: bool, **options: Any) -> None:
    """Release requests, newest first."""
    from cets.search.errors import NodeError
    from cets.search.releases import list_releases

    client, names = _store(options)
    try:
        found = list_releases(client, names, status=status)
    except NodeError as exc:
        raise fail(str(exc)) from None
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps(found))
        return
    if not found:
        click.echo("no release requests")
        return
    for r in found:
        click.echo(
            f"{r['release_id']}  {r['status']:<8} {r['requester']:<12} case {r['case_reference']}"
            f"  {len(r['record_ids'])} record(s)  asked {r['requested'][:16]}"
        )


@releases.command("show")
@click.argument("release_id")
@node_options
def releases_show(release_id: str, **options: Any) -> None:
    """One request in full: who asked, why, for which records, and any decision."""
    from cets.core.errors import CetsError
    from cets.search.releases import show_release

    client, names = _store(options)
    try:
        found = show_release(client, names, release_id)
    except CetsError as exc:
        raise fail(str(exc)) from None
    finally:
        client.close()
    click.echo(json.dumps(found, indent=2))


@releases.command("approve")
@click.argument("release_id")
@node_options
@click.option(
    "--level",
    type=click.Choice(["summary", "full"]),
    default="summary",
    show_default=True,
    help="What the requester may then fetch of the records.",
)
@click.option("--days", type=click.IntRange(1, 365), default=30, show_default=True)
@click.option("--by", default=getpass.getuser, help="Who decides (recorded; default: you).")
def releases_approve(release_id: str, level: str, days: int, by: str, **options: Any) -> None:
    """Approve a pending request: the records listed, at LEVEL, for DAYS days."""
    _decide(release_id, options, approve=True, level=level, days=days, by=by)


@releases.command("deny")
@click.argument("release_id")
@node_options
@click.option("--reason", required=True, help="Why (sent to the requester).")
@click.option("--by", default=getpass.getuser, help="Who decides (recorded; default: you).")
def releases_deny(release_id: str, reason: str, by: str, **options: Any) -> None:
    """Deny a pending request, with the reason the requester will read."""
    _decide(release_id, options, approve=False, reason=reason, by=by)


def _decide(release_id: str, options: dict[str, Any], **decision: Any) -> None:
    from cets.core.disclosure import Disclosure
    from cets.core.errors import CetsError
    from cets.search.releases import decide

    if "level" in decision:
        decision["level"] = Disclosure(decision["level"])
    client, names = _store(options)
    try:
        done = decide(client, names, release_id, **decision)
    except CetsError as exc:
        raise fail(str(exc)) from None
    finally:
        client.close()
    what = (
        f"approved at {done['level']} until {done['expires'][:10]}"
        if decision["approve"]
        else "denied"
    )
    click.echo(f"{release_id}: {what}; {done['requester']} learns it at its next collection")
