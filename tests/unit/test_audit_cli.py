"""``cets audit``: verify says whether the log was altered; show lists who asked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cets.cli import cli
from cets.common.audit import AuditLog


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """The command group configures the root logger; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="cets")


EVENTS: list[dict[str, Any]] = [
    {
        "kind": "search.sent",
        "officer": "cst.jones",
        "agency": "ca-rcmp",
        "purpose": "investigation",
        "case": "2024-001",
        "query": {"text": "blue bicycle"},
    },
    {
        "kind": "search.answered",
        "requester": "ca-rcmp",
        "officer": "cst.jones",
        "case": "2024-001",
        "outcome": "released",
        "level": "summary",
        "hits": 3,
    },
    {"kind": "search.refused", "requester": "us-fbi", "outcome": "denied\x1b[31m"},
]


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "audit.log"
    with AuditLog(path) as log:
        for event in EVENTS:
            log.append(event)
    return path


def test_verify_an_intact_log(log_file: Path) -> None:
    result = run("audit", "verify", str(log_file))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{log_file}: 3 entries, chain intact\n"


def test_verify_an_altered_log(log_file: Path) -> None:
    content = log_file.read_bytes().replace(b'"hits":3', b'"hits":0')
    log_file.write_bytes(content)
    result = run("audit", "verify", str(log_file))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{log_file}:2: seq 2: edited: the hash does not match")
    assert "Error:" in result.stderr
    assert "1 problem in 3 entries, the first at line 2 (edited)" in result.stderr


def test_verify_a_truncated_log_with_a_head_file_elsewhere(log_file: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept.head"
    head = log_file.with_name("audit.log.head")
    kept.write_bytes(head.read_bytes())
    head.unlink()
    log_file.write_bytes(b"".join(log_file.read_bytes().splitlines(keepends=True)[:1]))

    unchecked = run("audit", "verify", str(log_file))
    assert unchecked.exit_code == 0
    assert f"{log_file}: note: no head file" in unchecked.stdout

    checked = run("audit", "verify", str(log_file), "--head", str(kept))
    assert checked.exit_code == 1
    assert f"{log_file}:2: seq 2: truncated: the head file records 3 entries" in checked.stdout


def test_verify_with_a_copy_of_an_old_form_head_file(log_file: Path, tmp_path: Path) -> None:
    """A head file copied before the two-slot form (one canonical JSON line) still anchors."""
    last = json.loads(log_file.read_bytes().splitlines()[-1])
    kept = tmp_path / "old.head"
    kept.write_text(json.dumps({"hash": last["hash"], "seq": last["seq"]}, separators=(",", ":")))
    assert run("audit", "verify", str(log_file), "--head", str(kept)).exit_code == 0
    kept.write_text(json.dumps({"hash": "1" * 64, "seq": last["seq"]}, separators=(",", ":")))
    assert run("audit", "verify", str(log_file), "--head", str(kept)).exit_code == 1


def test_verify_notes_an_interrupted_write(log_file: Path) -> None:
    with log_file.open("ab") as handle:
        handle.write(b'{"event":{"kind":')
    result = run("audit", "verify", str(log_file))
    assert result.exit_code == 0, result.output
    assert "note: incomplete final line: an interrupted write that was never acknowledged" in (
        result.stdout
    )
    assert "3 entries, chain intact" in result.stdout


def test_verify_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("audit", "verify", str(tmp_path / "nope.log"))
    assert result.exit_code == 2


def test_show_lists_who_asked(log_file: Path) -> None:
    result = run("audit", "show", str(log_file))
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == [
        "seq",
        "time",
        "kind",
        "officer",
        "requester",
        "agency",
        "purpose",
        "case",
        "outcome",
        "level",
        "hits",
    ]
    assert len(rows) == 3
    assert rows[0].split()[0] == "1"
    assert "cst.jones" in rows[0] and "investigation" in rows[0] and "2024-001" in rows[0]
    assert "search.answered" in rows[1] and "summary" in rows[1]
    assert "\x1b" not in result.stdout  # control characters are escaped
    assert "denied\\x1b[31m" in rows[2]
    assert "blue bicycle" not in result.stdout  # the query is only in --json


def test_show_the_last_entries_as_json(log_file: Path) -> None:
    result = run("audit", "show", str(log_file), "--last", "2", "--json")
    assert result.exit_code == 0, result.output
    shown = [json.loads(line) for line in result.stdout.splitlines()]
    assert [entry["seq"] for entry in shown] == [2, 3]
    assert [entry["event"] for entry in shown] == EVENTS[1:]
    assert shown[1]["prev"] == shown[0]["hash"]


def test_show_an_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    AuditLog(path).close()
    result = run("audit", "show", str(path))
    assert result.exit_code == 0
    assert result.stdout == f"{path}: no entries\n"


def test_show_a_malformed_log(log_file: Path) -> None:
    log_file.write_bytes(b"garbage\n" + log_file.read_bytes())
    result = run("audit", "show", str(log_file))
    assert result.exit_code == 1
    assert "audit.log:1: not JSON" in result.stderr
    assert "cets audit verify" in result.stderr
