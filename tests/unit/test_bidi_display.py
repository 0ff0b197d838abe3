"""Bidirectional overrides and control characters in a record are shown, not obeyed: on the
terminal (``cets search`` and the others) and on the officers' web page; the stored record
(the evidence) keeps them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cets.core.display import format_response, visible
from cets.federation.display import format_federated
from cets.gateway.display import format_page
from cets.v1 import federation_pb2, records_pb2, search_pb2

STATIC = Path(__file__).parents[2] / "services/gateway/cets/gateway/static"
SPOOF = "invoice\u202egpj.exe"  # reads "invoiceexe.jpg" where the override is obeyed
CASES = [
    (SPOOF, "invoice<U+202E>gpj.exe"),
    ("a\u2066b\u2069c\u200fd", "a<U+2066>b<U+2069>c<U+200F>d"),
    ("\x1b[2Jgone", "<U+001B>[2Jgone"),
    ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
    ("Ünïcödé, 東京, مرحبا", "Ünïcödé, 東京, مرحبا"),
]


@pytest.mark.parametrize(("text", "shown"), CASES)
def test_visible(text: str, shown: str) -> None:
    assert visible(text) == shown


def _hit(agency: str) -> search_pb2.Hit:
    return search_pb2.Hit(
        agency=agency,
        record_id="r\u202e1",
        type=records_pb2.RECORD_TYPE_TIP,
        title=SPOOF,
        disclosure=search_pb2.DISCLOSURE_LEVEL_FULL,
    )


def test_the_terminal_shows_overrides_as_code_points() -> None:
    response = search_pb2.SearchResponse(agency="tps", hits=[_hit("tps")], total_hits=1)
    federated = federation_pb2.FederatedSearchResponse(
        answers=[
            federation_pb2.AgencyAnswer(
                status=search_pb2.AgencyStatus(agency="tps", code=search_pb2.AgencyStatus.CODE_OK),
                response=response,
            )
        ]
    )
    page = {
        "results": [
            {
                "rank": 1,
                "exact": False,
                "agency": "tps",
                "type": "tip",
                "disclosure": "full",
                "record_id": "r\u202e1",
                "title": SPOOF,
                "matched_selectors": [],
                "highlights": {"text": ["<mark>x</mark>\u202e"]},
            }
        ],
        "agencies": [],
        "links": [],
    }
    for text in (format_response(response), format_federated(federated), format_page(page)):
        assert "\u202e" not in text
        assert "invoice<U+202E>gpj.exe" in text


def test_the_stored_record_keeps_the_characters() -> None:
    from cets.core.records import IngestContext, prepare

    record = {"id": "r1", "type": "tip", "text": SPOOF, "created": "2025-01-01"}
    prepared = prepare(record, IngestContext("tps", b"k" * 32, "CA"))
    assert prepared.document["text"] == SPOOF  # the evidence as received
    assert "\u202e" in json.dumps(prepared.document, ensure_ascii=False)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_web_page_shows_overrides_as_code_points(tmp_path: Path) -> None:
    module = tmp_path / "dom.mjs"
    module.write_text((STATIC / "dom.js").read_text(encoding="utf-8"), encoding="utf-8")
    script = (
        f"import {{ visible }} from {json.dumps(module.as_uri())};\n"
        "const cases = JSON.parse(process.argv[1]);\n"
        "process.stdout.write(JSON.stringify(cases.map(([text]) => visible(text))));\n"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script, json.dumps(CASES)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert json.loads(out) == [shown for _, shown in CASES]


def test_every_text_the_page_sets_goes_through_visible() -> None:
    dom = (STATIC / "dom.js").read_text(encoding="utf-8")
    assert "node.textContent = visible(value)" in dom
    assert "createTextNode(visible(" in dom
    assert ".map(shown)" in dom
