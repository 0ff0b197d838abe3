"""``cets audit``."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import click

from cets.cli._common import fail
from cets.common.audit import AuditCorrupt, AuditEntry, read_entries, verify
from cets.common.canonical import canonical_json

SHOWN_KEYS = (
    "kind",
    "officer",
    "requester",
    "agency",
    "purpose",
    "case",
    "outcome",
    "level",
    "hits",
)
"""The event fields ``show`` puts in its table, when entries have them."""

MAX_CELL = 40  # characters in a table cell; longer values are cut
MAX_PRINTED = 50  # problems verify prints; the rest are counted


@click.group()
def audit() -> None:
    """Check and read audit logs: who asked what, and whether the log was altered."""


@audit.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--head",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The head file to check against (default: FILE.head, if it exists).",
)
def audit_verify(file: Path, head: Path | None) -> None:
    """Check that the audit log FILE is intact: no entry changed, added or missing.

    Prints each problem as FILE:LINE: seq S: KIND: DETAIL and exits 1, or exits 0 when the
    chain is intact. Notes (such as a write interrupted before it was acknowledged) do not
    fail the check.
    """
    try:
        report = verify(file, head=head)
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror or exc}") from None
    for problem in report.problems[:MAX_PRINTED]:
        seq = "?" if problem.seq is None else problem.seq
        click.echo(f"{file}:{problem.line}: seq {seq}: {problem.kind}: {problem.detail}")
    for note in report.notes:
        click.echo(f"{file}: note: {note}")
    if report.ok:
        click.echo(f"{file}: {report.entries} entries, chain intact")
        return
    total = len(report.problems) + report.unlisted
    if total > MAX_PRINTED:
        click.echo(f"{file}: ... and {total - MAX_PRINTED} more problems")
    first = report.problems[0]
    raise fail(
        f"{file}: {total} problem{'s' if total != 1 else ''} in {report.entries} entries, "
        f"the first at line {first.line} ({first.kind}); the log was altered or damaged"
    )


@audit.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--last", type=click.IntRange(min=1), default=None, help="Only the last N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print each entry as a line of JSON.")
def audit_show(file: Path, last: int | None, as_json: bool) -> None:
    """List who asked what: the entries of the audit log FILE.

    The table shows seq, time and the well-known event fields present (kind, officer,
    requester, agency, purpose, case, outcome, level, hits); --json prints whole entries.
    This does not check the chain: use `cets audit verify` for that.
    """
    entries: deque[AuditEntry] = deque(maxlen=last)
    try:
        entries.extend(read_entries(file))
    except AuditCorrupt as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror or exc}") from None
    if as_json:
        for entry in entries:
            click.echo(canonical_json(entry.as_dict()).decode("utf-8"))
        return
    if not entries:
        click.echo(f"{file}: no entries")
        return
    _table(list(entries))


def _table(entries: list[AuditEntry]) -> None:
    keys = [key for key in SHOWN_KEYS if any(key in entry.event for entry in entries)]
    header = ["seq", "time", *keys]
    rows = [
        [str(entry.seq), entry.time, *(_cell(entry.event.get(key)) for key in keys)]
        for entry in entries
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


def _cell(value: Any) -> str:
    """A value for one table cell: short, one line, no terminal control characters."""
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"
