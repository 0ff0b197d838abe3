"""Reading NDJSON and CSV: every line becomes a record or a numbered reject, and nothing stops
the rest of the file from being read."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cets.search import ingest, readers
from cets.search.readers import Format, Reject, read_records


def read(data: bytes, fmt: Format) -> list[tuple[int, dict[str, Any] | Reject]]:
    """What ``read_records`` yields, with each reject's raw text left out for comparison."""
    return [
        (number, Reject(item.line, item.reason) if isinstance(item, Reject) else item)
        for number, item in read_records(io.BytesIO(data), fmt)
    ]


def ndjson(data: bytes) -> list[tuple[int, dict[str, Any] | Reject]]:
    return read(data, Format.NDJSON)


def csv(data: bytes) -> list[tuple[int, dict[str, Any] | Reject]]:
    return read(data, Format.CSV)


def rejects(items: list[tuple[int, dict[str, Any] | Reject]]) -> list[tuple[int, str]]:
    return [(line, item.reason) for line, item in items if isinstance(item, Reject)]


def records(items: list[tuple[int, dict[str, Any] | Reject]]) -> list[tuple[int, dict[str, Any]]]:
    return [(line, item) for line, item in items if not isinstance(item, Reject)]


# --------------------------------------------------------------------------------------------
# NDJSON


def test_ndjson_lines_are_numbered_and_blank_lines_skipped() -> None:
    data = b'{"a": 1}\n\n   \n{"b": 2}\r\n\t\n{"c": 3}'
    assert ndjson(data) == [(1, {"a": 1}), (4, {"b": 2}), (6, {"c": 3})]


def test_integers_past_64_bits_read_exactly_beside_floats_and_in_nested_values() -> None:
    big = 2**64 + 1
    data = (
        f'{{"a": {big}}}\n{{"a": [1.5, {{"b": [{big}]}}], "c": "{"9" * 25}"}}\n'
        f'{{"a": 2.5, "c": "{"9" * 25}"}}\n{{"a": {"[" * 600}{big}{"]" * 600}}}'
    ).encode()
    items = ndjson(data)
    assert items[:3] == [
        (1, {"a": big}),
        (2, {"a": [1.5, {"b": [big]}], "c": "9" * 25}),
        (3, {"a": 2.5, "c": "9" * 25}),
    ]
    line, deep = items[3]
    assert line == 4 and isinstance(deep, dict)
    inner = deep["a"]
    for _ in range(599):
        inner = inner[0]
    assert inner == [big] and isinstance(inner[0], int)


def test_a_byte_order_mark_on_the_first_line_is_ignored() -> None:
    assert ndjson(b'\xef\xbb\xbf{"a": 1}\n{"b": 2}\n') == [(1, {"a": 1}), (2, {"b": 2})]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"a": "\xff"}', "not valid UTF-8 (byte 8)"),
        (b'{"a": "x\x00"}', "contains a NUL character"),
        (b'{"a": }', "invalid JSON: Expecting value (column 7)"),
        (b'{"a": 1', "invalid JSON: "),
        (b"[1, 2]", "each line must be a JSON object"),
        (b'"text"', "each line must be a JSON object"),
        (b"42", "each line must be a JSON object"),
        (b"null", "each line must be a JSON object"),
        (b'{"a": NaN}', "invalid JSON: NaN is not a number JSON allows"),
        (b'{"a": -Infinity}', "invalid JSON: -Infinity is not a number JSON allows"),
        (
            b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "invalid JSON: JSON nested too deeply",
        ),
        (b'{"a": ' + b"9" * 5000 + b"}", "invalid JSON: "),
    ],
)
def test_a_bad_ndjson_line_is_rejected_and_the_next_one_read(line: bytes, reason: str) -> None:
    items = ndjson(b'{"first": 1}\n' + line + b'\n{"last": 3}\n')
    assert items[0] == (1, {"first": 1})
    assert items[2] == (3, {"last": 3})
    number, reject = items[1]
    assert number == 2
    assert isinstance(reject, Reject)
    assert reject.line == 2
    assert reject.reason.startswith(reason)
    assert len(items) == 3


