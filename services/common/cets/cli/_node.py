"""``cets node``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from cets.cli._common import fail, node_config, node_options


@click.group()
def node() -> None:
    """An agency's search node: serve searches over gRPC, or query one."""


@node.command("serve")
@node_options
@click.option("--listen", default=None, help="host:port to serve gRPC on [env CETS_NODE_LISTEN].")
def node_serve(**options: Any) -> None:
    """Serve this agency's records over gRPC until SIGTERM or Ctrl-C."""
    from cets.search.errors import NodeError
    from cets.search.server import serve

    config = node_config(**options)
    try:
        asyncio.run(serve(config))
    except NodeError as exc:
        raise fail(str(exc)) from None


@node.command("search")
@click.argument("target")
@click.option("--text", default="", help="Free text (BM25).")
@click.option(
    "--selector",
    "selectors",
    multiple=True,
    metavar="KIND:VALUE",
    help="Exact identifier, e.g. email:a@b.org (repeatable).",
)
@click.option("--name", default="", help="A person's name (fuzzy and phonetic).")
@click.option("--type", "types", multiple=True, help="Only these record types (repeatable).")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--timeout", "timeout_s", type=float, default=10.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def node_search(
    target: str,
    text: str,
    selectors: tuple[str, ...],
    name: str,
    types: tuple[str, ...],
    limit: int,
    timeout_s: float,
    as_json: bool,
) -> None:
    """Search one node at TARGET (host:port) directly."""
    import grpc
    from google.protobuf import json_format

    from cets.search.client import NodeClient
    from cets.search.display import build_query, format_response

    try:
        query = build_query(text=text, selectors=selectors, name=name, types=types, limit=limit)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None

    async def run() -> Any:
        async with NodeClient(target) as client:
            return await client.search(query, timeout_s=timeout_s)

    try:
        response = asyncio.run(run())
    except grpc.aio.AioRpcError as exc:
        raise fail(f"{target}: {exc.code().name}: {exc.details()}") from None
    if as_json:
        click.echo(json.dumps(json_format.MessageToDict(response), indent=2))
    else:
        click.echo(format_response(response))
