"""``cets hash``: media_hash records from image files, ready for ``cets ingest``."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click

from cets.cli._common import fail

MAX_FILE_BYTES = 256 * 1024 * 1024
"""Larger files are reported and skipped, never read."""


@click.command("hash")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the NDJSON goes (default: standard output).",
)
@click.option(
    "--min-quality",
    type=click.IntRange(0, 100),
    default=50,
    show_default=True,
    help="Flag PDQ hashes of lower quality (PDQ's guidance: below 50 is unreliable).",
)
@click.option("--source", default="", help="The records' source field, e.g. 'seized-device-7'.")
@click.option("--case", "case_ref", default="", help="The records' case reference.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=lambda: min(os.cpu_count() or 1, 8),
    help="Processes hashing at once (default: the CPUs, up to 8).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: when stderr is a terminal).",
)
def hash_images(
    paths: tuple[Path, ...],
    output: Path | None,
    min_quality: int,
    source: str,
    case_ref: str,
    jobs: int,
    progress: bool | None,
) -> None:
    """MD5, SHA-1 and PDQ (with its quality) of every image in PATHS (files, or directories
    searched recursively), written as media_hash records for ``cets ingest``.

    JPEG, PNG, GIF, WebP, BMP and TIFF are read. Only the hashes and the file's name are
    written; the images are never copied or sent anywhere. Files that are no readable image
    are reported on stderr and skipped; hashes below --min-quality are flagged on stderr (and
    carry their pdq_quality in the record).
    """
    files = sorted(set(_files(paths)))
    if not files:
        raise fail("no files found in the paths given")
    show = sys.stderr.isatty() if progress is None else progress
    counts = {"hashed": 0, "low_quality": 0, "skipped": 0}
    started = time.monotonic()
    out: IO[str] = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        with click.progressbar(
            length=len(files), label="hashing", file=sys.stderr if show else io.StringIO()
        ) as bar:
            for path, outcome in _hashed(files, jobs):
                bar.update(1)
                if isinstance(outcome, str):
                    counts["skipped"] += 1
                    click.echo(f"{path}: skipped: {outcome}", err=True)
                    continue
                counts["hashed"] += 1
                if outcome["pdq_quality"] < min_quality:
                    counts["low_quality"] += 1
                    click.echo(
                        f"{path}: flagged: PDQ quality {outcome['pdq_quality']} is below "
                        f"{min_quality} (a flat or featureless image; its PDQ is unreliable)",
                        err=True,
                    )
                record = {**outcome, "source": source, "case_ref": case_ref}
                out.write(json.dumps({k: v for k, v in record.items() if v != ""}) + "\n")
    finally:
        if output:
            out.close()
    seconds = max(time.monotonic() - started, 1e-9)
    click.echo(
        f"hashed {counts['hashed']} images ({counts['low_quality']} flagged low quality), "
        f"skipped {counts['skipped']} files, in {seconds:.1f} s "
        f"({counts['hashed'] / seconds:.0f} images/s)",
        err=True,
    )
    if counts["hashed"] == 0:
        raise fail("no image could be hashed")


def _files(paths: tuple[Path, ...]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for directory, _, names in os.walk(path):
                for name in names:
                    candidate = Path(directory, name)
                    if candidate.is_file():
                        yield candidate
        elif path.is_file():
            yield path


def _hashed(files: list[Path], jobs: int) -> Iterator[tuple[Path, dict[str, Any] | str]]:
    if jobs == 1 or len(files) < 8:
        for path in files:
            yield path, _hash_one(path)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from zip(files, pool.map(_hash_one, files, chunksize=8), strict=True)


def _hash_one(path: Path) -> dict[str, Any] | str:
    """The media_hash record for one file, or why it was skipped."""
    from cets.common.imagehash import ImageError, hash_file

    try:
        hashes = hash_file(path, max_bytes=MAX_FILE_BYTES)
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except ImageError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    return {
        "type": "media_hash",
        "created": modified.isoformat().replace("+00:00", "Z"),
        "md5": hashes.md5,
        "sha1": hashes.sha1,
        "pdq": hashes.pdq,
        "pdq_quality": hashes.quality,
        "filename": "".join(c if c.isprintable() else "?" for c in path.name)[:256],
    }
