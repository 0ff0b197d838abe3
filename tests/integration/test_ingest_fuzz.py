"""Ingest of damaged files into a real OpenSearch, through ``cets ingest``.

Each file mixes good records with damaged lines: cut short, in the wrong encoding, with huge
fields, nested beyond reason, with broken CSV quoting, control characters or repeated ids.
For each, every damaged line must be reported with its line number and a reason — on stderr
and in the rejects file — every good record must be in OpenSearch (counted there), the
command must not crash, and nothing of any record may reach stderr but the reasons (which
name fields and rules, never values). A property test then mixes valid and invalid lines at
random.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cets.cli import cli
from cets.core.records import IngestContext
from cets.search.index import IndexNames
from cets.search.ingest import ingest_file
from cets.search.readers import MAX_LINE_BYTES, Format, Reject
from cets.search.store import connect

pytestmark = pytest.mark.opensearch

SECRET = "Quixote-Zebulon-7741"
"""Written into every record, good or bad: it must never appear on stderr (logs, reasons)."""
MB = 1024 * 1024


def good(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"g{i}",
        "type": "person",
        "name": f"Good Person {i} {SECRET}",
        "created": "2025-01-02T03:04:05Z",
        **fields,
    }


def line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()


@dataclass
class Case:
    data: bytes
    fmt: Format
    rejected: dict[int, str]
    """Line number → a fragment of its reason."""
    indexed: int
    """Good records, all with distinct ids: the count expected in OpenSearch."""


class Builder:
    """The lines of one file; an entry holding line feeds (a multi-line CSV record) counts as
    that many lines, and is numbered by its first."""

    def __init__(self, first: bytes | None = None) -> None:
        self.entries: list[bytes] = []
        self.rejected: dict[int, str] = {}
        self.good = 0
        self._next = 1
        if first is not None:
            self.blank(first)

    def _add(self, data: bytes) -> int:
        number = self._next
        self.entries.append(data)
        self._next += data.count(b"\n") + 1
        return number

    def ok(self, data: bytes) -> None:
        self._add(data)
        self.good += 1

    def bad(self, data: bytes, reason: str) -> None:
        self.rejected[self._add(data)] = reason

    def blank(self, data: bytes = b"") -> None:
        self._add(data)

    def case(self, fmt: Format, tail: bytes = b"\n") -> Case:
        return Case(b"\n".join(self.entries) + tail, fmt, self.rejected, self.good)


def raw_in_string(record: dict[str, Any], field: str, raw: bytes) -> bytes:
    """The record's line with ``raw`` written unescaped at the end of a string field."""
    return line(record | {field: record[field] + "@@"}).replace(b"@@", raw)


# --------------------------------------------------------------------------------------------
# The damaged files


def cut_mid_record() -> Case:
    b = Builder()
    for i in range(3):
        b.ok(line(good(i)))
    b.bad(line(good(3))[:40], "invalid JSON: Unterminated string")
    return b.case(Format.NDJSON, tail=b"")


def cut_mid_character() -> Case:
    b = Builder()
    for i in range(3):
        b.ok(line(good(i)))
    cut = line(good(3, name=f"Zo\u00eb {SECRET}"))
    b.bad(cut[: cut.index("\u00eb".encode()) + 1], "not valid UTF-8")
    return b.case(Format.NDJSON, tail=b"")


def utf16_with_bom() -> Case:
    text = "\n".join(json.dumps(good(i)) for i in range(5)) + "\n"
    return Case(text.encode("utf-16"), Format.NDJSON, {1: "the file is UTF-16 or UTF-32"}, 0)


def utf16_without_bom() -> Case:
    text = "\n".join(json.dumps(good(i)) for i in range(5)) + "\n"
    # Five lines, and a sixth: the NUL that follows the last line feed in UTF-16 LE.
    rejected = dict.fromkeys(range(1, 7), "contains a NUL character")
    return Case(text.encode("utf-16-le"), Format.NDJSON, rejected, 0)


def latin1_lines() -> Case:
    b = Builder()
    b.ok(line(good(0)))
    latin1 = json.dumps(good(1, name=f"Jos\u00e9 {SECRET}"), ensure_ascii=False).encode("latin-1")
    b.bad(latin1, "not valid UTF-8")
    b.ok(line(good(2)))
    b.bad(f"{SECRET},\u00e9t\u00e9,\u00fcber".encode("latin-1"), "not valid UTF-8")
    b.ok(line(good(3)))
    return b.case(Format.NDJSON)


