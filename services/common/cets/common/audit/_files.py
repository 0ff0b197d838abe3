"""Durable file writes: every byte on disk before an append is acknowledged."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from cets.common.audit._chain import _CHUNK, _HEX, MAX_LINE, _Head
from cets.common.canonical import canonical_json

SLOT = 4096
"""The size of each of the head file's two slots: one filesystem block each, so a write torn
in one slot cannot touch the other."""


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


def _check(head: _Head) -> str:
    return hashlib.sha256(canonical_json({"hash": head.hash, "seq": head.seq})).hexdigest()


def _slot(head: _Head) -> bytes:
    """One slot: the head's canonical JSON with its own SHA-256, space-padded, a newline."""
    record = canonical_json({"check": _check(head), "hash": head.hash, "seq": head.seq})
    return record.ljust(SLOT - 1, b" ") + b"\n"


def _valid_head(value: object) -> _Head | None:
    if (
        not isinstance(value, dict)
        or not {"seq", "hash"} <= set(value)
        or type(value["seq"]) is not int
        or value["seq"] < 0
        or not isinstance(value["hash"], str)
        or not _HEX.fullmatch(value["hash"])
    ):
        return None
    return _Head(value["seq"], value["hash"])


def _parse_slot(data: bytes) -> _Head | None:
    """The head in one slot; None if the slot is torn or damaged."""
    try:
        value = json.loads(data.decode("utf-8"))
    except ValueError:  # also UnicodeDecodeError
        return None
    head = _valid_head(value)
    if head is None or set(value) != {"check", "seq", "hash"} or value["check"] != _check(head):
        return None
    return head if _slot(head) == data else None


def _read_slots(data: bytes) -> tuple[_Head, int] | None:
    """The newest valid head in a two-slot file and its slot; None if neither is valid."""
    found = [(h, n) for n in (0, 1) if (h := _parse_slot(data[n * SLOT : (n + 1) * SLOT]))]
    return max(found, key=lambda item: (item[0].seq, -item[1])) if found else None


def _read_head_file(path: Path) -> tuple[_Head, int | None]:
    """The head and the slot holding it (None for the old one-line form)."""
    data = path.read_bytes()
    if len(data) == 2 * SLOT:
        slots = _read_slots(data)
        if slots is None:
            raise ValueError("neither of its two slots holds a valid head")
        return slots
    try:
        value = json.loads(data.decode("utf-8"))
    except ValueError:  # also UnicodeDecodeError
        raise ValueError("not JSON") from None
    head = _valid_head(value)
    if head is None or set(value) != {"seq", "hash"}:
        raise ValueError('not {"hash": <64 hex>, "seq": <count>}')
    return head, None


def _read_head(path: Path) -> _Head:
    """The head file's record; ``FileNotFoundError`` if absent, ``ValueError`` if unreadable.

    Two slots of ``SLOT`` bytes (the valid one with the higher seq wins), or the one
    canonical JSON line earlier versions wrote."""
    return _read_head_file(path)[0]


class _HeadFile:
    """The head file open for writing: each commit overwrites, in place, the slot that does
    not hold the newest head, then ``fdatasync``. The file never changes size or inode, so
    nothing but the slot's data block needs to reach the disk; a write torn by a crash
    leaves the other slot, and the previous head, in force."""

    def __init__(self, path: Path, head: _Head, slot: int | None) -> None:
        if slot is None:  # created, or the old one-line form: written once, atomically
            _atomic_write(path, _slot(head) * 2)
            slot = 0
        self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        self.newest = slot

    def write(self, head: _Head) -> None:
        data, offset = _slot(head), (1 - self.newest) * SLOT
        view = memoryview(data)
        while view:
            view = view[os.pwrite(self.fd, view, offset + len(data) - len(view)) :]
        os.fdatasync(self.fd)
        self.newest = 1 - self.newest

    def close(self) -> None:
        os.close(self.fd)


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
