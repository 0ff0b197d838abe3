"""The audit log: entries chain, survive reopening and crashes, and any change is found."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cets.common.audit import (
    GENESIS,
    MAX_LINE,
    TORN_NOTE,
    AuditCorrupt,
    AuditEntry,
    AuditError,
    AuditLog,
    Problem,
    read_entries,
    verify,
)
from cets.common.audit._files import SLOT
from cets.common.canonical import canonical_json

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def event(n: int) -> dict[str, Any]:
    return {
        "kind": "search.answered",
        "officer": f"officer-{n}",
        "agency": "ca-rcmp",
        "purpose": "investigation",
        "case": f"case-{n}",
        "query": {"text": f"needle {n}", "selectors": ["email:a@b.org"]},
        "hits": n,
    }


def make_log(path: Path, count: int) -> list[AuditEntry]:
    with AuditLog(path) as log:
        return [log.append(event(n)) for n in range(1, count + 1)]


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, content: list[bytes]) -> None:
    path.write_bytes(b"".join(content))


def forge(
    seq: int, prev: str, body: dict[str, Any], time: str = "2024-01-01T00:00:00.000000Z"
) -> bytes:
    """A line with a correctly computed hash, as someone who knows the format would write it."""
    fields = {"seq": seq, "time": time, "prev": prev, "event": body}
    digest = hashlib.sha256(canonical_json(fields)).hexdigest()
    return canonical_json({**fields, "hash": digest}) + b"\n"


def parsed(line: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(line)
    return value


def only_problem(path: Path) -> Problem:
    report = verify(path)
    assert not report.ok
    assert len(report.problems) == 1, report.problems
    return report.problems[0]


# -- writing ------------------------------------------------------------------------------------


def test_entries_round_trip_and_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    written = make_log(path, 3)

    assert [e.seq for e in written] == [1, 2, 3]
    assert written[0].prev == GENESIS
    assert [e.prev for e in written[1:]] == [e.hash for e in written[:-1]]
    for entry in written:
        assert TIME.fullmatch(entry.time)
        body = {"seq": entry.seq, "time": entry.time, "prev": entry.prev, "event": entry.event}
        assert entry.hash == hashlib.sha256(canonical_json(body)).hexdigest()
    assert list(read_entries(path)) == written
    assert [parsed(line)["event"] for line in lines(path)] == [event(1), event(2), event(3)]
    assert path.read_bytes() == b"".join(canonical_json(e.as_dict()) + b"\n" for e in written)
    head = path.with_name("audit.log.head").read_bytes()
    assert len(head) == 2 * SLOT
    slots = [head[:SLOT], head[SLOT:]]
    record = {"hash": written[-1].hash, "seq": 3}
    check = hashlib.sha256(canonical_json(record)).hexdigest()
    newest = canonical_json({"check": check, **record}).ljust(SLOT - 1, b" ") + b"\n"
    assert newest in slots
    assert all(json.loads(s)["seq"] < 3 for s in slots if s != newest)


def test_the_event_is_stored_as_it_reads_back(tmp_path: Path) -> None:
    original: dict[str, Any] = {"ids": ("a", "b"), "nested": {"k": [1, 2.5, None, True]}}
    with AuditLog(tmp_path / "audit.log") as log:
        entry = log.append(original)
    original["nested"]["k"].append("later")
    assert entry.event == {"ids": ["a", "b"], "nested": {"k": [1, 2.5, None, True]}}
    assert next(read_entries(tmp_path / "audit.log")) == entry


def test_the_chain_continues_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    first = make_log(path, 2)
    with AuditLog(path) as log:
        assert log.last_seq == 2
        third = log.append(event(3))
    assert third.seq == 3
    assert third.prev == first[-1].hash
    assert verify(path).ok


def test_concurrent_appends_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    threads, each = 8, 25
    returned: list[AuditEntry] = []
    with AuditLog(path) as log:

        def work(t: int) -> None:
            for n in range(each):
                returned.append(log.append({"thread": t, "n": n}))

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    report = verify(path)
    assert report.ok, report.problems
    assert report.entries == threads * each
    stored = list(read_entries(path))
    assert sorted(e.seq for e in returned) == list(range(1, threads * each + 1))
    assert sorted(stored, key=lambda e: e.seq) == sorted(returned, key=lambda e: e.seq)
    assert {(e.event["thread"], e.event["n"]) for e in stored} == {
        (t, n) for t in range(threads) for n in range(each)
    }


def test_append_async(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"

    async def main() -> list[AuditEntry]:
        with AuditLog(path) as log:
            return list(await asyncio.gather(*(log.append_async(event(n)) for n in range(5))))

    entries = asyncio.run(main())
    assert sorted(e.seq for e in entries) == [1, 2, 3, 4, 5]
    assert verify(path).ok


def test_append_is_durable_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    synced: list[tuple[int, int]] = []  # (inode, size) at each fsync
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        info = os.fstat(fd)
        synced.append((info.st_ino, info.st_size))
        real_fsync(fd)

    head_inode = path.with_name("audit.log.head").stat().st_ino
    monkeypatch.setattr(os, "fsync", counting_fsync)
    monkeypatch.setattr(os, "fdatasync", counting_fsync)
    monkeypatch.setattr(os, "replace", None)  # no new head file: it is written in place
    entry = log.append(event(1))
    monkeypatch.undo()
    log.close()

    log_inode = path.stat().st_ino
    assert path.with_name("audit.log.head").stat().st_ino == head_inode
    inodes = [inode for inode, _ in synced]
    assert inodes == [log_inode, head_inode]  # the log, then the head file's slot
    assert synced[0][1] == len(entry.line())  # the log was synced with the whole line in it


def test_a_new_log_is_private(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "audit.log"
    make_log(path, 1)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_name("audit.log.head").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "bad",
    [
        ["not", "an", "object"],
        "text",
        {1: "int key"},
        {"nested": {2: "int key"}},
        {"in": [{"ok": 1}, {None: "none key"}]},
        {"big": 2**70, "nested": {True: "bool key"}},
        {"x": float("nan")},
        {"x": b"bytes"},
        {"x": object()},
    ],
    ids=[
        "list",
        "str",
        "int-key",
        "nested-int-key",
        "key-in-a-list",
        "bool-key-beside-a-big-int",
        "nan",
        "bytes",
        "object",
    ],
)
def test_events_must_be_json_objects(tmp_path: Path, bad: Any) -> None:
    with AuditLog(tmp_path / "audit.log") as log:
        with pytest.raises(ValueError):
            log.append(bad)
        assert log.append(event(1)).seq == 1
    assert verify(tmp_path / "audit.log").ok


def test_a_closed_log_refuses_appends(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    log.close()
    log.close()
    with pytest.raises(AuditError, match="closed"):
        log.append(event(1))


def test_only_one_writer_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    with AuditLog(path), pytest.raises(AuditError, match="open elsewhere"):
        AuditLog(path)
    with AuditLog(path) as again:
        assert again.append(event(1)).seq == 1


# -- verifying ----------------------------------------------------------------------------------


def test_an_untouched_log_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 6)
    report = verify(path)
    assert report.ok
    assert report.entries == 6
    assert report.problems == []
    assert report.notes == []


def test_an_empty_log_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    AuditLog(path).close()
    report = verify(path)
    assert report.ok
    assert report.entries == 0


def test_an_edited_event_field(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 6)
    content = lines(path)
    content[2] = content[2].replace(b'"officer":"officer-3"', b'"officer":"officer-9"')
    write_lines(path, content)
    problem = only_problem(path)
    assert (problem.line, problem.seq, problem.kind) == (3, 3, "edited")


def test_an_edited_time(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    written = make_log(path, 6)
    content = lines(path)
    content[1] = content[1].replace(written[1].time.encode(), b"2001-01-01T00:00:00.000000Z")
    write_lines(path, content)
    problem = only_problem(path)
    assert (problem.line, problem.seq, problem.kind) == (2, 2, "edited")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    written = make_log(path, 6)
    content = lines(path)
    content[2] = forge(3, written[1].hash, {**event(3), "hits": 0}, written[2].time)
    write_lines(path, content)
    problem = only_problem(path)
    assert (problem.line, problem.seq, problem.kind) == (4, 4, "broken chain")


def test_a_rewritten_last_entry_disagrees_with_the_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    written = make_log(path, 6)
    content = lines(path)
    content[5] = forge(6, written[4].hash, {**event(6), "hits": 0}, written[5].time)
    write_lines(path, content)
    problem = only_problem(path)
    assert (problem.line, problem.seq, problem.kind) == (6, 6, "head")
    with pytest.raises(AuditCorrupt, match="does not match its head file"):
        AuditLog(path)


def test_a_deleted_middle_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 6)
    content = lines(path)
    del content[2]
    write_lines(path, content)
    problem = only_problem(path)
    assert (problem.line, problem.seq, problem.kind) == (3, 4, "broken chain")
    assert "seq jumps from 2 to 4" in problem.detail


def test_a_deleted_first_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 3)
    write_lines(path, lines(path)[1:])
    problem = only_problem(path)
    assert (problem.line, problem.seq, problem.kind) == (1, 2, "broken chain")


def test_an_inserted_forged_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    written = make_log(path, 6)
    content = lines(path)
    content.insert(2, forge(3, written[1].hash, event(99)))  # fits after entry 2...
    write_lines(path, content)
    problem = only_problem(path)  # ...but the real entry 3 does not follow it
    assert (problem.line, problem.seq, problem.kind) == (4, 3, "broken chain")
    assert "inserted" in problem.detail


def test_two_swapped_entries(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 6)
    content = lines(path)
    content[2], content[3] = content[3], content[2]
    write_lines(path, content)
    report = verify(path)
    assert not report.ok
    assert (report.problems[0].line, report.problems[0].seq) == (3, 4)
    assert [(p.line, p.kind) for p in report.problems] == [
        (3, "broken chain"),
        (4, "broken chain"),
        (5, "broken chain"),
    ]


@pytest.mark.parametrize("removed", [1, 2, 6])
def test_entries_removed_from_the_end(tmp_path: Path, removed: int) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 6)
    write_lines(path, lines(path)[: 6 - removed])
    problem = only_problem(path)
    kept = 6 - removed
    assert (problem.line, problem.seq, problem.kind) == (kept + 1, kept + 1, "truncated")
    assert f"the last {removed} were removed" in problem.detail


def test_a_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 6)
    content = lines(path)
    content[2] = b'{"seq": 3, "oops"\n'
    write_lines(path, content)
    problem = only_problem(path)
    assert (problem.line, problem.seq, problem.kind) == (3, None, "malformed")
    with pytest.raises(AuditCorrupt, match=r"audit.log:3: not JSON"):
        list(read_entries(path))


def test_a_non_canonical_line_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 3)
    content = lines(path)
    content[1] = json.dumps(parsed(content[1]), indent=None).encode() + b"\n"  # spaces
    write_lines(path, content)
    problem = only_problem(path)
    assert (problem.line, problem.kind) == (2, "malformed")
    assert "canonical" in problem.detail


def test_lines_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    with AuditLog(path) as log:
        with pytest.raises(ValueError, match="too large"):
            log.append({"blob": "x" * MAX_LINE})
        log.append(event(1))
    with path.open("ab") as handle:
        handle.write(b"y" * (MAX_LINE + 10) + b"\n")
    problem = only_problem(path)
    assert (problem.line, problem.kind) == (2, "malformed")
    assert "longer than" in problem.detail


def test_problems_after_the_first_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 8)
    content = lines(path)
    content[1] = b"garbage\n"
    content[5] = content[5].replace(b'"hits":6', b'"hits":7')
    write_lines(path, content)
    report = verify(path)
    assert [(p.line, p.kind) for p in report.problems] == [(2, "malformed"), (6, "edited")]


def test_a_head_file_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 4)
    kept_head = tmp_path / "kept.head"
    kept_head.write_bytes(path.with_name("audit.log.head").read_bytes())
    path.with_name("audit.log.head").unlink()
    write_lines(path, lines(path)[:3])

    unchecked = verify(path)
    assert unchecked.ok
    assert unchecked.notes and "no head file" in unchecked.notes[0]
    problem = verify(path, head=kept_head).problems[0]
    assert (problem.line, problem.kind) == (4, "truncated")


# -- crashes and refusals -----------------------------------------------------------------------


def test_a_torn_final_line_is_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "audit.log"
    written = make_log(path, 4)
    torn = forge(5, written[-1].hash, event(5))[:40]  # a crash in the middle of the write
    with path.open("ab") as handle:
        handle.write(torn)

    report = verify(path)
    assert report.ok
    assert report.entries == 4
    assert report.notes == [TORN_NOTE]

    with caplog.at_level(logging.WARNING, logger="cets.common.audit"), AuditLog(path) as log:
        fifth = log.append(event(5))
    assert fifth.seq == 5
    assert fifth.prev == written[-1].hash
    [aside] = tmp_path.glob("audit.log.torn-*")
    assert aside.read_bytes() == torn
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "needle" not in caplog.text and "officer" not in caplog.text
    after = verify(path)
    assert (after.ok, after.entries, after.notes) == (True, 5, [])


def test_a_torn_line_over_an_acknowledged_entry_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 4)
    path.write_bytes(path.read_bytes()[:-10])  # the head file says entry 4 was written

    problem = only_problem(path)
    assert (problem.line, problem.seq, problem.kind) == (4, 4, "truncated")
    with pytest.raises(AuditCorrupt, match="damaged"):
        AuditLog(path)


def test_an_entry_written_but_not_acknowledged_is_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.log"
    head = path.with_name("audit.log.head")
    make_log(path, 2)
    before = head.read_bytes()
    third = make_log(path, 1)[0]  # appended...
    head.write_bytes(before)  # ...but the crash came before the head file was replaced

    report = verify(path)
    assert report.ok
    assert report.notes and "entries 3 to 3 come after the head file's seq 2" in report.notes[0]
    with caplog.at_level(logging.WARNING, logger="cets.common.audit"), AuditLog(path) as log:
        assert log.last_seq == 3
        assert log.append(event(4)).prev == third.hash
    assert "keeping them" in caplog.text
    assert verify(path).notes == []


def test_a_head_file_left_half_written_is_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 2)
    # a crash while the head file was being replaced (tests/integration/test_faults.py
    # kills a federation service under load and finds one)
    stale = tmp_path / ".audit.log.head.k2x9q1ab.tmp"
    stale.write_text('{"hash": "')
    other = tmp_path / ".other.log.head.k2x9q1ab.tmp"  # another log's: not this one's to touch
    other.write_text("")

    with caplog.at_level(logging.WARNING, logger="cets.common.audit"), AuditLog(path) as log:
        assert log.append(event(3)).seq == 3
    assert not stale.exists()
    assert other.exists()
    assert "interrupted" in caplog.text
    assert verify(path).ok


def test_opening_a_truncated_log_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 5)
    content = path.read_bytes()
    write_lines(path, lines(path)[:3])
    with pytest.raises(AuditCorrupt, match=r"ends at seq 3 .* head file records seq 5") as info:
        AuditLog(path)
    assert "cets audit verify" in str(info.value)
    assert len(lines(path)) == 3  # nothing was written
    path.write_bytes(content)
    AuditLog(path).close()


def test_opening_without_the_head_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 2)
    path.with_name("audit.log.head").unlink()
    with pytest.raises(AuditCorrupt, match="missing"):
        AuditLog(path)


def test_opening_with_an_unreadable_head_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 2)
    path.with_name("audit.log.head").write_text("{}")
    with pytest.raises(AuditCorrupt, match="unreadable"):
        AuditLog(path)
    assert verify(path).problems[0].kind == "head"


def test_several_chained_entries_past_the_head_are_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A group commit writes several entries before their head file: a crash in between
    leaves them past the head, never acknowledged, chained to it; opening keeps them."""
    path = tmp_path / "audit.log"
    head = path.with_name("audit.log.head")
    make_log(path, 2)
    before = head.read_bytes()
    written = make_log(path, 3)
    head.write_bytes(before)
    report = verify(path)  # entries after the head are not a sign of tampering by themselves
    assert report.ok
    assert "entries 3 to 5 come after" in report.notes[0]
    with caplog.at_level(logging.WARNING, logger="cets.common.audit"), AuditLog(path) as log:
        assert log.last_seq == 5
        assert log.append(event(6)).prev == written[-1].hash
    assert "entries 3 to 5 were written but not acknowledged" in caplog.text
    assert verify(path).notes == []