def test_an_over_long_line_is_rejected_and_the_next_line_keeps_its_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 16)
    fits = b'{"a": "1234567"}'  # exactly 16 bytes
    assert len(fits) == 16
    data = (
        fits + b"\n" + b'{"a": "' + b"x" * 100 + b'"}\n' + fits + b"\n" + b'{"long": "' + b"y" * 40
    )
    items = ndjson(data)
    assert items == [
        (1, {"a": "1234567"}),
        (2, Reject(2, "line is longer than 16 bytes")),
        (3, {"a": "1234567"}),
        (4, Reject(4, "line is longer than 16 bytes")),
    ]


def test_a_rejected_line_keeps_its_text_for_the_rejects_file() -> None:
    data = b'[1, 2]\r\n{"a": "\xff"}\n'
    items = [item for _, item in read_records(io.BytesIO(data), Format.NDJSON)]
    assert [item.raw for item in items if isinstance(item, Reject)] == ["[1, 2]", '{"a": "\ufffd"}']


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("fmt", list(Format))
def test_a_utf16_or_utf32_file_with_a_byte_order_mark_is_rejected_once(
    encoding: str, fmt: Format
) -> None:
    text = "type,name\nperson,Ann\n" if fmt is Format.CSV else '{"a": 1}\n{"b": 2}\n'
    data = ("\ufeff" if encoding == "utf-16-be" else "") + text
    [(number, reject)] = read(data.encode(encoding), fmt)
    assert number == 1
    assert isinstance(reject, Reject)
    assert "the file is UTF-16 or UTF-32 (it starts with a byte order mark)" in reject.reason


def test_utf16_without_a_byte_order_mark_is_named_in_each_reject() -> None:
    data = '{"a": 1}\n{"b": "Zo\u00eb"}\n'.encode("utf-16-le")
    items = ndjson(data)
    hint = "(the file looks like UTF-16; convert it to UTF-8)"
    assert [n for n, _ in items] == [1, 2, 3]  # line 3: the NUL after the last line feed
    assert all(isinstance(item, Reject) for _, item in items)
    assert rejects(items)[0] == (1, f"contains a NUL character {hint}")
    assert rejects(items)[1][1].endswith(hint)


def test_a_run_of_nuls_is_not_taken_for_utf16() -> None:
    data = b'{"a": 1}\n' + b"\x00" * 4000 + b'\n{"b": 2}\n' + b"\x00" * 100
    assert ndjson(data) == [
        (1, {"a": 1}),
        (2, Reject(2, "contains a NUL character")),
        (3, {"b": 2}),
        (4, Reject(4, "contains a NUL character")),
    ]


def test_a_file_cut_inside_a_character_or_a_record() -> None:
    zoe = '{"name": "Zo\u00eb"}'.encode()
    assert ndjson(b'{"a": 1}\n' + zoe[:-3]) == [
        (1, {"a": 1}),
        (2, Reject(2, "not valid UTF-8 (byte 13)")),
    ]
    assert rejects(ndjson(b'{"a": 1}\n{"b": [1, 2')) == [
        (2, "invalid JSON: Expecting ',' delimiter (column 12)")
    ]


def test_line_and_paragraph_separators_inside_values_do_not_split_lines() -> None:
    data = '{"a": "x\u2028y\u2029z\u0085"}\n{"b": 1}\n'.encode()
    assert ndjson(data) == [(1, {"a": "x\u2028y\u2029z\u0085"}), (2, {"b": 1})]