def nul_ridden() -> Case:
    b = Builder()
    b.ok(line(good(0)))
    b.bad(line(good(1))[:20] + b"\x00" + line(good(1))[20:], "contains a NUL character")
    b.ok(line(good(2)))
    b.bad(b"\x00" * 5000, "contains a NUL character")
    b.ok(line(good(3)))
    b.bad(b"\x00\x00" + SECRET.encode() + b"\x00", "contains a NUL character")
    b.ok(line(good(4)))
    # A crash left a block of NULs, longer than a line may be, and no final line feed.
    b.bad(b"\x00" * (2 * MB), f"line is longer than {MAX_LINE_BYTES} bytes")
    return b.case(Format.NDJSON, tail=b"")


def huge_fields() -> Case:
    b = Builder()
    b.ok(line(good(0)))
    b.bad(line(good(1, description=SECRET * (3 * MB // len(SECRET)))), "line is longer than")
    b.ok(line(good(2)))
    b.bad(
        line(good(3, description=SECRET * (500_000 // len(SECRET)))),
        "description: String should have at most 100000 characters",
    )
    # The largest text a field may hold, and the longest URL in it: both fine.
    url = "https://example.com/" + "\U0001f600" * 8100
    b.ok(line(good(4, description=url + " " + "x" * (99_000 - len(url)))))
    b.ok(line(good(5, aliases=[f"Alias {n}" for n in range(50)])))
    b.bad(line(good(6, aliases=[f"Alias {n}" for n in range(51)])), "aliases: List should")
    b.bad(b'{"id": "g7", "description": "' + b"y" * (MB + 10), "line is longer than")
    return b.case(Format.NDJSON, tail=b"")


def deeply_nested() -> Case:
    b = Builder()
    b.ok(line(good(0)))
    deep = 100_000
    b.bad(b'{"aliases": ' + b"[" * deep + b"]" * deep + b"}", "JSON nested too deeply")
    b.bad(b"[" * deep + b"]" * deep, "JSON nested too deeply")
    b.bad(b'{"a":' * deep + b"1" + b"}" * deep, "JSON nested too deeply")
    b.bad(b"[" * deep, "JSON nested too deeply")  # and never closed
    b.ok(line(good(1)))
    # As deep as the JSON reader goes: the record is read, then rejected by its rules.
    nested = json.loads("[" * 900 + f'"{SECRET}"' + "]" * 900)
    b.bad(line(good(2, aliases=nested)), "aliases.0: Input should be a valid string")
    b.bad(line(good(3, extra=nested)), "extra: Extra inputs are not permitted")
    b.ok(line(good(4)))
    return b.case(Format.NDJSON)


def control_characters() -> Case:
    b = Builder()
    b.ok(b'{"id": "g0",\r"type": "person", "name": "Ann",\r "created": "2025-01-01"}')
    b.ok(line(good(1, name=f"Line\u2028Para\u2029{SECRET}")))
    b.ok(line(good(2, description="tab\tand\r\nline breaks")))
    b.blank(b"\r")
    b.bad(json.dumps(good(3, name=f"A\x00{SECRET}")).encode(), "name: contains a control")
    b.bad(json.dumps(good(4, name=f"\x1b[2J{SECRET}")).encode(), "(U+001B)")
    b.bad(json.dumps(good(5, description=f"{SECRET}\x85x")).encode(), "(U+0085)")
    b.bad(line(good(6))[:-1] + b', "x": "\x00"}', "contains a NUL character")
    b.bad(raw_in_string(good(7), "name", b"\x01"), "invalid JSON: Invalid control character")
    b.bad(raw_in_string(good(8), "name", b"\rX"), "invalid JSON: Invalid control character")
    # A field name that would forge a line of its own on stderr.
    b.bad(line(good(9) | {"n\x07me\n99: rejected: forged": 1}), "n\\x07me\\n99: rejected:")
    b.bad(line(good(10) | {"k" * 5000: 1}), "k" * 64 + "...: Extra inputs")
    b.ok(line(good(11)))
    return b.case(Format.NDJSON)


def bare_carriage_returns() -> Case:
    text = b"\r".join(line(good(i)) for i in range(3)) + b"\r"
    return Case(text, Format.NDJSON, {1: "not a bare carriage return"}, 0)


HEADER = b"id,type,name,created,description"


def csv_row(i: int, description: str = "", name: str = "") -> bytes:
    name = name or f"Good Person {i} {SECRET}"
    return f"g{i},person,{name},2025-01-02,{description}".encode()


def csv_cut_mid_quoted_field() -> Case:
    b = Builder(HEADER)
    for i in range(3):
        b.ok(csv_row(i, description='"a quoted\nfield, on two lines"'))
    b.bad(csv_row(3, description=f'"{SECRET} and then the file ends'), "unterminated quoted")
    return b.case(Format.CSV, tail=b"")


def csv_broken_quoting() -> Case:
    b = Builder(HEADER)
    b.ok(csv_row(0))
    b.bad(csv_row(1, description=f'"{SECRET}"x'), "broken CSV: ',' expected after '\"'")
    b.ok(csv_row(2, name=f'O"Brien {SECRET}'))  # a quote inside a field is a character
    b.ok(csv_row(3))
    b.bad(csv_row(4, description=f'"{SECRET} never closed'), "does not close properly")
    b.ok(csv_row(5))
    b.ok(csv_row(6, description='"quoted, with a comma"'))
    b.ok(csv_row(7, description='"she said ""hi"""'))
    b.bad(csv_row(8) + b",extra", "expected 5 columns, found 6")
    b.bad(b"g9,person", "expected 5 columns, found 2")
    b.ok(csv_row(10))
    return b.case(Format.CSV)


def csv_control_characters() -> Case:
    b = Builder(HEADER)
    b.ok(csv_row(0))
    b.bad(csv_row(1, description=f"{SECRET}\x01"), "description: contains a control character")
    b.bad(csv_row(2, description=f"{SECRET}\rX"), "carriage return (\\r) outside quotes")
    b.ok(csv_row(3, description=f'"{SECRET}\rX"'))
    b.bad(csv_row(4, description=f"{SECRET}\x00"), "contains a NUL character")
    b.ok(csv_row(5, description=f"{SECRET}\u2028"))
    return b.case(Format.CSV)


def csv_bad_column_name() -> Case:
    b = Builder(HEADER + b",no\x1bte")
    b.ok(csv_row(0) + b",")  # the odd column left empty: nothing to reject
    b.bad(csv_row(1) + f",{SECRET}".encode(), "no\\x1bte: Extra inputs are not permitted")
    return b.case(Format.CSV)


def csv_wrong_encodings() -> Case:
    b = Builder(HEADER)
    b.ok(csv_row(0))
    b.bad(csv_row(1, name=f"Jos\u00e9 {SECRET}").decode().encode("latin-1"), "not valid UTF-8")
    b.ok(csv_row(2))
    return b.case(Format.CSV)


def csv_utf16() -> Case:
    text = b"\n".join([HEADER, csv_row(0), csv_row(1)]).decode()
    return Case(text.encode("utf-16"), Format.CSV, {1: "the header cannot be read"}, 0)


def csv_huge_field() -> Case:
    b = Builder(HEADER)
    b.ok(csv_row(0))
    b.bad(csv_row(1, description=SECRET * (2 * MB // len(SECRET))), "line is longer than")
    b.ok(csv_row(2))
    # A quoted field of 3 MB over 300 lines: more than a record may span. Its first line is
    # reported; each line after it, read again, is then a row of the wrong shape.
    b.bad(csv_row(3, description=f'"{SECRET}'), "unterminated quoted field (a quoted field")
    for _ in range(299):
        b.bad(SECRET.encode() * (10_000 // len(SECRET)), "expected 5 columns, found 1")
    b.bad(b'end of the field",x', "expected 5 columns, found 2")
    b.ok(csv_row(4))
    return b.case(Format.CSV)


CASES: dict[str, Callable[[], Case]] = {
    f.__name__: f
    for f in (
        cut_mid_record,
        cut_mid_character,
        utf16_with_bom,
        utf16_without_bom,
        latin1_lines,
        nul_ridden,
        huge_fields,
        deeply_nested,
        control_characters,
        bare_carriage_returns,
        csv_cut_mid_quoted_field,
        csv_broken_quoting,
        csv_control_characters,
        csv_bad_column_name,
        csv_wrong_encodings,
        csv_utf16,
        csv_huge_field,
    )
}


# --------------------------------------------------------------------------------------------
# Running ``cets ingest``


@dataclass
class Outcome:
    summary: dict[str, Any]
    stderr: str
    rejects: list[dict[str, Any]]
    """The rejects file, one entry a line."""
    in_opensearch: int


@pytest.fixture
def run_ingest(
    tmp_path: Path, opensearch_url: str, card_key: bytes
) -> Iterator[Callable[[Path, str], Outcome]]:
    key_file = tmp_path / "card.key"
    key_file.write_text(card_key.hex())
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def run(path: Path, agency: str) -> Outcome:
        result = CliRunner().invoke(
            cli,
            [
                "--log-level",
                "DEBUG",
                "ingest",
                str(path),
                "--agency",
                agency,
                "--opensearch-url",
                opensearch_url,
                "--card-key-file",
                str(key_file),
                "--no-progress",
                "--json",
            ],
        )
        root.handlers[:], root.level = handlers, level  # the command set up its own logging
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        assert result.exit_code == 0, result.stderr
        rejects_file = path.with_name(path.name + ".rejects.ndjson")
        rejects = (
            [json.loads(x) for x in rejects_file.read_text().splitlines()]
            if rejects_file.exists()
            else []
        )
        client = connect(opensearch_url)
        try:
            count = int(client.count(index=IndexNames("cets", agency).alias)["count"])
        finally:
            client.close()
        return Outcome(json.loads(result.stdout.splitlines()[-1]), result.stderr, rejects, count)

    yield run
    root.handlers[:], root.level = handlers, level


def assert_reported(outcome: Outcome, name: str, expected: dict[int, str]) -> None:
    """Each expected line, and no other, reported with its reason on stderr and in the file."""
    stderr_lines = outcome.stderr.splitlines()
    on_stderr = {
        int(text.split(":")[1]): text.split(": rejected: ", 1)[1]
        for text in stderr_lines
        if text.startswith(f"{name}:") and ": rejected: " in text
    }
    # One stderr line per reject: no reason may break its line (or forge another).
    assert sum(": rejected: " in text for text in stderr_lines) == len(expected)
    assert sorted(on_stderr) == sorted(expected)
    assert [r["line"] for r in outcome.rejects] == sorted(expected)
    in_file = {r["line"]: r["reason"] for r in outcome.rejects}
    for number, fragment in expected.items():
        assert fragment in on_stderr[number], (number, on_stderr[number])
        assert in_file[number] == on_stderr[number]
    assert outcome.summary["rejected"] == len(expected)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_damaged_file_reports_each_bad_line_and_indexes_every_good_one(
    name: str, tmp_path: Path, agency_id: str, run_ingest: Callable[[Path, str], Outcome]
) -> None:
    case = CASES[name]()
    path = tmp_path / f"{name}.{case.fmt.value}"
    path.write_bytes(case.data)

    outcome = run_ingest(path, agency_id)

    assert_reported(outcome, path.name, case.rejected)
    assert outcome.summary["indexed"] == outcome.summary["in_index"] == case.indexed
    assert outcome.in_opensearch == case.indexed
    assert SECRET not in outcome.stderr  # neither the logs nor the reasons hold any record
    assert "ingest finished" in outcome.stderr  # the logs were there to be looked at


def test_repeated_ids_keep_the_last_record_and_a_rerun_replaces_every_one(
    tmp_path: Path, agency_id: str, opensearch_url: str, run_ingest: Callable[[Path, str], Outcome]
) -> None:
    path = tmp_path / "repeats.ndjson"
    records = [good(1), good(2), good(1, name="Second Of One"), good(3), good(2, name="Two Again")]
    path.write_bytes(b"\n".join(line(r) for r in records) + b"\n")

    first = run_ingest(path, agency_id)
    second = run_ingest(path, agency_id)

    assert first.rejects == []
    assert {k: first.summary[k] for k in ("read", "indexed", "duplicates", "in_index")} == {
        "read": 5,
        "indexed": 5,
        "duplicates": 2,
        "in_index": 3,
    }
    assert (first.summary["new"], first.summary["replaced"]) == (3, 2)
    assert (second.summary["new"], second.summary["replaced"]) == (0, 5)
    assert first.in_opensearch == second.in_opensearch == 3
    client = connect(opensearch_url)
    try:
        alias = IndexNames("cets", agency_id).alias
        names = {i: client.get(index=alias, id=f"g{i}")["_source"]["body"]["name"] for i in (1, 2)}
    finally:
        client.close()
    assert names == {1: "Second Of One", 2: "Two Again"}


def test_records_opensearch_refuses_are_reported_at_their_own_lines(
    tmp_path: Path, agency_id: str, opensearch_url: str, run_ingest: Callable[[Path, str], Outcome]
) -> None:
    """A write block (as OpenSearch sets on a full disk) refuses every record; each is reported
    at its own line, repeated ids included, and nothing is half-written."""
    path = tmp_path / "blocked.ndjson"
    ids = [1, 2, 1, 3, 1]
    path.write_bytes(b"\n".join(line(good(i)) for i in ids) + b"\n")
    run_ingest(tmp_path / "blocked.ndjson", agency_id)  # creates the index, with 3 records
    client = connect(opensearch_url)
    index = IndexNames("cets", agency_id).index
    client.indices.put_settings(index=index, body={"index.blocks.write": True})
    try:
        outcome = run_ingest(path, agency_id)
    finally:
        client.indices.put_settings(index=index, body={"index.blocks.write": None})
        client.close()

    expected = dict.fromkeys(range(1, 6), "refused by OpenSearch: cluster_block_exception")
    assert_reported(outcome, path.name, expected)
    assert outcome.summary["indexed"] == 0
    assert outcome.in_opensearch == 3


# --------------------------------------------------------------------------------------------
# Property: any mix of valid and invalid lines

Line = Callable[[str], bytes]
VALID_LINES: list[Line] = [
    lambda i: line(good(0) | {"id": i}),
    lambda i: line(good(0, description="x" * 1000, emails=["a.b+c@gmail.com"]) | {"id": i}),
    lambda i: line(
        {
            "id": i,
            "type": "chat_message",
            "sender": "@night_owl",
            "text": "meet at https://example.org",
            "created": "2025-01-03",
        }
    ),
    lambda i: line(good(0, name="Zo\u00eb \u2028 x") | {"id": i}),
]
INVALID_LINES: list[Line] = [
    lambda i: b"{not json",
    lambda i: b"[1, 2]",
    lambda i: line(good(0) | {"id": i})[:-5],
    lambda i: line(good(0, name="\u00e9") | {"id": i}).replace("\u00e9".encode(), b"\xe9"),
    lambda i: line(good(0) | {"id": i}).replace(b'"Good', b'"\x00Good'),
    lambda i: line(good(0, name="A\x1bB") | {"id": i}),
    lambda i: line(good(0, name="") | {"id": i}),
    lambda i: line(good(0, type="spaceship") | {"id": i}),
    lambda i: line(good(0, colour="red") | {"id": i}),
    lambda i: line(good(0, created="yesterday") | {"id": i}),
    lambda i: line(good(0, emails=["nope"]) | {"id": i}),
    lambda i: b"[" * 50_000,
    lambda i: b'{"d": "' + b"z" * (MB + 1) + b'"}',
]
_examples = itertools.count(1)


@pytest.fixture(scope="module")
def property_agency(opensearch_url: str) -> Iterator[str]:
    """One index for every example (each example's ids have a prefix of their own)."""
    agency = f"prop{os.getpid()}"
    yield agency
    client = connect(opensearch_url)
    try:
        client.indices.delete(index=IndexNames("cets", agency).index, ignore_unavailable=True)
    finally:
        client.close()


@given(
    kinds=st.lists(
        st.one_of(
            st.tuples(st.just("valid"), st.integers(0, len(VALID_LINES) - 1)),
            st.tuples(st.just("invalid"), st.integers(0, len(INVALID_LINES) - 1)),
            st.tuples(st.just("blank"), st.just(0)),
        ),
        max_size=40,
    ),
    crlf=st.booleans(),
)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_mixed_lines_index_exactly_the_valid_ones_and_reject_exactly_the_invalid_ones(
    kinds: list[tuple[str, int]],
    crlf: bool,
    tmp_path: Path,
    opensearch_url: str,
    card_key: bytes,
    property_agency: str,
) -> None:
    example = f"e{next(_examples)}"
    lines: list[bytes] = []
    valid: set[int] = set()
    invalid: set[int] = set()
    for number, (kind, which) in enumerate(kinds, start=1):
        if kind == "valid":
            lines.append(VALID_LINES[which](f"{example}-{number}"))
            valid.add(number)
        elif kind == "invalid":
            lines.append(INVALID_LINES[which](f"{example}-{number}"))
            invalid.add(number)
        else:
            lines.append(b"  ")
    path = tmp_path / f"{example}.ndjson"
    path.write_bytes((b"\r\n" if crlf else b"\n").join(lines))
    rejects: list[Reject] = []
    names = IndexNames("cets", property_agency)
    client = connect(opensearch_url)
    try:
        summary = ingest_file(
            path,
            client=client,
            names=names,
            ctx=IngestContext(property_agency, card_key, "CA"),
            on_reject=rejects.append,
        )
        query = {"query": {"prefix": {"record_id": f"{example}-"}}}
        in_opensearch = int(client.count(index=names.alias, body=query)["count"])
    finally:
        client.close()

    assert sorted(r.line for r in rejects) == sorted(invalid)
    assert all(r.reason for r in rejects)
    assert summary.indexed == in_opensearch == len(valid)
    assert summary.read == len(valid) + len(invalid)