def test_entries_past_the_head_that_do_not_chain_to_it_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    head = path.with_name("audit.log.head")
    make_log(path, 4)
    head.write_bytes(canonical_json({"seq": 2, "hash": "1" * 64}) + b"\n")
    with pytest.raises(AuditCorrupt, match="without chaining to it"):
        AuditLog(path)


def test_entries_past_the_head_with_one_missing_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    head = path.with_name("audit.log.head")
    make_log(path, 2)
    before = head.read_bytes()
    make_log(path, 3)
    head.write_bytes(before)
    kept = lines(path)
    path.write_bytes(b"".join(kept[:3] + kept[4:]))  # entry 4 removed
    with pytest.raises(AuditCorrupt, match="without chaining to it"):
        AuditLog(path)


def test_a_copied_head_file_anchors_the_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 3)
    anchor = tmp_path / "anchor.head"
    anchor.write_bytes(path.with_name("audit.log.head").read_bytes())
    make_log(path, 3)
    assert verify(path, head=anchor).ok

    content = lines(path)
    content[2] = forge(3, parsed(content[1])["hash"], event(99), parsed(content[2])["time"])
    rebuilt = [*content[:3]]
    for line in content[3:]:  # the whole chain after the change rebuilt by the forger
        old = parsed(line)
        rebuilt.append(forge(old["seq"], parsed(rebuilt[-1])["hash"], old["event"], old["time"]))
    write_lines(path, rebuilt)
    path.with_name("audit.log.head").write_bytes(
        canonical_json({"seq": 6, "hash": parsed(rebuilt[-1])["hash"]}) + b"\n"
    )
    assert verify(path).ok  # consistent with itself...
    problem = verify(path, head=anchor).problems[0]  # ...but not with the copy kept elsewhere
    assert (problem.line, problem.seq, problem.kind) == (3, 3, "head")


