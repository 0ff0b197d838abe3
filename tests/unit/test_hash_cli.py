"""``cets hash``: media_hash records from a tree of real image files, ready for ingest."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from cets.cli import cli
from cets.common.imagehash import hash_image
from cets.core import pdq
from cets.core.records import IngestContext, prepare
from cets.demo import scenes


def test_hash_writes_records_for_images_and_reports_the_rest(tmp_path: Path) -> None:
    tree = tmp_path / "seized"
    (tree / "a" / "b").mkdir(parents=True)
    pictures = {
        tree / "one.jpg": scenes.encode(scenes.draw_scene(1), "JPEG", quality=90),
        tree / "a" / "two.png": scenes.encode(scenes.draw_scene(2)),
        tree / "a" / "b" / "three.webp": scenes.encode(scenes.draw_scene(3), "WEBP"),
        tree / "a" / "flat.gif": scenes.encode(Image.new("RGB", (64, 64), (200, 10, 10)), "GIF"),
    }
    for path, data in pictures.items():
        path.write_bytes(data)
    (tree / "a" / "notes.txt").write_text("not an image")
    (tree / "a" / "b" / "broken.jpg").write_bytes(pictures[tree / "one.jpg"][:300])
    output = tmp_path / "hashes.ndjson"
    result = CliRunner().invoke(
        cli, ["hash", str(tree), "-o", str(output), "--source", "device-7", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(r["filename"] for r in records) == [
        "flat.gif",
        "one.jpg",
        "three.webp",
        "two.png",
    ]
    by_name = {r["filename"]: r for r in records}
    for path, data in pictures.items():
        expected = hash_image(data)
        record = by_name[path.name]
        assert (record["md5"], record["sha1"], record["pdq"]) == (
            expected.md5,
            expected.sha1,
            expected.pdq,
        )
        assert record["pdq_quality"] == expected.quality
        assert record["type"] == "media_hash" and record["source"] == "device-7"
        # every record is one cets ingest accepts
        prepared = prepare(record, IngestContext(agency_id="tps", card_key=b"k" * 32))
        assert f"pdq:{expected.pdq}" in prepared.document["selectors"]
    assert by_name["flat.gif"]["pdq_quality"] < pdq.QUALITY_THRESHOLD
    stderr = result.stderr
    assert "notes.txt: skipped: not an image of a supported format" in stderr
    assert "broken.jpg: skipped: the image cannot be decoded" in stderr
    assert "flat.gif: flagged: PDQ quality" in stderr
    assert "hashed 4 images (1 flagged low quality), skipped 2 files" in stderr


def test_hash_with_several_processes_gives_the_same_records(tmp_path: Path) -> None:
    for seed in range(10):
        (tmp_path / f"s{seed}.png").write_bytes(scenes.encode(scenes.draw_scene(seed)))
    runs = []
    for jobs in ("1", "2"):
        result = CliRunner().invoke(cli, ["hash", str(tmp_path), "--jobs", jobs])
        assert result.exit_code == 0, result.output
        runs.append([json.loads(line)["pdq"] for line in result.stdout.splitlines()])
    assert runs[0] == runs[1] and len(runs[0]) == 10


def test_hash_fails_when_nothing_is_an_image(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    result = CliRunner().invoke(cli, ["hash", str(tmp_path)])
    assert result.exit_code == 1
    assert "no image could be hashed" in result.stderr
