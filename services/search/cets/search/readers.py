"""Reading NDJSON and CSV: every record with its line number, or a Reject saying why not.

Bytes in, ``(line, record or Reject)`` out: bad encodings, over-long lines, broken JSON and
broken CSV quoting each become a :class:`Reject` naming the line and the rule, never the value,
and reading carries on with the next line.
"""

from __future__ import annotations

import csv
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import orjson

__all__ = [
    "MAX_CSV_RECORD_LINES",
    "MAX_LINE_BYTES",
    "Format",
    "Item",
    "Reject",
    "parse_line",
    "raw_text",
    "read_lines",
    "read_records",
]

MAX_LINE_BYTES = 1024 * 1024
"""A longer line (or CSV record) is rejected."""
MAX_CSV_RECORD_LINES = 1000
"""A quoted CSV field may span lines, but not more than this many."""
_REJECT_RAW_LIMIT = 64 * 1024
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
"""UTF-16 LE/BE and UTF-32 LE/BE (UTF-32 LE starts like UTF-16 LE) byte order marks."""
_WIDE_FILE = "the file is UTF-16 or UTF-32 (it starts with a byte order mark); convert it to UTF-8"
_UTF16_HINT = " (the file looks like UTF-16; convert it to UTF-8)"
_LINE_ENDS = "lines must end with \\n or \\r\\n"


class Format(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"

    @classmethod
    def for_path(cls, path: Path) -> Format:
        suffix = path.suffix.lower()
        if suffix in (".csv", ".tsv"):
            return cls.CSV
        if suffix in (".ndjson", ".jsonl", ".json"):
            return cls.NDJSON
        raise ValueError(f"cannot tell the format of {path.name}; give --format ndjson or csv")


@dataclass(frozen=True, slots=True)
class Reject:
    line: int
    reason: str
    raw: str = field(default="", repr=False)


Item = tuple[int, dict[str, Any] | Reject]


def read_records(stream: IO[bytes], fmt: Format) -> Iterator[Item]:
    """Yield ``(line number, record or Reject)`` for every record in ``stream``."""
    lines = read_lines(stream)
    return _read_ndjson(lines) if fmt is Format.NDJSON else _read_csv(lines)


def read_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | Reject]]:
    """Every line of ``stream`` with its number, or a Reject for one that is too long (or
    for a file in a wide encoding, said once)."""
    number = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if number == 1 and line.startswith(_WIDE_BOMS):
            yield number, Reject(number, _WIDE_FILE)  # every line would fail: say so once
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest of the long line
                line = stream.readline(MAX_LINE_BYTES)
            yield number, Reject(number, f"line is longer than {MAX_LINE_BYTES} bytes")
            continue
        if number == 1 and line.startswith(_UTF8_BOM):
            line = line[len(_UTF8_BOM) :]
        yield number, line


def _decode(number: int, line: bytes) -> str | Reject:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        reason = f"not valid UTF-8 (byte {exc.start + 1})"
        return Reject(number, reason + _utf16_hint(line), raw_text(line))
    if "\x00" in text:
        return Reject(number, "contains a NUL character" + _utf16_hint(line), raw_text(line))
    return text


def _utf16_hint(line: bytes) -> str:
    """A hint when NULs alternate with other bytes, as in UTF-16 text without a byte order
    mark (a run of NULs, as a crash leaves at the end of a file, is not UTF-16)."""
    even, odd = line[0::2], line[1::2]
    if len(odd) < 2:
        return ""
    nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    wide = (nul_even >= 0.75 and nul_odd <= 0.25) or (nul_odd >= 0.75 and nul_even <= 0.25)
    return _UTF16_HINT if wide else ""


