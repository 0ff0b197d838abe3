"""``cets import``: other systems' files → NDJSON ready for ``cets ingest``."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click

from cets.cli._common import fail

_NOTES_SHOWN = 20
"""Notes printed one by one; past this, only their counts."""


@click.group(name="import")
def import_() -> None:
    """Turn other systems' files into cets records (NDJSON), ready for `cets ingest`.

    \b
      cets import vics FILE       Project VIC VICS JSON (1.x, 2.0) -> media_hash records
      cets import cybertip FILE   NCMEC CyberTipline report XML -> tip records

    Nothing is indexed here: the command writes FILE.ndjson (or --out), which you check and
    then ingest with `cets ingest FILE.ndjson`. A source record that cannot become a record is
    reported on stderr with its place in the file (value[12], report at line 57) and a reason
    that names fields, never values, and is written to FILE.rejects.ndjson with the source
    excerpt; the rest is imported. docs/importers.md says which source field goes where.
    Exit status: 0 when the whole file was read (even with rejected records), 1 when the file
    could not be read to its end (what came before is written).
    """


_OPTIONS = [
    click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
    click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Where the records go (default: FILE.ndjson).",
    ),
    click.option(
        "--rejects",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Where rejected source records go (default: FILE.rejects.ndjson).",
    ),
    click.option(
        "--region",
        default=lambda: os.environ.get("CETS_DEFAULT_REGION"),
        help="The node's country for phone numbers without a country code, e.g. CA, so that "
        "records are checked as the node will check them [env CETS_DEFAULT_REGION].",
    ),
    click.option(
        "--created",
        default=None,
        metavar="ISO-TIME",
        help="`created` for records whose source gives no time (default: the file's "
        "modification time, so importing the same file again gives the same records).",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
]


def _options(func: Any) -> Any:
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


@import_.command()
@_options
def vics(file: Path, **options: Any) -> None:
    """Import a Project VIC VICS JSON file (hash set or case; VICS 1.x or 2.0).

    Each medium becomes a media_hash record: MD5 and SHA1 (also from AlternativeHashes), the
    file name, and in its description the category as written and the other fields. PhotoDNA
    and thumbnails are never imported. The file is streamed; it must be seekable.
    """
    from cets.search.importers import read_vics

    _run(file, read_vics, **options)


@import_.command()
@_options
def cybertip(file: Path, **options: Any) -> None:
    """Import NCMEC CyberTipline report XML (one or more <report> elements).

    Each report becomes a tip record: the reported person's and the incident's e-mails, screen
    names, phones, IP addresses and URLs, the incident time, and the rest of the report as
    text. Victims', intended recipients' and the reporter's contact details are not imported.
    DTDs and entities are refused.
    """
    from cets.search.importers import read_cybertip

    _run(file, read_cybertip, **options)


def _run(
    file: Path,
    reader: Callable[[IO[bytes], Any], Iterator[Any]],
    *,
    out: Path | None,
    rejects: Path | None,
    region: str | None,
    created: str | None,
    as_json: bool,
) -> None:
    from cets.search.importers import Imported, Note, Rejected, Settings

    settings = Settings(_created(file, created), _region(region))
    out_path = out or file.with_name(file.name + ".ndjson")
    rejects_path = rejects or file.with_name(file.name + ".rejects.ndjson")
    if out_path.resolve() == file.resolve():
        raise click.BadParameter("--out must not be the input file")
    written = rejected = 0
    fatal = False
    notes: Counter[str] = Counter()
    shown = 0
    with (
        file.open("rb") as source,
        out_path.open("w", encoding="utf-8") as records,
        rejects_path.open("w", encoding="utf-8") as rejects_out,
    ):
        for item in reader(source, settings):
            if isinstance(item, Imported):
                records.write(json.dumps(item.record, ensure_ascii=False) + "\n")
                written += 1
            elif isinstance(item, Rejected):
                rejected += 1
                fatal = fatal or item.fatal
                click.echo(f"{file.name}: {item.location}: rejected: {item.reason}", err=True)
                rejects_out.write(
                    json.dumps(
                        {"location": item.location, "reason": item.reason, "raw": item.raw},
                        ensure_ascii=False,
                    )
                    + "\n"
                )
            elif isinstance(item, Note):
                notes[item.message] += 1
                if shown < _NOTES_SHOWN:
                    click.echo(f"{file.name}: {item.location}: note: {item.message}", err=True)
                    shown += 1
    if rejected == 0:
        rejects_path.unlink(missing_ok=True)
    summary = {
        "file": file.name,
        "written": written,
        "rejected": rejected,
        "complete": not fatal,
        "out": str(out_path),
        "rejects": str(rejects_path) if rejected else None,
        "notes": dict(notes),
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        if sum(notes.values()) > shown:
            for message, count in notes.most_common():
                click.echo(f"{file.name}: note ({count}x): {message}", err=True)
        click.echo(
            f"{file.name}: wrote {written} records to {out_path}, rejected {rejected}"
            + ("" if not fatal else "; the file could not be read to its end")
            + f". Next: cets ingest {out_path}"
        )
        if rejected:
            click.echo(f"rejected records written to {rejects_path}", err=True)
    if fatal:
        sys.exit(1)


def _created(file: Path, created: str | None) -> datetime:
    if created is None:
        return datetime.fromtimestamp(file.stat().st_mtime, UTC).replace(microsecond=0)
    try:
        value = datetime.fromisoformat(created)
    except ValueError:
        raise click.BadParameter("--created must be an ISO 8601 date or date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _region(region: str | None) -> str | None:
    import phonenumbers

    if not region:
        return None
    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise fail("--region must be a two-letter country code, e.g. CA")
    return region.upper()
