"""The ``cets`` command line. ``cets --help`` and ``cets COMMAND --help`` explain each command.

Settings come from the environment (see docs/configuration.md); options override them.
Commands exit 0 on success, 1 when the work failed (the message says why), 2 on bad usage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from cets.common.logs import configure_logging

__all__ = ["main"]


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


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message)


# --- opensearch ------------------------------------------------------------------------------


@cli.group()
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
        raise _fail(str(exc)) from None
    click.echo(str(home))


@opensearch.command("start")
@click.argument("name")
@click.option("--port", type=int, default=0, show_default=True, help="HTTP port (0: any free).")
@click.option("--heap-mb", type=int, default=512, show_default=True, help="JVM heap.")
@click.option(
    "--dir",
    "base_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where config, data and logs go (default: a new temporary directory).",
)
def opensearch_start(name: str, port: int, heap_mb: int, base_dir: Path | None) -> None:
    """Start a single-node OpenSearch called NAME on 127.0.0.1 and run until Ctrl-C."""
    from cets.search import embedded_opensearch as eo

    try:
        settings = eo.OpenSearchSettings(
            cluster_name=name, http_port=port, heap_mb=heap_mb, base_dir=base_dir
        )
        node = eo.EmbeddedOpenSearch(settings)
        url = node.start()
    except (ValueError, eo.EmbeddedOpenSearchError) as exc:
        raise _fail(str(exc)) from None
    click.echo(f"OpenSearch {name} is up at {url} (logs: {node.log_path}); Ctrl-C stops it.")
    try:
        import signal

        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()


# --- keys ------------------------------------------------------------------------------------


@cli.group()
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
        raise _fail(f"{out} exists; use --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when --force replaces a file that was readable by others
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    click.echo(f"wrote {out}")


# --- node ------------------------------------------------------------------------------------

_NODE_OPTIONS = [
    click.option("--agency", default=None, help="This agency's id [env CETS_AGENCY_ID]."),
    click.option(
        "--opensearch-url", default=None, help="The agency's OpenSearch [env OPENSEARCH_URL]."
    ),
    click.option(
        "--card-key-file",
        default=None,
        type=click.Path(path_type=Path),
        help="Card-fingerprint key file [env CETS_CARD_KEY_FILE].",
    ),
    click.option(
        "--region",
        default=None,
        help="Country for phone numbers without a country code, e.g. CA [env CETS_DEFAULT_REGION].",
    ),
]


def _node_options(func: Any) -> Any:
    for option in reversed(_NODE_OPTIONS):
        func = option(func)
    return func


def _node_config(**overrides: Any) -> Any:
    from cets.search.config import ConfigError, NodeConfig

    try:
        return NodeConfig.from_env(
            agency_id=overrides.get("agency"),
            opensearch_url=overrides.get("opensearch_url"),
            card_key_file=overrides.get("card_key_file"),
            default_region=overrides.get("region"),
            listen=overrides.get("listen"),
        )
    except ConfigError as exc:
        raise _fail(f"configuration: {exc}") from None


@cli.group()
def node() -> None:
    """An agency's search node: serve searches over gRPC, or query one."""


@node.command("serve")
@_node_options
@click.option("--listen", default=None, help="host:port to serve gRPC on [env CETS_NODE_LISTEN].")
def node_serve(**options: Any) -> None:
    """Serve this agency's records over gRPC until SIGTERM or Ctrl-C."""
    from cets.search.errors import NodeError
    from cets.search.server import serve

    config = _node_config(**options)
    try:
        asyncio.run(serve(config))
    except NodeError as exc:
        raise _fail(str(exc)) from None


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
        raise _fail(f"{target}: {exc.code().name}: {exc.details()}") from None
    if as_json:
        click.echo(json.dumps(json_format.MessageToDict(response), indent=2))
    else:
        click.echo(format_response(response))


