"""The audit log: an append-only, hash-chained record of the requests a service sends and answers.

Every search request is recorded where it is sent and where it is answered: who asked, for
which agency, purpose and case, the query, and what was released. Agency administrators read
the log to see who asked (``cets audit show``) and check that it was not altered
(``cets audit verify``).

Format
------
JSON Lines: one entry per line, each line the canonical JSON (:mod:`cets.common.canonical`) of::

    {"event": {...}, "hash": "<64 hex>", "prev": "<64 hex>", "seq": 1,
     "time": "2024-05-01T12:00:00.000000Z"}

- ``seq`` counts 1, 2, 3, ...
- ``time`` is when the entry was written: RFC 3339, UTC, with microseconds.
- ``prev`` is the ``hash`` of the previous entry (64 zeros for the first).
- ``event`` is the caller's JSON object.
- ``hash`` is the hex SHA-256 of the canonical JSON of ``{"seq", "time", "prev", "event"}``.

Next to the log, ``<log>.head`` holds the canonical JSON ``{"hash": ..., "seq": N}`` of the
last acknowledged entry (``seq`` 0 and 64 zeros while the log is empty). It is replaced
atomically after every append.

Guarantees
----------
- Durable: :meth:`AuditLog.append` returns only once the entry and the new head file are on
  disk (``fsync`` of the log, of the head file and of their directory).
- Tamper-evident: changing any byte of an entry, deleting, inserting or reordering entries
  breaks the chain; removing entries from the end disagrees with the head file. :func:`verify`
  finds and locates each. The chain is evidence, not a lock: whoever can write both files can
  rebuild everything after the entry they changed. Where that matters, copy the head file (or
  a recent ``hash``) regularly to a place they cannot write.
- Crash-safe: a crash during an append leaves at most one incomplete final line, which was
  never acknowledged. Opening the log moves it aside to ``<log>.torn-<UTC time>`` and carries
  on; :func:`verify` reports it as a note, not a problem. A crash after the entry was written
  but before the head file was replaced leaves a complete entry; opening keeps it and updates
  the head file. A crash while the head file was being replaced leaves the old head file and a
  temporary ``.<log>.head.*.tmp`` beside it; opening removes the temporary.
- One writer: an open :class:`AuditLog` holds an exclusive lock on the file. Threads share one
  instance; its appends are serialised.

Errors
------
- :class:`AuditError` (the root): the log cannot be opened or written (permissions, disk
  full, open elsewhere, closed). After a failed write the instance refuses further appends;
  reopening the log repairs what the failure left behind.
- :class:`AuditCorrupt` (an ``AuditError``): the log is unreadable or disagrees with its head
  file. It may have been tampered with, so nothing is written to it; ``cets audit verify``
  says what is wrong.
- ``ValueError``: an event that is not a JSON object with string keys, or is too large.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import glob
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from cets.common.canonical import canonical_json

__all__ = [
    "GENESIS",
    "MAX_LINE",
    "MAX_LISTED",
    "TORN_NOTE",
    "AuditCorrupt",
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "Problem",
    "VerifyReport",
    "head_path",
    "read_entries",
    "verify",
]

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
"""The ``prev`` of the first entry, and the head file's hash while the log is empty."""

MAX_LINE = 16 * 1024 * 1024
"""The longest line, in bytes; larger events are refused, so readers need bounded memory."""

MAX_LISTED = 1000
"""Problems listed by :func:`verify`; further ones are only counted."""

TORN_NOTE = "incomplete final line: an interrupted write that was never acknowledged"

_CHUNK = 64 * 1024
_FIELDS = frozenset({"seq", "time", "prev", "event", "hash"})
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_HEX = re.compile(r"[0-9a-f]{64}")


class AuditError(Exception):
    """The audit log cannot be opened or written."""


class AuditCorrupt(AuditError):
    """The log is unreadable or disagrees with its head file: it may have been tampered with."""


