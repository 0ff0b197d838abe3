"""Durable file writes: every byte on disk before an append is acknowledged."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from cets.common.audit._chain import _CHUNK, _HEX, MAX_LINE, _Head


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
