"""``cets opensearch``."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from cets.cli._common import fail


@click.group()
def opensearch() -> None:
    """Run a local OpenSearch engine (for the demo, tests and trying cets out)."""


@opensearch.command("fetch")
@click.option("--version", "version", default=None, help="OpenSearch version.")
def opensearch_fetch(version: str | None) -> None:
    """Download and prepare the OpenSearch distribution into the cache (once)."""
    from cets.search import embedded_opensearch as eo

    try:
        home = eo.ensure_distribution(version or eo.DEFAULT_VERSION)
    except eo.EmbeddedOpenSearchError as exc:
        raise fail(str(exc)) from None
    click.echo(str(home))


@opensearch.command("start")
@click.argument("name")
@click.option("--port", type=int, default=0, show_default=True, help="HTTP port (0: any free).")
@click.option(
    "--heap-mb",
    type=int,
    default=None,
    help="JVM heap per node [default: 512, 256 per node of a cluster].",
)
@click.option(
    "--nodes",
    type=click.IntRange(1, 9),
    default=1,
    show_default=True,
    help="Nodes: more than one starts a local cluster on loopback (every node holds data).",
)
@click.option(
    "--dir",
    "base_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where config, data and logs go (default: a new temporary directory).",
)
def opensearch_start(
    name: str, port: int, heap_mb: int | None, nodes: int, base_dir: Path | None
) -> None:
    """Start an OpenSearch called NAME on 127.0.0.1 and run until Ctrl-C: one node, or a
    cluster of several (``--nodes 3``)."""
    from cets.search import embedded_opensearch as eo

    stopped = _stop_signals()  # before starting: a stop during the start stops it after
    if nodes > 1:
        if port:
            raise click.BadParameter("a cluster's nodes pick their own ports", param_hint="--port")
        _run_cluster(name, nodes, heap_mb or 256, base_dir, stopped)
        return
    heap_mb = heap_mb or 512
    try:
        settings = eo.OpenSearchSettings(
            cluster_name=name, http_port=port, heap_mb=heap_mb, base_dir=base_dir
        )
        node = eo.EmbeddedOpenSearch(settings)
        url = node.start()
    except (ValueError, eo.EmbeddedOpenSearchError) as exc:
        raise fail(str(exc)) from None
    try:
        click.echo(f"OpenSearch {name} is up at {url} (logs: {node.log_path}); Ctrl-C stops it.")
        while not stopped.wait(0.5):  # short waits: the handlers run between them
            pass
    finally:
        node.stop()


def _run_cluster(
    name: str, nodes: int, heap_mb: int, base_dir: Path | None, stopped: threading.Event
) -> None:
    from cets.search import embedded_opensearch as eo

    try:
        cluster = eo.EmbeddedCluster(name, nodes=nodes, heap_mb=heap_mb, base_dir=base_dir)
        url = cluster.start()
    except (ValueError, eo.EmbeddedOpenSearchError) as exc:
        raise fail(str(exc)) from None
    try:
        click.echo(f"OpenSearch cluster {name} of {nodes} nodes is up; Ctrl-C stops it.")
        for node in cluster.nodes:
            click.echo(f"  {node.name}: {node.url} (logs: {node.log_path})")
        click.echo(f"OPENSEARCH_URL={url}")
        while not stopped.wait(0.5):
            pass
    finally:
        cluster.stop()


def _stop_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM. Both need a handler: by default SIGTERM (and SIGINT,
    in a job started in the background) would end this process at once and leave OpenSearch
    running on its own."""
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    return stopped