def test_a_bare_carriage_return_is_whitespace_between_tokens_but_not_a_line_end() -> None:
    assert ndjson(b'{"a":\r1}\n') == [(1, {"a": 1})]
    [(number, reject)] = ndjson(b'{"a": 1}\r{"b": 2}\r{"c": 3}\r')
    assert number == 1
    assert isinstance(reject, Reject)
    assert reject.reason == (
        "invalid JSON: Extra data (column 10); lines must end with \\n or \\r\\n, "
        "not a bare carriage return (\\r)"
    )


# --------------------------------------------------------------------------------------------
# CSV


def test_csv_header_names_the_fields_and_empty_cells_are_left_out() -> None:
    data = b"type, name ,aliases\nperson,Ann Lee,\nperson,  ,Bob|Rob\n"
    assert csv(data) == [
        (2, {"type": "person", "name": "Ann Lee"}),
        (3, {"type": "person", "aliases": "Bob|Rob"}),
    ]


def test_csv_with_bom_crlf_and_blank_lines() -> None:
    data = b"\xef\xbb\xbftype,name\r\n\r\nperson,Ann\r\n,\r\nperson,Bob\r\n"
    assert csv(data) == [
        (3, {"type": "person", "name": "Ann"}),
        (5, {"type": "person", "name": "Bob"}),
    ]


def test_blank_lines_before_the_csv_header_are_skipped() -> None:
    assert csv(b"\n \ntype,name\nperson,Ann\n") == [(4, {"type": "person", "name": "Ann"})]


def test_quoted_commas_and_quotes() -> None:
    data = b'type,name,text\nperson,"Lee, Ann","she said ""hi"""\n'
    assert csv(data) == [(2, {"type": "person", "name": "Lee, Ann", "text": 'she said "hi"'})]


def test_a_multi_line_field_keeps_the_number_of_its_first_line() -> None:
    data = b'type,text\ncase_note,"line one\nline two\n\nline four"\ntip,after\n'
    assert csv(data) == [
        (2, {"type": "case_note", "text": "line one\nline two\n\nline four"}),
        (6, {"type": "tip", "text": "after"}),
    ]


@pytest.mark.parametrize(
    "header",
    [b"type,,name", b"type,name,type", b"type, name ,name"],
)
def test_a_bad_header_is_reported_once(header: bytes) -> None:
    assert csv(header + b"\nperson,a,b\n") == [
        (1, Reject(1, "the header needs unique, non-empty column names"))
    ]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"type,\xffname", "not valid UTF-8"),
        (b'type,"name', "unterminated quoted field"),
        (b'type,"na"me', "broken CSV"),
    ],
)
def test_an_unreadable_header_stops_the_file_without_using_a_data_row_as_header(
    header: bytes, reason: str
) -> None:
    items = csv(header + b"\nperson,Ann\nperson,Bob\n")
    assert len(items) == 1
    number, reject = items[0]
    assert number == 1
    assert isinstance(reject, Reject)
    assert reject.reason.startswith("the header cannot be read: ")
    assert reason in reject.reason


def test_broken_quotes_are_rejected_and_reading_continues() -> None:
    data = b'type,name\nperson,"Ann"x\nperson,Bob\n'
    items = csv(data)
    assert rejects(items) == [(2, "broken CSV: ',' expected after '\"'")]
    assert records(items) == [(3, {"type": "person", "name": "Bob"})]


def test_ragged_rows_are_rejected() -> None:
    data = b"type,name\nperson\nperson,Ann,extra\nperson,Bob\n"
    items = csv(data)
    assert rejects(items) == [
        (2, "expected 2 columns, found 1"),
        (3, "expected 2 columns, found 3"),
    ]
    assert records(items) == [(4, {"type": "person", "name": "Bob"})]


def test_bad_bytes_in_a_csv_row_are_rejected() -> None:
    data = b"type,name\nperson,\xc3\nperson,A\x00n\nperson,Bob\n"
    items = csv(data)
    assert rejects(items) == [(2, "not valid UTF-8 (byte 8)"), (3, "contains a NUL character")]
    assert records(items) == [(4, {"type": "person", "name": "Bob"})]


