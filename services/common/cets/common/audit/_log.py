"""The writer: one locked, append-only log that recovers from an interrupted write."""

from __future__ import annotations

import asyncio
import fcntl
import glob
import logging
import os
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from cets.common.audit._chain import (
    _CHUNK,
    GENESIS,
    MAX_LINE,
    AuditCorrupt,
    AuditEntry,
    AuditError,
    _encoded,
    _encoded_digest,
    _encoded_line,
    _Head,
    _now,
    _valid_entry,
    head_path,
)
from cets.common.audit._files import (
    _fsync_dir,
    _HeadFile,
    _line_start,
    _read_head_file,
    _read_span,
    _write_all,
)

logger = logging.getLogger("cets.common.audit")

MAX_PAST_HEAD = 100_000
"""The most entries opening accepts past the head file: written, possibly on disk, but never
acknowledged (an interruption between a group's write and its head file). Appends beyond
this many without a commit cannot happen: every append waits for its commit."""


class AuditLog:
    """An audit log open for appending. Share one instance between threads.

    ``AuditError`` if the log cannot be opened (or is open elsewhere); ``AuditCorrupt`` if it
    is unreadable or disagrees with its head file.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.head_path = head_path(self.path)
        self._lock = threading.Lock()
        """Held while an entry is chained and written (not while it is made durable)."""
        self._commit = threading.Condition(threading.Lock())
        """Guards the group commit: ``_durable``, ``_committing``, ``_commit_error``."""
        self._committing = False
        self._commit_error: AuditError | None = None
        self._failed = False
        self._head: _HeadFile | None = None
        fd = self._open()
        try:
            self._remove_temporaries()
            self._seq, self._hash = self._recover(fd)
        except OSError as exc:
            self._close_files(fd)
            raise AuditError(f"cannot read the audit log {self.path}: {exc}") from exc
        except BaseException:
            self._close_files(fd)
            raise
        self._fd: int | None = fd
        self._durable = self._seq
        """The seq of the last entry on disk together with its head file."""
        self.commits = 0
        """Group commits done (each one fsync of the log and one head file write)."""

    @property
    def last_seq(self) -> int:
        """The seq of the last entry (0 while the log is empty)."""
        return self._seq

    def append(self, event: Mapping[str, Any]) -> AuditEntry:
        """Add ``event`` (a JSON object) to the log; returns once it is on disk.

        Group commit: the entry is chained and written at once; it is then made durable
        together with every entry other threads wrote meanwhile (one ``fsync`` of the log and
        one head file for all of them). Whichever waiting thread finds no commit running does
        the next one; the others wait for it. Nobody returns before the commit that covers
        their entry has finished, so an entry is acknowledged only once it and a head file at
        or past it are on disk.
        """
        data, body = _encoded(event)
        with self._lock:
            fd = self._writable()
            seq, prev, time = self._seq + 1, self._hash, _now()
            digest = _encoded_digest(seq, time, prev, data)
            entry = AuditEntry(seq, time, prev, digest, body)
            line = _encoded_line(entry, data)
            if len(line) > MAX_LINE:
                raise ValueError(f"audit event too large ({len(line)} bytes)")
            try:
                _write_all(fd, line)
            except OSError as exc:
                self._failed = True
                raise AuditError(
                    f"could not write the audit log {self.path}: {exc}; reopen it to continue"
                ) from exc
            self._seq, self._hash = seq, entry.hash
        self._wait_durable(seq)
        return entry

    def _wait_durable(self, seq: int) -> None:
        with self._commit:
            while self._durable < seq:
                if self._commit_error is not None:
                    raise self._commit_error
                if not self._committing:
                    self._committing = True
                    break
                self._commit.wait()
            else:
                return
        error: AuditError | None = None
        try:
            with self._lock:  # everything written so far, this thread's entry included
                fd, upto, digest = self._writable(), self._seq, self._hash
            os.fsync(fd)
            self._write_head(upto, digest)
        except AuditError as exc:
            error = exc
        except OSError as exc:
            error = AuditError(
                f"could not write the audit log {self.path}: {exc}; reopen it to continue"
            )
        with self._commit:
            self._committing = False
            if error is None:
                self._durable = upto
                self.commits += 1
            else:
                self._failed = True
                self._commit_error = error
            self._commit.notify_all()
        if error is not None:
            raise error

    async def append_async(self, event: Mapping[str, Any]) -> AuditEntry:
        """:meth:`append` in a worker thread, for asyncio servers."""
        return await asyncio.to_thread(self.append, event)

    def close(self) -> None:
        """Release the file; further appends raise ``AuditError``. Safe to call twice."""
        with self._commit:
            while self._committing:
                self._commit.wait()
        with self._lock:
            if self._fd is not None:
                self._close_files(self._fd)
                self._fd = None

    def _close_files(self, fd: int) -> None:
        os.close(fd)
        if self._head is not None:
            self._head.close()
            self._head = None

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
        return self._reconcile(last, head, fd, end)

    def _load_head(self, size: int) -> _Head:
        try:
            head, slot = _read_head_file(self.head_path)
        except FileNotFoundError:
            if size:
                raise self._corrupt(
                    f"{self.head_path} is missing but {self.path} has entries "
                    "(removing it would hide entries removed from the end)"
                ) from None
            head, slot = _Head(0, GENESIS), None
        except ValueError as exc:
            raise self._corrupt(f"{self.head_path} is unreadable ({exc})") from None
        self._head = _HeadFile(self.head_path, head, slot)
        return head

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

    def _reconcile(
        self, last: AuditEntry | None, head: _Head, fd: int, end: int
    ) -> tuple[int, str]:
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
        if last and self._chains_to(last, head, fd, end):
            logger.warning(
                "audit log %s: entries %d to %d were written but not acknowledged before an "
                "interruption; keeping them",
                self.path,
                head.seq + 1,
                seq,
            )
            self._write_head(seq, digest)
            return seq, digest
        raise self._corrupt(
            f"{self.path} continues to seq {seq} past its head file (seq {head.seq}) "
            "without chaining to it"
        )

    def _chains_to(self, last: AuditEntry, head: _Head, fd: int, end: int) -> bool:
        """Whether the entries after the head file's seq, up to ``last`` (the log's last
        line, ending at ``end``), are whole, numbered one by one and chained to the head
        file's hash."""
        if last.seq - head.seq > MAX_PAST_HEAD:
            return False
        entry = last
        while True:
            if entry.seq == head.seq + 1:
                return entry.prev == head.hash
            start = _line_start(fd, end)
            end = start
            if start == 0:
                return False
            before = _valid_entry(_read_span(fd, _line_start(fd, start), start))
            if before is None or before.seq != entry.seq - 1 or before.hash != entry.prev:
                return False
            entry = before

    def _write_head(self, seq: int, digest: str) -> None:
        if self._head is None:
            raise AuditError(f"the audit log {self.path} is closed")
        self._head.write(_Head(seq, digest))
