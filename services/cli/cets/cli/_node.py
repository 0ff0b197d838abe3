"""``cets node``."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import click

from cets.cli._common import (
    fail,
    node_config,
    node_options,
    query_from_options,
    query_options,
    who_options,
)


@click.group()
def node() -> None:
    """An agency's search node: serve searches over gRPC, or query one."""


@node.command("serve")
@node_options
@click.option("--listen", default=None, help="host:port to serve gRPC on [env CETS_NODE_LISTEN].")
def node_serve(**options: Any) -> None:
    """Serve this agency's records over gRPC until SIGTERM or Ctrl-C."""
    from cets.common import runtime, tracing
    from cets.core.errors import ConfigError
    from cets.search.errors import NodeError
    from cets.search.server import serve

    config = node_config(**options)
    tracing.setup("node")  # only with OTEL_* settings; each search is a trace of its own
    try:
        runtime.run(serve(config))
    except ConfigError as exc:
        raise fail(f"configuration: {exc}") from None
    except NodeError as exc:
        raise fail(str(exc)) from None


@node.command("layout")
@node_options
@click.option("--apply", is_flag=True, help="Give the index the configured replicas first.")
def node_layout(apply: bool, **options: Any) -> None:
    """Show the index's shards and replicas, the cluster's data nodes and the index's health.

    With ``CETS_INDEX_REPLICAS=auto`` (the default) OpenSearch itself keeps one replica while
    the cluster has two data nodes or more, none on one. ``--apply`` gives an existing index
    the configured replicas now (as the node does on start), with no re-ingest.
    """
    from cets.search.errors import NodeError
    from cets.search.index import describe_layout, ensure_index
    from cets.search.store import connect

    config = node_config(**options)
    client = connect(config.opensearch_url)
    try:
        if apply:
            ensure_index(client, config.index, config.index_layout)
        found = describe_layout(client, config.index)
    except NodeError as exc:
        raise fail(str(exc)) from None
    finally:
        client.close()
    auto = found["auto_expand_replicas"]
    click.echo(
        f"{found['index']}: {found['shards']} shards, {found['replicas']} replicas"
        + (f" (auto {auto}: set by OpenSearch from the data nodes)" if auto else " (fixed)")
        + f"; {found['data_nodes']} data nodes; health {found['health']}, "
        f"{found['active_shards']} shard copies active, {found['unassigned_shards']} unassigned"
    )
    click.echo(f"configured: {config.index_layout.describe()}")


@node.command("search")
@click.argument("target")
@click.argument("audience")
@query_options
@who_options
@click.option("--timeout", "timeout_s", type=float, default=10.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def node_search(
    target: str, audience: str, timeout_s: float, as_json: bool, **options: Any
) -> None:
    """Search the node of agency AUDIENCE at TARGET (host:port) directly, for diagnosis.

    The request is signed as this agency (CETS_AGENCY_ID, with its key CETS_AGENCY_KEY_FILE),
    so the node applies its policy for this agency and records the search in its audit log.
    The answer is shown only if AUDIENCE signed it: its key comes from the membership
    (CETS_MEMBERSHIP_FILE, signed by CETS_FEDERATION_ADMIN_KEY_FILE). Officers search every
    partner at once through their agency's federation service instead.
    """
    import time

    import grpc
    from google.protobuf import json_format

    from cets.common.keys import load_private_key, load_public_key
    from cets.common.membership import load_membership
    from cets.common.signing import BadAnswer, open_answer, signed_request
    from cets.core.display import format_response
    from cets.search.client import NodeClient

    requester, key_file = os.environ.get("CETS_AGENCY_ID"), os.environ.get("CETS_AGENCY_KEY_FILE")
    if not requester or not key_file:
        raise fail("set CETS_AGENCY_ID and CETS_AGENCY_KEY_FILE: requests are signed")
    membership_file = os.environ.get("CETS_MEMBERSHIP_FILE")
    admin_key_file = os.environ.get("CETS_FEDERATION_ADMIN_KEY_FILE")
    if not membership_file or not admin_key_file:
        raise fail(
            "set CETS_MEMBERSHIP_FILE and CETS_FEDERATION_ADMIN_KEY_FILE: answers are checked "
            "against the answering agency's key"
        )
    try:
        key = load_private_key(Path(key_file))
        membership = load_membership(Path(membership_file), load_public_key(Path(admin_key_file)))
    except ValueError as exc:
        raise fail(str(exc)) from None
    answering = membership.get(audience)
    if answering is None:
        raise fail(f"{audience!r} is not in the membership")
    request = signed_request(
        query_from_options(options),
        requester=requester,
        audience=audience,
        key=key,
        officer_id=options["officer"],
        purpose=options["purpose"],
        case_reference=options["case"],
        created=time.time(),
        validity_s=timeout_s + 5,
    )

    async def run() -> Any:
        async with NodeClient(target) as client:
            return await client.send(request, timeout_s=timeout_s)

    try:
        response = open_answer(asyncio.run(run()), answering.public_key)
    except grpc.aio.AioRpcError as exc:
        raise fail(f"{target}: {exc.code().name}: {exc.details()}") from None
    except BadAnswer as exc:
        raise fail(f"{target}: {exc}; the answer is not shown") from None
    if (
        response.request_nonce != request.context.nonce
        or response.agency != audience
        or any(hit.agency != audience for hit in response.hits)
    ):
        raise fail(f"{target}: the answer is not for this request; it is not shown")
    if as_json:
        click.echo(json.dumps(json_format.MessageToDict(response), indent=2))
    else:
        click.echo(format_response(response))