def raw_text(line: bytes | str) -> str:
    """A rejected line as text for the rejects file: decoded leniently, cut to a bounded length."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    return text.rstrip("\r\n")[:_REJECT_RAW_LIMIT]


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _loads(text: str) -> Any:
    """Parse one JSON value: with orjson, and with the standard parser when orjson refuses.

    orjson refuses some of what the standard parser reads (NaN, lone surrogates) and reads
    integers past 64 bits as floats; a line orjson refuses goes to the standard parser, and
    so does one whose value holds a float and whose text has a number of 19 digits or more
    in a row: the standard parser decides and gives its own, precise reasons. Every other
    line reads to the same value either way. (Records rarely hold a float: looking for one
    in the parsed value costs less than searching every line's text for a long number.)
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        if not (_holds_float(value) and _LONG_DIGITS.search(text)):
            return value
    return json.loads(text, parse_constant=_reject_constant)


def _holds_float(value: Any) -> bool:
    """Whether a value orjson read holds a float anywhere (without recursion: a value may be
    nested as deeply as orjson reads)."""
    todo = [value]
    for item in todo:
        kind = type(item)
        if kind is dict:
            todo.extend(item.values())
        elif kind is list:
            todo.extend(item)
        elif kind is float:
            return True
    return False


def _read_ndjson(lines: Iterable[tuple[int, bytes | Reject]]) -> Iterator[Item]:
    for number, line in lines:
        item = parse_line(number, line)
        if item is not None:
            yield item


def parse_line(number: int, line: bytes | Reject) -> Item | None:
    """One NDJSON line as ``(line number, record or Reject)``; ``None`` for a blank line.

    :func:`read_lines` and this, one line after the other, are :func:`read_records` for
    NDJSON: the lines can be parsed elsewhere (in worker processes) than they are read.
    """
    if isinstance(line, Reject):
        return number, line
    text = _decode(number, line)
    if isinstance(text, Reject):
        return number, text
    if not text.strip():
        return None
    try:
        value = _loads(text)
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON: {exc.msg} (column {exc.colno})"
        if exc.msg == "Extra data" and "\r" in text[: exc.pos]:
            reason += f"; {_LINE_ENDS}, not a bare carriage return (\\r)"
        return number, Reject(number, reason, raw_text(text))
    except (ValueError, RecursionError) as exc:
        reason = "JSON nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return number, Reject(number, f"invalid JSON: {reason}", raw_text(text))
    if not isinstance(value, dict):
        return number, Reject(number, "each line must be a JSON object", raw_text(text))
    return number, value


def _read_csv(lines: Iterable[tuple[int, bytes | Reject]]) -> Iterator[Item]:
    header: list[str] | None = None
    rows = _CsvRecords(iter(lines))
    for number, cells in rows:
        if isinstance(cells, Reject):
            if header is None:  # the next row is data, not a header: stop here
                reason = f"the header cannot be read: {cells.reason}"
                yield number, Reject(number, reason, cells.raw)
                return
            yield number, cells
            continue
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            if not all(header) or len(set(header)) != len(header):
                yield number, Reject(number, "the header needs unique, non-empty column names")
                return
            rows.columns = len(header)
            continue
        if len(cells) != len(header):
            reason = f"expected {len(header)} columns, found {len(cells)}"
            yield number, Reject(number, reason, raw_text(",".join(cells)))
            continue
        yield number, {k: v for k, v in zip(header, cells, strict=True) if v.strip() != ""}


class _CsvRecords:
    """One CSV record at a time; a quoted field may span lines, within limits.

    A quote opens a field only at the start of a field (as RFC 4180 and Python's reader have
    it); a quote elsewhere is an ordinary character. A record is complete at the end of a
    line outside quotes. A record spanning lines that then does not parse — a quote opened
    by mistake and closed by a later, unrelated quote — is reported at the line where it
    began, and so is one whose quote never closes (within :data:`MAX_CSV_RECORD_LINES` and
    :data:`MAX_LINE_BYTES`, or by the end of the file). Reading then resumes on the line
    after, so one broken quote can neither swallow the rest of the file nor good lines.
    """

    def __init__(self, lines: Iterator[tuple[int, bytes | Reject]]) -> None:
        self._lines = lines
        self.columns: int | None = None
        """Set by the caller once the header is read: the number of cells a row must have."""

    def __iter__(self) -> Iterator[tuple[int, list[str] | Reject]]:
        pending: list[tuple[int, str]] = []
        size = 0
        in_quotes = False
        replay: deque[tuple[int, bytes | Reject]] = deque()

        def resume_after_first(reason: str) -> Reject:
            nonlocal pending, size, in_quotes
            first, text = pending[0]
            replay.extendleft(reversed([(n, t.encode()) for n, t in pending[1:]]))
            pending, size, in_quotes = [], 0, False
            return Reject(first, reason, raw_text(text))

        while True:
            if replay:
                number, line = replay.popleft()
            else:
                item = next(self._lines, None)
                if item is None:
                    if not pending:
                        return
                    reject = resume_after_first("unterminated quoted field at end of file")
                    yield reject.line, reject
                    continue
                number, line = item
            if isinstance(line, Reject):
                yield number, line
                continue
            text = _decode(number, line)
            if isinstance(text, Reject):
                yield number, text
                continue
            in_quotes = _ends_in_quotes(text, in_quotes)
            pending.append((number, text))
            size += len(text)
            if not in_quotes:
                first = pending[0][0]
                row = _parse_csv_record(first, "".join(t for _, t in pending))
                problem = self._problem(row) if len(pending) > 1 else None
                if problem:
                    reject = resume_after_first(
                        f"quoted field opened here does not close properly ({problem})"
                    )
                    yield reject.line, reject
                    continue
                yield first, row
                pending, size = [], 0
            elif len(pending) > MAX_CSV_RECORD_LINES or size > MAX_LINE_BYTES:
                reject = resume_after_first(
                    f"unterminated quoted field (a quoted field may span at most "
                    f"{MAX_CSV_RECORD_LINES} lines and {MAX_LINE_BYTES} bytes)"
                )
                yield reject.line, reject

    def _problem(self, row: list[str] | Reject) -> str | None:
        if isinstance(row, Reject):
            return row.reason
        if self.columns is not None and len(row) != self.columns:
            return f"expected {self.columns} columns, found {len(row)}"
        return None


def _ends_in_quotes(text: str, in_quotes: bool) -> bool:
    """Whether a CSV record is inside a quoted field at the end of ``text``.

    Only the quotes are visited, so lines without any cost one ``find``.
    """
    at = text.find('"')
    while at >= 0:
        if in_quotes:
            if text.startswith('""', at):  # an escaped quote inside the field
                at = text.find('"', at + 2)
                continue
            in_quotes = False
        elif at == 0 or text[at - 1] == ",":
            in_quotes = True
        at = text.find('"', at + 1)
    return in_quotes


def _parse_csv_record(number: int, text: str) -> list[str] | Reject:
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as exc:
        reason = f"broken CSV: {exc}"
        if "new-line character" in str(exc) and "\r" in text.rstrip("\r\n"):
            reason = f"broken CSV: a carriage return (\\r) outside quotes; {_LINE_ENDS}"
        return Reject(number, reason, raw_text(text))
    return rows[0] if rows else []
