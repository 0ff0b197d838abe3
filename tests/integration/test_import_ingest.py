"""Each importer's output ingests cleanly into a real OpenSearch through `cets ingest`, and the
imported identifiers are searchable selectors there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cets.cli import cli
from cets.search.index import IndexNames
from cets.search.store import connect

pytestmark = pytest.mark.opensearch

DATA = Path(__file__).resolve().parents[1] / "data" / "importers"


def _import(kind: str, source: Path) -> Path:
    result = CliRunner().invoke(cli, ["import", kind, str(source), "--region", "CA"])
    assert result.exit_code == 0, result.output
    return source.with_name(source.name + ".ndjson")


def _ingest(path: Path, url: str, agency: str, key: bytes) -> dict[str, int]:
    key_file = path.with_name("card.key")
    key_file.write_text(key.hex())
    result = CliRunner().invoke(
        cli,
        [
            *("ingest", str(path), "--agency", agency, "--opensearch-url", url),
            *("--card-key-file", str(key_file), "--region", "CA", "--json"),
        ],
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def _selectors(url: str, agency: str) -> set[str]:
    client = connect(url)
    try:
        hits = client.search(index=IndexNames("cets", agency).alias, size=100)["hits"]["hits"]
    finally:
        client.close()
    return {s for h in hits for s in h["_source"].get("selectors", [])}


@pytest.mark.parametrize(
    ("kind", "fixture", "records", "expected"),
    [
        ("vics", "vics-2.0-hashset.json", 4, {"md5:d959d9e29cc1c9aed8477340d5f1efc7"}),
        ("vics", "vics-1.3-case.json", 2, {"sha1:5c6e47d136bafd217dbe6a86b52c96b8453a483b"}),
        (
            "cybertip",
            "cybertip-report.xml",
            1,
            {
                "email:johnsmith@gmail.com",
                "phone:+14165550142",
                "username:darkangel_77",
                "ip:198.51.100.23",
                "domain:photos.example.com",
            },
        ),
        ("cybertip", "cybertip-reports.xml", 2, {"ip:192.0.2.44", "username:second_account"}),
    ],
)
def test_imported_records_ingest_without_rejects(
    kind: str,
    fixture: str,
    records: int,
    expected: set[str],
    tmp_path: Path,
    opensearch_url: str,
    agency_id: str,
    card_key: bytes,
) -> None:
    source = tmp_path / fixture
    shutil.copy(DATA / fixture, source)
    out = _import(kind, source)

    first = _ingest(out, opensearch_url, agency_id, card_key)
    again = _ingest(out, opensearch_url, agency_id, card_key)

    assert first["rejected"] == 0 and first["indexed"] == records == first["in_index"]
    assert again["replaced"] == records and again["in_index"] == records  # idempotent
    assert expected <= _selectors(opensearch_url, agency_id)