def test_a_damaged_tail_of_two_lines_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    make_log(path, 3)
    content = lines(path)
    write_lines(path, [*content[:2], b"garbage\n", b"more"])
    with pytest.raises(AuditCorrupt, match="last two lines"):
        AuditLog(path)


# -- any change is found ------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
events = st.dictionaries(st.text(max_size=6), json_values, max_size=4)


@settings(max_examples=100, deadline=None)
@given(logged=st.lists(events, min_size=1, max_size=4))
def test_each_line_is_the_canonical_json_of_its_entry(logged: list[dict[str, Any]]) -> None:
    """The writer builds a line around the event's encoded bytes: byte for byte what encoding
    the whole entry gives, for any JSON (integers past 64 bits, any text, any floats)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.log"
        with AuditLog(path) as log:
            written = [log.append(body) for body in logged]
        for entry, body in zip(written, logged, strict=True):
            assert entry.event == json.loads(canonical_json(body))
            chained = {"seq": entry.seq, "time": entry.time, "prev": entry.prev, "event": body}
            assert entry.hash == hashlib.sha256(canonical_json(chained)).hexdigest()
        assert lines(path) == [canonical_json(e.as_dict()) + b"\n" for e in written]
        assert verify(path).ok


@settings(max_examples=100, deadline=None)
@given(logged=st.lists(events, min_size=1, max_size=4), data=st.data())
def test_flipping_any_byte_is_detected(logged: list[dict[str, Any]], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.log"
        with AuditLog(path) as log:
            for body in logged:
                log.append(body)
        assert verify(path).ok
        content = bytearray(path.read_bytes())
        position = data.draw(st.integers(0, len(content) - 1), label="position")
        content[position] ^= data.draw(st.integers(1, 255), label="xor")
        path.write_bytes(bytes(content))
        assert not verify(path).ok


# --------------------------------------------------------------------------------------------
# Group commit


def test_concurrent_appends_share_commits_and_each_returns_only_once_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    durable_at_return: list[tuple[int, int]] = []
    real_fsync = os.fsync
    synced = threading.Event()

    def slow_fsync(fd: int) -> None:  # lets writers pile up behind a running commit
        synced.wait(0.01)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)

    def writer(n: int) -> None:
        for i in range(10):
            entry = log.append(event(n * 100 + i))
            durable_at_return.append((entry.seq, log._durable))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    assert len(durable_at_return) == 80
    assert all(seq <= durable for seq, durable in durable_at_return)
    assert log.commits < 80  # several entries per fsync
    report = verify(path)
    assert (report.ok, report.entries, report.notes) == (True, 80, [])


def test_a_failed_commit_fails_every_entry_waiting_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append(event(1))

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(AuditError, match="Input/output error"):
        log.append(event(2))
    with pytest.raises(AuditError):
        log.append(event(3))
    monkeypatch.undo()
    log.close()
    with AuditLog(path) as reopened:  # the unacknowledged entry is kept, chained, on reopening
        assert reopened.last_seq == 2


_WRITER = """
import sys, threading
from cets.common.audit import AuditLog
log = AuditLog(sys.argv[1])
lock = threading.Lock()
def run(n):
    for i in range(100000):
        entry = log.append({"writer": n, "i": i})
        with lock:
            sys.stdout.write(f"{entry.seq} {entry.hash}\\n")
            sys.stdout.flush()