def test_an_unterminated_quote_does_not_swallow_the_rest_of_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(readers, "MAX_CSV_RECORD_LINES", 3)
    good = [f"person,Name {i}\n".encode() for i in range(3, 10)]
    data = b'type,name\nperson,"Ann\n' + b"".join(good)
    items = csv(data)
    assert rejects(items) == [
        (2, "unterminated quoted field (a quoted field may span at most 3 lines and 1048576 bytes)")
    ]
    assert records(items) == [(n, {"type": "person", "name": f"Name {n}"}) for n in range(3, 10)]
    assert len(items) == 8


def test_an_unterminated_quote_near_the_end_does_not_swallow_the_last_lines() -> None:
    data = b'type,name\nperson,Ann\nperson,"Bob\nperson,Cy\nperson,Di\n'
    items = csv(data)
    assert items == [
        (2, {"type": "person", "name": "Ann"}),
        (3, Reject(3, "unterminated quoted field at end of file")),
        (4, {"type": "person", "name": "Cy"}),
        (5, {"type": "person", "name": "Di"}),
    ]


def test_an_over_long_csv_line_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 20)
    data = b"type,name\nperson," + b"x" * 50 + b"\nperson,Bob\n"
    assert csv(data) == [
        (2, Reject(2, "line is longer than 20 bytes")),
        (3, {"type": "person", "name": "Bob"}),
    ]


def test_a_quoted_field_may_not_grow_past_the_line_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 30)
    lines = b"".join(f"row {i},x\n".encode() for i in range(3, 9))
    items = csv(b'type,name\nperson,"open\n' + lines)
    assert rejects(items)[0] == (
        2,
        "unterminated quoted field (a quoted field may span at most 1000 lines and 30 bytes)",
    )
    assert [n for n, _ in records(items)] == list(range(3, 9))


def test_a_quote_inside_an_unquoted_field_is_an_ordinary_character() -> None:
    data = b'type,name\nperson,O"Brien\nperson,Bob\nperson,D"Arcy\nperson,Cy\n'
    assert csv(data) == [
        (2, {"type": "person", "name": 'O"Brien'}),
        (3, {"type": "person", "name": "Bob"}),
        (4, {"type": "person", "name": 'D"Arcy'}),
        (5, {"type": "person", "name": "Cy"}),
    ]


def test_a_quote_opened_by_mistake_does_not_swallow_the_good_lines_up_to_the_next_quote() -> None:
    data = (
        b"type,name,note\n"
        b'person,Ann,"never closed\n'  # 2
        b"person,Bob,fine\n"  # 3
        b"person,Cy,fine\n"  # 4
        b'person,"Dee, D",fine\n'  # 5: its first quote would close line 2's
        b"person,Eve,fine\n"  # 6
    )
    items = csv(data)
    assert rejects(items) == [
        (
            2,
            "quoted field opened here does not close properly "
            "(broken CSV: ',' expected after '\"')",
        )
    ]
    assert [(n, r["name"]) for n, r in records(items)] == [
        (3, "Bob"),
        (4, "Cy"),
        (5, "Dee, D"),
        (6, "Eve"),
    ]


def test_a_multi_line_record_with_the_wrong_number_of_cells_gives_its_lines_back() -> None:
    data = b'type,name,note\nperson,"Ann\nperson,Bob,fine\nperson,Cy",x,y\n'
    items = csv(data)
    assert rejects(items) == [
        (2, "quoted field opened here does not close properly (expected 3 columns, found 4)"),
        (4, "expected 3 columns, found 4"),
    ]
    assert records(items) == [(3, {"type": "person", "name": "Bob", "note": "fine"})]


def test_a_csv_file_cut_inside_a_character() -> None:
    data = "type,name\nperson,Ann\nperson,Zo\u00eb".encode()[:-1]
    assert csv(data) == [
        (2, {"type": "person", "name": "Ann"}),
        (3, Reject(3, "not valid UTF-8 (byte 10)")),
    ]


