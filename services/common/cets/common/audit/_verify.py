"""Checking a log: every entry, the chain and the head file, with each problem located."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cets.common.audit._chain import (
    GENESIS,
    MAX_LINE,
    TORN_NOTE,
    AuditEntry,
    _digest,
    _Head,
    _Malformed,
    _parse_line,
    _read_lines,
    head_path,
)
from cets.common.audit._files import _read_head

MAX_LISTED = 1000
"""Problems listed by :func:`verify`; further ones are only counted."""


@dataclass(frozen=True)
class Problem:
    """Something wrong with a log: ``line`` is 1-based; ``seq`` is the entry's, when known."""

    line: int
    seq: int | None
    kind: str  # malformed, edited, broken chain, sequence, truncated, head
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """The result of :func:`verify`. ``unlisted`` counts problems beyond ``MAX_LISTED``."""

    ok: bool
    entries: int
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unlisted: int = 0


def verify(path: Path | str, *, head: Path | str | None = None) -> VerifyReport:
    """Check the whole log at ``path``, streaming it, against its head file.

    The head file is ``head`` or, when that is not given, ``<path>.head`` if it exists. A
    copy of an older head file works too: entries after its seq are noted, not faulted. The
    head is read before the log, so a log that is being written to can be checked.
    ``OSError`` if the log (or a given head file) cannot be read.
    """
    path = Path(path)
    head_file = Path(head) if head is not None else head_path(path)
    checker = _Checker()
    if head is None and not head_file.exists():
        checker.notes.append(
            f"no head file ({head_file.name}): entries removed from the end cannot be detected"
        )
    else:
        try:
            checker.head = _read_head(head_file)
        except ValueError as exc:
            checker.problem(0, None, "head", f"{head_file} is unreadable ({exc})")
    with path.open("rb") as handle:
        for number, (raw, complete) in enumerate(_read_lines(handle), 1):
            checker.feed(number, raw, complete)
    return checker.report()


class _Checker:
    """Checks a log line by line, keeping only what the next line is checked against.

    After a problem it resynchronises on the line's own fields, so one change gives one or
    two problems, not one for every line after it.
    """

    def __init__(self) -> None:
        self.head: _Head | None = None
        self.expected = 1  # the next line's seq
        self.prev: str | None = GENESIS  # the next line's prev; None after a malformed line
        self.lines = 0
        self.entries = 0
        self.torn = False
        self.at_head: tuple[int, str] | None = None  # line and hash of the head file's seq
        self.problems: list[Problem] = []
        self.unlisted = 0
        self.notes: list[str] = []

    def problem(self, line: int, seq: int | None, kind: str, detail: str) -> None:
        if len(self.problems) < MAX_LISTED:
            self.problems.append(Problem(line, seq, kind, detail))
        else:
            self.unlisted += 1

    def feed(self, number: int, raw: bytes | None, complete: bool) -> None:
        self.lines = number
        if not complete:  # only the final line can lack its newline
            self.torn = True
            return
        try:
            if raw is None:
                raise _Malformed(f"longer than {MAX_LINE} bytes")
            entry = _parse_line(raw)
        except _Malformed as exc:
            self.problem(number, None, "malformed", str(exc))
            self.expected += 1
            self.prev = None
            return
        self.entries += 1
        self._link(number, entry)
        if self.head and entry.seq == self.head.seq and self.at_head is None:
            self.at_head = (number, entry.hash)

    def _link(self, number: int, entry: AuditEntry) -> None:
        """Check the entry's own hash, then that it follows the line before."""
        if _digest(entry.seq, entry.time, entry.prev, entry.event) != entry.hash:
            detail = "the hash does not match the entry's content: it was changed after writing"
            self.problem(number, entry.seq, "edited", detail)
            self.expected += 1
        elif self.prev is not None and entry.prev != self.prev:
            self.problem(number, entry.seq, "broken chain", self._gap(entry))
            self.expected = entry.seq + 1
        elif entry.seq != self.expected:
            self.problem(number, entry.seq, "sequence", f"expected seq {self.expected}")
            self.expected = entry.seq + 1
        else:
            self.expected += 1
        self.prev = entry.hash

    def _gap(self, entry: AuditEntry) -> str:
        before = "prev does not match the hash of the entry before"
        if entry.seq > self.expected:
            return f"{before}; seq jumps from {self.expected - 1} to {entry.seq}: entries deleted"
        if entry.seq < self.expected:
            return f"{before}; seq {entry.seq} where {self.expected} was due: inserted or moved"
        return f"{before}: the entry before was replaced, or this one was"

    def report(self) -> VerifyReport:
        if self.head is None:
            if self.torn:
                self.notes.append(f"{TORN_NOTE} (there is no head file to confirm it)")
        else:
            self._check_head(self.head)
        ok = not self.problems and not self.unlisted
        return VerifyReport(ok, self.entries, self.problems, self.notes, self.unlisted)

    def _check_head(self, head: _Head) -> None:
        reached = self.expected - 1
        if head.seq > reached:
            line = self.lines if self.torn else self.lines + 1
            detail = (
                f"the head file records {head.seq} entries but the log ends at seq {reached}: "
                f"the last {head.seq - reached} were removed"
            )
            self.problem(line, reached + 1, "truncated", detail)
            return
        if self.torn:
            self.notes.append(TORN_NOTE)
        found = (0, GENESIS) if head.seq == 0 else self.at_head
        if found is None:
            self.problem(self.lines, head.seq, "head", "no entry has the head file's seq")
        elif found[1] != head.hash:
            detail = "the entry's hash does not match the head file: it was replaced"
            self.problem(found[0], head.seq, "head", detail)
        if reached > head.seq:  # appended since the head was read or copied, or unacknowledged
            self.notes.append(
                f"entries {head.seq + 1} to {reached} come after the head file's seq "
                f"{head.seq}: appended since it was written, or (the last group) written but "
                "not acknowledged before an interruption"
            )
