"""Entries and their chain: the line format, the hash, parsing and reading back."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from cets.common.canonical import canonical_json

GENESIS = "0" * 64
"""The ``prev`` of the first entry, and the head file's hash while the log is empty."""

MAX_LINE = 16 * 1024 * 1024
"""The longest line, in bytes; larger events are refused, so readers need bounded memory."""

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
class _Head:
    seq: int
    hash: str


def head_path(log: Path) -> Path:
    """Where the head file of ``log`` lives: ``<log>.head``."""
    return log.with_name(log.name + ".head")


def _digest(seq: int, time: str, prev: str, event: dict[str, Any]) -> str:
    return _encoded_digest(seq, time, prev, canonical_json(event))


def _encoded_digest(seq: int, time: str, prev: str, event: bytes) -> str:
    """:func:`_digest` of an event already encoded (``event``: its canonical JSON)."""
    chained = {"seq": seq, "time": time, "prev": prev}
    return hashlib.sha256(_with_event(event, chained)).hexdigest()


def _encoded_line(entry: AuditEntry, event: bytes) -> bytes:
    """``entry.line()``, with ``event`` the canonical JSON of ``entry.event``."""
    fields = {"seq": entry.seq, "time": entry.time, "prev": entry.prev, "hash": entry.hash}
    return _with_event(event, fields) + b"\n"


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


def _encoded(event: Mapping[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """``event``'s canonical JSON, and a private copy of it as it will read back;
    ``ValueError`` if it is not JSON."""
    if not isinstance(event, Mapping):
        raise ValueError(f"an audit event must be a JSON object, not {type(event).__name__}")
    try:
        copy = dict(event)
        try:  # orjson refuses keys that are not strings, quickly, where json would convert them
            orjson.dumps(copy)
        except TypeError:  # or a value it does not write: the keys are walked to tell which
            _check_keys(copy)
        data = canonical_json(copy)
        decoded: dict[str, Any] = json.loads(data)
    except RecursionError:
        raise ValueError("audit event is nested too deeply") from None
    return data, decoded


def _with_event(event: bytes, fields: Mapping[str, Any]) -> bytes:
    """The canonical JSON of ``fields`` plus ``"event"``, whose canonical JSON is ``event``:
    the event's bytes (most of an entry) are used as they are, not encoded again."""
    members = sorted([("event", event), *((k, canonical_json(v)) for k, v in fields.items())])
    return b"{" + b",".join(canonical_json(k) + b":" + v for k, v in members) + b"}"


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