class _Malformed(Exception):
    """A line that is not a well-formed audit entry; the message says why."""


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the log."""

    seq: int
    time: str
    prev: str
    hash: str
    event: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "prev": self.prev,
            "event": self.event,
            "hash": self.hash,
        }

    def line(self) -> bytes:
        """The entry as it is stored: canonical JSON and a newline."""
        return canonical_json(self.as_dict()) + b"\n"


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


@dataclass(frozen=True)
class _Head:
    seq: int
    hash: str


def head_path(log: Path) -> Path:
    """Where the head file of ``log`` lives: ``<log>.head``."""
    return log.with_name(log.name + ".head")


# -- entries ------------------------------------------------------------------------------------


def _digest(seq: int, time: str, prev: str, event: dict[str, Any]) -> str:
    body = {"seq": seq, "time": time, "prev": prev, "event": event}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime(_TIME_FORMAT)


def _check_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"audit event keys must be strings, not {type(key).__name__}")
            _check_keys(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_keys(item)


def _normalise(event: Mapping[str, Any]) -> dict[str, Any]:
    """A private copy of ``event`` as it will read back; ``ValueError`` if it is not JSON."""
    if not isinstance(event, Mapping):
        raise ValueError(f"an audit event must be a JSON object, not {type(event).__name__}")
    try:
        copy = dict(event)
        _check_keys(copy)
        decoded: dict[str, Any] = json.loads(canonical_json(copy))
    except RecursionError:
        raise ValueError("audit event is nested too deeply") from None
    return decoded


def _parse_line(raw: bytes) -> AuditEntry:
    """The entry on one line (with or without its newline); ``_Malformed`` says what is wrong.

    The hash is not checked here. A line must be exactly the canonical JSON of its value, so
    changed bytes that decode to the same value (an escape written differently, say) are
    caught too.
    """
    body = raw[:-1] if raw.endswith(b"\n") else raw
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Malformed("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _Malformed(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except (ValueError, RecursionError):
        raise _Malformed("not JSON") from None
    if not isinstance(value, dict) or set(value) != _FIELDS:
        raise _Malformed("not an audit entry (fields must be event, hash, prev, seq, time)")
    _check_fields(value)
    try:
        canonical = canonical_json(value)
    except (ValueError, RecursionError):
        canonical = b""
    if canonical != body:
        raise _Malformed("not in canonical form: its bytes were altered")
    return AuditEntry(value["seq"], value["time"], value["prev"], value["hash"], value["event"])


def _check_fields(value: dict[str, Any]) -> None:
    seq, time = value["seq"], value["time"]
    if type(seq) is not int or seq < 1:
        raise _Malformed("seq is not a positive integer")
    if not isinstance(time, str) or not _valid_time(time):
        raise _Malformed("time is not an RFC 3339 UTC time with microseconds")
    for name in ("prev", "hash"):
        if not isinstance(value[name], str) or not _HEX.fullmatch(value[name]):
            raise _Malformed(f"{name} is not a hex SHA-256")
    if not isinstance(value["event"], dict):
        raise _Malformed("event is not a JSON object")


def _valid_time(text: str) -> bool:
    if not _TIME.fullmatch(text):
        return False
    try:
        datetime.strptime(text, _TIME_FORMAT)  # a real date and time, not just digits
    except ValueError:
        return False
    return True


def _valid_entry(raw: bytes | None) -> AuditEntry | None:
    """The entry on a complete line whose hash matches its content; None otherwise."""
    if raw is None or not raw.endswith(b"\n"):
        return None
    try:
        entry = _parse_line(raw)
    except _Malformed:
        return None
    if _digest(entry.seq, entry.time, entry.prev, entry.event) != entry.hash:
        return None
    return entry


def _read_lines(handle: BinaryIO) -> Iterator[tuple[bytes | None, bool]]:
    """Each line and whether it ends with a newline; the line is None when over ``MAX_LINE``."""
    while raw := handle.readline(MAX_LINE + 1):
        if len(raw) <= MAX_LINE or raw.endswith(b"\n"):
            yield raw, raw.endswith(b"\n")
            continue
        while raw and not raw.endswith(b"\n"):
            raw = handle.readline(_CHUNK)
        yield None, raw.endswith(b"\n")


def read_entries(path: Path | str) -> Iterator[AuditEntry]:
    """The entries of the log at ``path``, in order, for tools that show the log.

    The chain is not checked (use :func:`verify`); an incomplete final line is skipped.
    ``AuditCorrupt`` for a line that is not an entry.
    """
    with Path(path).open("rb") as handle:
        for number, (raw, complete) in enumerate(_read_lines(handle), 1):
            if not complete:
                return
            try:
                if raw is None:
                    raise _Malformed(f"longer than {MAX_LINE} bytes")
                yield _parse_line(raw)
            except _Malformed as exc:
                raise AuditCorrupt(
                    f"{path}:{number}: {exc}; check the log with `cets audit verify`"
                ) from None


# -- files --------------------------------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (mode 0600) so that a crash leaves the old or the new."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(path.parent)


def _read_head(path: Path) -> _Head:
    """The head file's record; ``FileNotFoundError`` if absent, ``ValueError`` if unreadable."""
    data = path.read_bytes()
    try:
        value = json.loads(data.decode("utf-8"))
    except ValueError:  # also UnicodeDecodeError
        raise ValueError("not JSON") from None
    if (
        not isinstance(value, dict)
        or set(value) != {"seq", "hash"}
        or type(value["seq"]) is not int
        or value["seq"] < 0
        or not isinstance(value["hash"], str)
        or not _HEX.fullmatch(value["hash"])
    ):
        raise ValueError('not {"hash": <64 hex>, "seq": <count>}')
    return _Head(value["seq"], value["hash"])


