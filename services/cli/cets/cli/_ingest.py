"""``cets ingest``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from cets.cli._common import fail, node_config, node_options


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@node_options
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
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Records per bulk request (default: 1000).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes that validate records (default: one per core, up to 4, for files of "
    "4 MiB or more; otherwise 1).",
)
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
    batch_size: int | None,
    workers: int | None,
    progress: bool | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Validate and index the records in FILE (NDJSON or CSV) into this agency's OpenSearch.

    Rejected lines are reported with their line number and reason on stderr and written to
    the rejects file; the rest is ingested. Re-running the same file is safe: records are
    replaced, never duplicated.
    """
    from cets.core.records import IngestContext
    from cets.search.errors import NodeError
    from cets.search.ingest import BULK_RECORDS, ingest_file
    from cets.search.readers import Format, Reject
    from cets.search.store import connect

    config = node_config(**options)
    try:
        chosen = Format(fmt) if fmt else Format.for_path(file)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    rejects_path = rejects or file.with_name(file.name + ".rejects.ndjson")
    show = sys.stderr.isatty() if progress is None else progress
    size = file.stat().st_size
    client = connect(config.opensearch_url)
    try:
        matcher = _watch_matcher(client, config)
    except NodeError as exc:
        client.close()
        raise fail(str(exc)) from None
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
                batch_size=batch_size or BULK_RECORDS,
                ctx=IngestContext(config.agency_id, config.card_key, config.default_region),
                on_reject=on_reject,
                on_progress=on_progress,
                watches=matcher,
                layout=config.index_layout,
                wait_for_active_shards=config.wait_for_active_shards,
                workers=workers,
            )
        except NodeError as exc:
            raise fail(f"{exc}. Records acknowledged so far are kept; re-run to finish.") from None
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
        if summary.watched_records:
            contacts = ", ".join(f"{a} ({n})" for a, n in summary.watchers.items())
            click.echo(
                f"{summary.watched_records} records match partners' watches "
                f"({summary.watch_alerts} alerts raised); agencies watching: {contacts}"
            )
        if summary.rejected:
            click.echo(f"rejected lines written to {rejects_path}", err=True)


def _watch_matcher(client: Any, config: Any) -> Any:
    """A matcher for partners' watches, when this node holds any (it needs the agency key,
    from which the watch digests are derived)."""
    from cets.common.keys import load_private_key
    from cets.search.watches import WatchIndexNames, WatchMatcher, watch_key

    if config.agency_key_file is None:
        if _holds_watches(client, WatchIndexNames(config.index)):
            click.echo(
                "warning: partners watch selectors here, but CETS_AGENCY_KEY_FILE is not set: "
                "these records are not matched against their watches",
                err=True,
            )
        return None
    try:
        key = watch_key(load_private_key(config.agency_key_file))
    except ValueError as exc:
        raise fail(str(exc)) from None
    return WatchMatcher(client, WatchIndexNames(config.index), key)


def _holds_watches(client: Any, names: Any) -> bool:
    from cets.search.store import translate_errors

    with translate_errors("read the watches"):
        if not client.indices.exists(index=names.watches):
            return False
        return int(client.count(index=names.watches)["count"]) > 0


class _NullBar:
    def __enter__(self) -> _NullBar:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, _: int) -> None:
        return None