for n in range(6):
    threading.Thread(target=run, args=(n,), daemon=True).start()
threading.Event().wait()
"""


def test_kill_9_during_group_commits_loses_no_answered_entry(tmp_path: Path) -> None:
    """Six threads append as fast as they can; each entry is printed once ``append`` returns
    (the moment a node would answer). After ``kill -9``, every printed entry is in the
    reopened log, with its hash, and the log verifies."""
    path = tmp_path / "audit.log"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    process = subprocess.Popen(
        [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    answered: dict[int, str] = {}
    for raw in process.stdout:
        seq, digest = raw.split()
        answered[int(seq)] = digest
        if len(answered) >= 300:
            break
    process.kill()
    process.wait(10)
    answered.update(
        (int(seq), digest)
        for seq, digest in (raw.split() for raw in process.stdout.read().splitlines())
    )
    process.stdout.close()
    with AuditLog(path) as log:
        assert log.last_seq >= max(answered)
    kept = {entry.seq: entry.hash for entry in read_entries(path)}
    assert all(kept.get(seq) == digest for seq, digest in answered.items())
    assert verify(path).ok


def test_the_head_file_keeps_its_inode_and_size(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    head = path.with_name("audit.log.head")
    make_log(path, 1)
    inode = head.stat().st_ino
    with AuditLog(path) as log:
        for n in range(5):
            log.append(event(n))
            assert (head.stat().st_ino, head.stat().st_size) == (inode, 2 * SLOT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.log", "audit.log.head"]
    assert verify(path).ok


def test_a_torn_slot_leaves_the_previous_head(tmp_path: Path) -> None:
    """A crash while a slot is overwritten: the other slot holds the previous head, as if
    the crash came before the head write; the entries past it are kept."""
    path = tmp_path / "audit.log"
    head = path.with_name("audit.log.head")
    make_log(path, 2)
    third = make_log(path, 1)[0]
    data = bytearray(head.read_bytes())
    newest = 0 if json.loads(data[:SLOT])["seq"] == 3 else 1
    torn = b'{"check":"0123\x00\xff'  # half written
    data[newest * SLOT : newest * SLOT + len(torn)] = torn
    head.write_bytes(bytes(data))
    report = verify(path)
    assert report.ok
    assert "entries 3 to 3 come after the head file's seq 2" in report.notes[0]
    with AuditLog(path) as log:
        assert log.last_seq == 3
        assert log.append(event(4)).prev == third.hash
    assert verify(path).ok and verify(path).notes == []


def test_a_slot_with_a_wrong_check_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    head = path.with_name("audit.log.head")
    make_log(path, 3)
    data = bytearray(head.read_bytes())
    newest = 0 if json.loads(data[:SLOT])["seq"] == 3 else 1
    at = data.index(b'"seq":3', newest * SLOT)
    data[at : at + 7] = b'"seq":9'
    head.write_bytes(bytes(data))
    assert verify(path).ok  # the other slot, seq 2, is in force
    AuditLog(path).close()


def test_both_slots_damaged_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    head = path.with_name("audit.log.head")
    make_log(path, 2)
    head.write_bytes(b"x" * (2 * SLOT))
    with pytest.raises(AuditCorrupt, match="unreadable"):
        AuditLog(path)
    assert verify(path).problems[0].kind == "head"


def test_a_head_file_of_the_old_form_is_read_and_converted(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    head = path.with_name("audit.log.head")
    written = make_log(path, 3)
    old = canonical_json({"hash": written[-1].hash, "seq": 3}) + b"\n"
    head.write_bytes(old)
    kept = tmp_path / "kept.head"
    kept.write_bytes(old)
    assert verify(path).ok and verify(path, head=kept).ok
    with AuditLog(path) as log:
        assert len(head.read_bytes()) == 2 * SLOT  # converted on opening
        assert stat.S_IMODE(head.stat().st_mode) == 0o600
        log.append(event(4))
    assert verify(path).ok
    assert verify(path, head=kept).ok  # the old copy still anchors the log