def test_csv_lines_ending_in_a_bare_carriage_return() -> None:
    items = csv(b"type,name\rperson,Ann\rperson,Bob\r")
    assert rejects(items) == [
        (
            1,
            "the header cannot be read: broken CSV: a carriage return (\\r) outside quotes; "
            "lines must end with \\n or \\r\\n",
        )
    ]
    items = csv(b'type,name\nperson,A\rnn\nperson,"B\rob"\n')
    assert rejects(items)[0][0] == 2
    assert records(items) == [(3, {"type": "person", "name": "B\rob"})]


# --------------------------------------------------------------------------------------------
# Properties


def _check_items(items: list[tuple[int, dict[str, Any] | Reject]]) -> None:
    for number, item in items:
        assert number >= 1
        if isinstance(item, Reject):
            assert item.line == number
            assert item.reason
        else:
            assert isinstance(item, dict)


@given(data=st.binary(max_size=2000), fmt=st.sampled_from(Format))
@settings(deadline=None)
def test_any_bytes_give_records_or_numbered_rejects(data: bytes, fmt: Format) -> None:
    _check_items(read(data, fmt))


csv_like = st.lists(
    st.sampled_from([b"a", b",", b'"', b"\n", b"\r\n", b"\r", b"\xff", b"\x00", b" ", b"{}"]),
    max_size=60,
).map(b"".join)


@given(data=csv_like, fmt=st.sampled_from(Format))
@settings(deadline=None)
def test_csv_like_bytes_give_records_or_numbered_rejects(data: bytes, fmt: Format) -> None:
    _check_items(read(data, fmt))


text = st.text(st.characters(codec="utf-8"))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=6,
)
blank = st.sampled_from(["", " ", "\t", "\r", "  \r"])


@given(
    objects=st.lists(st.dictionaries(text, json_values, max_size=4), max_size=10),
    blanks=st.lists(st.lists(blank, max_size=3), min_size=11, max_size=11),
    ensure_ascii=st.booleans(),
    crlf=st.booleans(),
)
@settings(deadline=None, max_examples=50)
def test_valid_ndjson_reads_back_with_line_numbers(
    objects: list[dict[str, Any]], blanks: list[list[str]], ensure_ascii: bool, crlf: bool
) -> None:
    lines: list[str] = []
    expected: list[tuple[int, dict[str, Any]]] = []
    for index, value in enumerate(objects):
        lines.extend(blanks[index])
        lines.append(json.dumps(value, ensure_ascii=ensure_ascii))
        expected.append((len(lines), value))
    lines.extend(blanks[-1])
    newline = "\r\n" if crlf else "\n"
    data = newline.join(lines).encode()
    assert ndjson(data) == expected


# --------------------------------------------------------------------------------------------
# Acknowledgements


def test_a_refused_record_is_reported_at_its_own_line_when_its_id_repeats() -> None:
    """OpenSearch answers in the order records were sent; one id sent from lines 2 and 5 and
    refused both times is reported at 2 and 5."""
    summary = ingest.IngestSummary()
    seen: list[Reject] = []
    tracker = ingest._Tracker(summary, seen.append)
    for record_id, line in (("a", 2), ("b", 3), ("a", 5)):
        tracker.submitted(record_id, line)
    refused = {"index": {"_id": "a", "error": {"type": "cluster_block_exception"}}}
    tracker.acknowledge(False, refused)
    tracker.acknowledge(True, {"index": {"_id": "b", "result": "created"}})
    tracker.acknowledge(False, refused)
    assert [(r.line, r.reason) for r in seen] == [
        (2, "refused by OpenSearch: cluster_block_exception"),
        (5, "refused by OpenSearch: cluster_block_exception"),
    ]
    assert (summary.duplicates, summary.indexed, summary.rejected) == (1, 1, 2)