def _line_start(fd: int, end: int) -> int:
    """Where the line that ends at byte ``end`` (after its newline, if any) starts."""
    position = end - 1  # the line's own newline is not the one we look for
    while position > 0:
        low = max(0, position - _CHUNK)
        found = os.pread(fd, position - low, low).rfind(b"\n")
        if found >= 0:
            return low + found + 1
        position = low
    return 0


def _read_span(fd: int, start: int, end: int) -> bytes | None:
    """Bytes ``start:end`` of the file; None when that is too long to be a line."""
    return os.pread(fd, end - start, start) if end - start <= MAX_LINE + 1 else None


# -- writing ------------------------------------------------------------------------------------


class AuditLog:
    """An audit log open for appending. Share one instance between threads.

    ``AuditError`` if the log cannot be opened (or is open elsewhere); ``AuditCorrupt`` if it
    is unreadable or disagrees with its head file.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.head_path = head_path(self.path)
        self._lock = threading.Lock()
        self._failed = False
        fd = self._open()
        try:
            self._remove_temporaries()
            self._seq, self._hash = self._recover(fd)
        except OSError as exc:
            os.close(fd)
            raise AuditError(f"cannot read the audit log {self.path}: {exc}") from exc
        except BaseException:
            os.close(fd)
            raise
        self._fd: int | None = fd

    @property
    def last_seq(self) -> int:
        """The seq of the last entry (0 while the log is empty)."""
        return self._seq

    def append(self, event: Mapping[str, Any]) -> AuditEntry:
        """Add ``event`` (a JSON object) to the log; returns once it is on disk."""
        body = _normalise(event)
        with self._lock:
            fd = self._writable()
            seq, prev, time = self._seq + 1, self._hash, _now()
            entry = AuditEntry(seq, time, prev, _digest(seq, time, prev, body), body)
            line = entry.line()
            if len(line) > MAX_LINE:
                raise ValueError(f"audit event too large ({len(line)} bytes)")
            try:
                _write_all(fd, line)
                os.fsync(fd)
                self._write_head(seq, entry.hash)
            except OSError as exc:
                self._failed = True
                raise AuditError(
                    f"could not write the audit log {self.path}: {exc}; reopen it to continue"
                ) from exc
            self._seq, self._hash = seq, entry.hash
            return entry

    async def append_async(self, event: Mapping[str, Any]) -> AuditEntry:
        """:meth:`append` in a worker thread, for asyncio servers."""
        return await asyncio.to_thread(self.append, event)

    def close(self) -> None:
        """Release the file; further appends raise ``AuditError``. Safe to call twice."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _writable(self) -> int:
        if self._fd is None:
            raise AuditError(f"the audit log {self.path} is closed")
        if self._failed:
            raise AuditError(f"an earlier write to {self.path} failed; reopen the log")
        return self._fd

    def _open(self) -> int:
        """The log's file descriptor, created 0600 (in a 0700 directory) and locked."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise AuditError(f"cannot open the audit log {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            busy = isinstance(exc, BlockingIOError)
            reason = "it is open elsewhere" if busy else str(exc)
            raise AuditError(f"cannot lock the audit log {self.path}: {reason}") from exc
        return fd

    def _remove_temporaries(self) -> None:
        """Remove head files a crash left half-written. Only the holder of the lock writes
        them, and it holds the lock now, so none of them is still being written."""
        # exactly the names mkstemp gives them: "." + head name + "." + 8 characters + ".tmp"
        ours = re.compile(rf"\.{re.escape(self.head_path.name)}\.[a-z0-9_]{{8}}\.tmp")
        for stale in self.path.parent.glob(f".{glob.escape(self.head_path.name)}.*.tmp"):
            if not ours.fullmatch(stale.name):
                continue
            stale.unlink(missing_ok=True)
            logger.warning(
                "audit log %s: removed %s, left by a write of its head file that was interrupted",
                self.path,
                stale.name,
            )

    def _corrupt(self, problem: str) -> AuditCorrupt:
        return AuditCorrupt(
            f"{problem}; the log may have been tampered with, so nothing more is written to it. "
            f"Check it with `cets audit verify {self.path}`"
        )

    def _recover(self, fd: int) -> tuple[int, str]:
        """Continue the chain: the last entry's seq and hash, after setting aside a torn write."""
        size = os.fstat(fd).st_size
        head = self._load_head(size)
        last, end = self._tail(fd, size)
        if end < size:
            if (last.seq if last else 0) < head.seq:
                raise self._corrupt(
                    f"the last line of {self.path} is damaged, and its head file records it "
                    f"as written (seq {head.seq})"
                )
            self._set_aside(fd, end, size)
        return self._reconcile(last, head)

    def _load_head(self, size: int) -> _Head:
        try:
            return _read_head(self.head_path)
        except FileNotFoundError:
            if size:
                raise self._corrupt(
                    f"{self.head_path} is missing but {self.path} has entries "
                    "(removing it would hide entries removed from the end)"
                ) from None
        except ValueError as exc:
            raise self._corrupt(f"{self.head_path} is unreadable ({exc})") from None
        self._write_head(0, GENESIS)
        return _Head(0, GENESIS)

    def _tail(self, fd: int, size: int) -> tuple[AuditEntry | None, int]:
        """The last valid entry, and where the damaged final line after it starts (or size)."""
        if size == 0:
            return None, 0
        start = _line_start(fd, size)
        entry = _valid_entry(_read_span(fd, start, size))
        if entry is not None:
            return entry, size
        if start == 0:
            return None, 0
        before = _line_start(fd, start)
        entry = _valid_entry(_read_span(fd, before, start))
        if entry is None:
            raise self._corrupt(f"the last two lines of {self.path} are not valid entries")
        return entry, start

    def _set_aside(self, fd: int, start: int, size: int) -> None:
        """Move bytes ``start:size`` (a write never acknowledged) to a file of their own."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        aside = self.path.with_name(f"{self.path.name}.torn-{stamp}")
        out = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            for offset in range(start, size, _CHUNK):
                _write_all(out, os.pread(fd, min(_CHUNK, size - offset), offset))
            os.fsync(out)
        finally:
            os.close(out)
        os.ftruncate(fd, start)
        os.fsync(fd)
        _fsync_dir(self.path.parent)
        logger.warning(
            "audit log %s: moved %d bytes of an interrupted, unacknowledged write to %s",
            self.path,
            size - start,
            aside,
        )

    def _reconcile(self, last: AuditEntry | None, head: _Head) -> tuple[int, str]:
        """Check the last entry against the head file; ``AuditCorrupt`` if they disagree."""
        seq, digest = (last.seq, last.hash) if last else (0, GENESIS)
        if seq == head.seq and digest == head.hash:
            return seq, digest
        if seq < head.seq:
            raise self._corrupt(
                f"{self.path} ends at seq {seq} but its head file records seq {head.seq}: "
                "entries were removed from the end"
            )
        if seq == head.seq:
            raise self._corrupt(
                f"the last entry of {self.path} (seq {seq}) does not match its head file"
            )
        if last and seq == head.seq + 1 and last.prev == head.hash:
            logger.warning(
                "audit log %s: entry %d was written but not acknowledged before an "
                "interruption; keeping it",
                self.path,
                seq,
            )
            self._write_head(seq, digest)
            return seq, digest
        raise self._corrupt(
            f"{self.path} continues to seq {seq} past its head file (seq {head.seq})"
        )

    def _write_head(self, seq: int, digest: str) -> None:
        _atomic_write(self.head_path, canonical_json({"seq": seq, "hash": digest}) + b"\n")


# -- verifying ----------------------------------------------------------------------------------


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
                f"{head.seq}: appended since it was written, or (the last one) written but "
                "not acknowledged before an interruption"
            )
