"""Ingest into a real OpenSearch: bad lines reported, the rest indexed, re-ingest idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cets.cli import cli
from cets.core.records import IngestContext
from cets.search.index import IndexNames
from cets.search.ingest import IngestSummary, ingest_file
from cets.search.readers import Format, Reject
from cets.search.sample_data import DEMO_AGENCIES, write_sample
from cets.search.store import connect

pytestmark = pytest.mark.opensearch

GOOD = [
    {
        "id": "p-1",
        "type": "person",
        "name": "John Smith",
        "emails": ["John.Smith+x@gmail.com"],
        "created": "2025-01-02T03:04:05Z",
    },
    {
        "id": "c-1",
        "type": "chat_message",
        "sender": "@DarkAngel_77",
        "text": "meet on the app",
        "created": "2025-01-03",
    },
    {
        "id": "t-1",
        "type": "card_transaction",
        "card_number": "4111 1111 1111 1111",
        "merchant": "FileLocker",
        "amount": "9.99",
        "currency": "USD",
        "created": "2025-01-04",
    },
]

# (line as written, expected reason fragment) — one of each kind of bad record.
BAD: list[tuple[bytes, str]] = [
    (b"{not json", "invalid JSON"),
    (b"[1, 2, 3]", "must be a JSON object"),
    (
        b'{"id": "x", "type": "person", "name": "\xff\xfe", "created": "2025-01-01"}',
        "not valid UTF-8",
    ),
    (b'{"id": "x1", "type": "person", "created": "2025-01-01"}', "name: Field required"),
    (b'{"id": "x2", "type": "spaceship", "created": "2025-01-01"}', "type: must be one of"),
    (
        b'{"id": "x3", "type": "person", "name": "A", "emails": ["nope"], "created": "2025-01-01"}',
        "emails[0]: not a valid e-mail address",
    ),
    (
        b'{"id": "x4", "type": "payment_card", "card_number": "4111111111111112", '
        b'"created": "2025-01-01"}',
        "card_number",
    ),
    (
        b'{"id": "x5", "type": "person", "name": "A", "colour": "red", "created": "2025-01-01"}',
        "colour: Extra inputs are not permitted",
    ),
    (b'{"id": "x6", "type": "person", "name": "A", "created": "yesterday"}', "created:"),
    (b'{"id": "x7", "type": "person", "name": "A", "created": NaN}', "invalid JSON"),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested too deeply"),
    (
        b'{"id": "bad id with spaces", "type": "person", "name": "A", "created": "2025-01-01"}',
        "id:",
    ),
    (
        b'{"id": "x8", "type": "person", "name": "A", "created": "2025-01-01", "agency": "other"}',
        "agency: record belongs to another agency",
    ),
]


def _write(path: Path) -> dict[int, str]:
    """Interleave good and bad lines; return {line number: expected reason} for the bad."""
    lines: list[bytes] = []
    expected: dict[int, str] = {}
    good = iter(GOOD)
    for bad, reason in BAD:
        record = next(good, None)
        if record is not None:
            lines.append(json.dumps(record).encode())
        lines.append(bad)
        expected[len(lines)] = reason
    lines.extend(json.dumps(r).encode() for r in good)
    lines.append(b"")  # a trailing blank line is not a record
    path.write_bytes(b"\n".join(lines) + b"\n")
    return expected


def _ingest(
    path: Path, url: str, agency: str, key: bytes, **kwargs: object
) -> tuple[IngestSummary, list[Reject]]:
    rejects: list[Reject] = []
    client = connect(url)
    try:
        summary = ingest_file(
            path,
            client=client,
            names=IndexNames("cets", agency),
            ctx=IngestContext(agency, key, "CA"),
            on_reject=rejects.append,
            **kwargs,  # type: ignore[arg-type]
        )
    finally:
        client.close()
    return summary, rejects


def test_each_bad_record_is_reported_with_its_line_and_the_rest_is_indexed(
    tmp_path: Path, opensearch_url: str, agency_id: str, card_key: bytes
) -> None:
    path = tmp_path / "mixed.ndjson"
    expected = _write(path)

    summary, rejects = _ingest(path, opensearch_url, agency_id, card_key)

    reported = {r.line: r.reason for r in rejects}
    assert sorted(reported) == sorted(expected)
    for line, reason in expected.items():
        assert reason in reported[line], (line, reported[line])
    assert summary.read == len(GOOD) + len(BAD)
    assert summary.indexed == len(GOOD) == summary.new
    assert summary.rejected == len(BAD)
    assert summary.in_index == len(GOOD)


def test_reingest_replaces_and_never_duplicates(
    tmp_path: Path, opensearch_url: str, agency_id: str, card_key: bytes
) -> None:
    path = tmp_path / "good.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in GOOD) + "\n")

    first, _ = _ingest(path, opensearch_url, agency_id, card_key)
    second, _ = _ingest(path, opensearch_url, agency_id, card_key)

    assert (first.new, first.replaced, first.in_index) == (3, 0, 3)
    assert (second.new, second.replaced, second.in_index) == (0, 3, 3)


def test_records_without_ids_get_stable_ids(
    tmp_path: Path, opensearch_url: str, agency_id: str, card_key: bytes
) -> None:
    path = tmp_path / "noids.ndjson"
    records = [{k: v for k, v in r.items() if k != "id"} for r in GOOD]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")

    _ingest(path, opensearch_url, agency_id, card_key)
    again, _ = _ingest(path, opensearch_url, agency_id, card_key)

    assert (again.new, again.replaced, again.in_index) == (0, 3, 3)


def test_csv_with_broken_quoting_and_ragged_rows(
    tmp_path: Path, opensearch_url: str, agency_id: str, card_key: bytes
) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(
        b"id,type,name,emails,created,description\n"  # 1 header
        b'p1,person,Ann Lee,ann@example.org|a.lee@example.org,2025-01-01,"likes, commas"\n'  # 2
        b'p2,person,Bob Ray,,2025-01-02,"multi\nline"\n'  # 3-4
        b"p3,person,Cy Dee,,2025-01-03\n"  # 5 ragged
        b'p4,person,"Di" Eve,,2025-01-04,x\n'  # 6 text after a closing quote
        b"p5,person,Ed Fox,,2025-01-05,ok\n"  # 7
        b"p6,person,\xff,,2025-01-05,ok\n"  # 8 bad bytes
        b'p7,person,Flo Gee,,2025-01-06,"never closed\n'  # 9 unterminated
        b"p8,person,Gus Hay,,2025-01-07,fine\n"  # 10
    )

    summary, rejects = _ingest(path, opensearch_url, agency_id, card_key, fmt=Format.CSV)

    reported = {r.line: r.reason for r in rejects}
    assert set(reported) == {5, 6, 8, 9}
    assert "expected 6 columns, found 5" in reported[5]
    assert "broken CSV" in reported[6]
    assert "UTF-8" in reported[8]
    assert "unterminated quoted field" in reported[9]
    assert summary.indexed == 4  # p1, p2, p5, p8
    assert summary.in_index == 4


def test_generated_sample_ingests_without_rejects(
    tmp_path: Path, opensearch_url: str, agency_id: str, card_key: bytes
) -> None:
    agency = DEMO_AGENCIES[0]
    manifest = write_sample(tmp_path, [agency], 1_000, seed=3)
    path = tmp_path / f"{agency.id}.ndjson"
    rejects: list[Reject] = []
    client = connect(opensearch_url)
    try:
        summary = ingest_file(
            path,
            client=client,
            names=IndexNames("cets", agency_id),
            ctx=IngestContext(agency_id, card_key, agency.region),
            on_reject=rejects.append,
        )
    finally:
        client.close()
    assert rejects == []
    assert summary.indexed == summary.in_index == manifest.counts[agency.id]


def test_cli_ingest_reports_rejects_on_stderr_and_in_a_file(
    tmp_path: Path, opensearch_url: str, agency_id: str, card_key: bytes
) -> None:
    path = tmp_path / "mixed.ndjson"
    expected = _write(path)
    key_file = tmp_path / "card.key"
    key_file.write_text(card_key.hex())

    result = CliRunner().invoke(
        cli,
        [
            "ingest",
            str(path),
            "--agency",
            agency_id,
            "--opensearch-url",
            opensearch_url,
            "--card-key-file",
            str(key_file),
            "--region",
            "CA",
            "--json",
        ],
    )

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["indexed"] == len(GOOD) and summary["rejected"] == len(BAD)
    for line in expected:
        assert f"mixed.ndjson:{line}: rejected:" in result.stderr
    written = [
        json.loads(x) for x in (tmp_path / "mixed.ndjson.rejects.ndjson").read_text().splitlines()
    ]
    assert [w["line"] for w in written] == sorted(expected)
    assert "4111111111111112" not in result.stderr  # card numbers never echoed in reasons


def test_worker_processes_give_the_same_ingest_as_one_process(
    tmp_path: Path, opensearch_url: str, agency_id: str, card_key: bytes
) -> None:
    """Records prepared in worker processes: the same rejects at the same lines, the same
    counts, the same stored documents, and the later line of a repeated id still wins."""
    agency = DEMO_AGENCIES[0]
    write_sample(tmp_path, [agency], 1_000, seed=5)
    mixed = tmp_path / "mixed.ndjson"
    expected = _write(mixed)
    path = tmp_path / "all.ndjson"
    changed = {**GOOD[0], "name": "John Smyth"}  # the same id as line 1, later in the file
    path.write_bytes(
        mixed.read_bytes()
        + (tmp_path / f"{agency.id}.ndjson").read_bytes()
        + json.dumps(changed).encode()
        + b"\n"
    )
    runs = {}
    for workers in (1, 2):
        names = IndexNames("cets", f"{agency_id}-w{workers}")
        rejects: list[Reject] = []
        client = connect(opensearch_url)
        try:
            summary = ingest_file(
                path,
                client=client,
                names=names,
                ctx=IngestContext(agency_id, card_key, agency.region),
                on_reject=rejects.append,
                workers=workers,
            )
            found = client.search(
                index=names.alias, body={"size": 2000, "query": {"match_all": {}}}
            )["hits"]["hits"]
        finally:
            client.close()
        documents = {hit["_id"]: hit["_source"] for hit in found}
        runs[workers] = (summary, [(r.line, r.reason) for r in rejects], documents)
    (one, one_rejects, one_docs), (two, two_rejects, two_docs) = runs[1], runs[2]
    assert sorted(line for line, _ in one_rejects) == sorted(expected)
    assert two_rejects == one_rejects
    for counted in ("read", "indexed", "new", "replaced", "rejected", "duplicates", "in_index"):
        assert getattr(two, counted) == getattr(one, counted), counted
    assert one.duplicates == 1 and one.in_index == len(one_docs) > 1000
    assert one.read == one.indexed + one.rejected  # the blank line is not counted as read
    assert two_docs == one_docs
    assert "John Smyth" in json.dumps(one_docs["p-1"])