# --- ingest ----------------------------------------------------------------------------------


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_node_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ndjson", "csv"]),
    default=None,
    help="Input format (default: from the file name).",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where rejected lines go (default: FILE.rejects.ndjson).",
)
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: when stderr is a terminal).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def ingest(
    file: Path,
    fmt: str | None,
    rejects: Path | None,
    batch_size: int,
    progress: bool | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Validate and index the records in FILE (NDJSON or CSV) into this agency's OpenSearch.

    Rejected lines are reported with their line number and reason on stderr and written to
    the rejects file; the rest is ingested. Re-running the same file is safe: records are
    replaced, never duplicated.
    """
    from cets.search.errors import NodeError
    from cets.search.ingest import Format, Reject, ingest_file
    from cets.search.records import IngestContext
    from cets.search.store import connect

    config = _node_config(**options)
    try:
        chosen = Format(fmt) if fmt else Format.for_path(file)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    rejects_path = rejects or file.with_name(file.name + ".rejects.ndjson")
    show = sys.stderr.isatty() if progress is None else progress
    size = file.stat().st_size
    client = connect(config.opensearch_url)
    with (
        rejects_path.open("w", encoding="utf-8") as rejects_out,
        click.progressbar(
            length=size,
            label=f"ingesting {file.name}",
            file=sys.stderr,
        )
        if show
        else _NullBar() as bar,
    ):
        last = [0]

        def on_reject(reject: Reject) -> None:
            click.echo(f"{file.name}:{reject.line}: rejected: {reject.reason}", err=True)
            rejects_out.write(
                json.dumps({"line": reject.line, "reason": reject.reason, "raw": reject.raw}) + "\n"
            )

        def on_progress(position: int) -> None:
            bar.update(position - last[0])
            last[0] = position

        try:
            summary = ingest_file(
                file,
                client=client,
                names=config.index,
                fmt=chosen,
                batch_size=batch_size,
                ctx=IngestContext(config.agency_id, config.card_key, config.default_region),
                on_reject=on_reject,
                on_progress=on_progress,
            )
        except NodeError as exc:
            raise _fail(f"{exc}. Records acknowledged so far are kept; re-run to finish.") from None
        finally:
            client.close()
    if summary.rejected == 0:
        rejects_path.unlink(missing_ok=True)
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
    else:
        rate = summary.read / summary.seconds if summary.seconds else 0.0
        click.echo(
            f"{file.name}: read {summary.read}, indexed {summary.indexed} "
            f"({summary.new} new, {summary.replaced} replaced), rejected {summary.rejected}, "
            f"duplicate ids {summary.duplicates}; {summary.in_index} records in "
            f"{config.index.alias}; {summary.seconds:.1f}s ({rate:,.0f} records/s)"
        )
        if summary.rejected:
            click.echo(f"rejected lines written to {rejects_path}", err=True)


class _NullBar:
    def __enter__(self) -> _NullBar:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, _: int) -> None:
        return None


# --- sample data -----------------------------------------------------------------------------


@cli.group()
def sample() -> None:
    """Synthetic sample investigations for demos, tests and benchmarks."""


@sample.command("generate")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--records",
    type=click.IntRange(1_000, 1_000_000),
    default=3_000,
    show_default=True,
    help="Total records across all agencies.",
)
@click.option(
    "--agencies",
    default="tps,rcmp,nca",
    show_default=True,
    help="Comma-separated ids of the sample agencies (tps, rcmp, nca, afp).",
)
@click.option("--seed", type=int, default=7, show_default=True)
def sample_generate(out_dir: Path, records: int, agencies: str, seed: int) -> None:
    """Write OUT_DIR/<agency>.ndjson per agency and OUT_DIR/links.json (the planted links)."""
    from cets.search.sample_data import DEMO_AGENCIES, write_sample

    known = {a.id: a for a in DEMO_AGENCIES}
    chosen = [a.strip() for a in agencies.split(",") if a.strip()]
    unknown = [a for a in chosen if a not in known]
    if unknown or not chosen:
        raise click.BadParameter(f"unknown agencies {unknown}; choose from {sorted(known)}")
    with click.progressbar(length=records, label="generating", file=sys.stderr) as bar:
        done = [0]

        def progress(count: int) -> None:
            bar.update(count - done[0])
            done[0] = count

        manifest = write_sample(
            out_dir, [known[a] for a in chosen], records, seed=seed, progress=progress
        )
    for agency, count in manifest.counts.items():
        click.echo(f"{out_dir / (agency + '.ndjson')}: {count} records")
    click.echo(f"{out_dir / 'links.json'}: planted cross-agency links")


# --- demo ------------------------------------------------------------------------------------


@cli.command()
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
        raise _fail(str(exc)) from None


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


if __name__ == "__main__":
    main()
