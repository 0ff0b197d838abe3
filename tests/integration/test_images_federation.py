"""One image searched across three agencies, each holding an edited copy of it: through the
federation and the gateway (hashed at the officer's own gateway, the file discarded), each
agency's answer at its own policy level, merged by distance; and ``cets search --image``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from httpx import Client as Http

from cets.cli import cli
from cets.common.audit import read_entries
from cets.common.imagehash import hash_image
from cets.core import pdq
from cets.demo import scenes
from cets.gateway.tokens import issue_token
from stacks import Stack, three_agencies_fixture

pytestmark = pytest.mark.opensearch

SEED = 9
COPIES = {"tps": "resize_50", "rcmp": "jpeg_q40", "nca": "brightness_+20"}
# tps releases its records in full to partners, rcmp in summary, nca only as a count


def _original() -> bytes:
    return scenes.encode(scenes.draw_scene(SEED))


def _copy(agency: str) -> bytes:
    name = COPIES[agency]
    edited = scenes.transform(scenes.draw_scene(SEED), name)
    return scenes.encode(edited, "JPEG" if name == "jpeg_q40" else "PNG")


def records(agency: str) -> list[dict[str, Any]]:
    copy = hash_image(_copy(agency))
    other = hash_image(scenes.encode(scenes.draw_scene(300 + len(agency))))
    return [
        {
            "id": f"{agency}-copy",
            "type": "media_hash",
            "md5": copy.md5,
            "pdq": copy.pdq,
            "pdq_quality": copy.quality,
            "filename": "IMG_0042.jpg",
            "description": "from a seized phone",
            "created": "2025-03-01",
        },
        {"id": f"{agency}-other", "type": "media_hash", "pdq": other.pdq, "created": "2025-03-02"},
    ]


stack = three_agencies_fixture(records, index_prefix="imgfed")


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[Http]:
    with stack.serve_gateway(audit="gateway-images") as client:
        yield client


def _auth(stack: Stack) -> dict[str, str]:
    return {"Authorization": "Bearer " + stack.token(officer="det-4521")}


WHY = {"purpose": "identify a victim in a shared image", "case_reference": "TPS-2026-00077"}


def test_one_image_finds_every_agencys_copy_at_its_policy_level(api: Http, stack: Stack) -> None:
    hashed = api.post(
        "/v1/images/hash",
        content=_original(),
        headers={**_auth(stack), "Content-Type": "application/octet-stream"},
    )
    assert hashed.status_code == 200, hashed.text
    hashes = hashed.json()
    assert hashes["pdq"] == hash_image(_original()).pdq and len(hashes["dihedral"]) == 8
    assert hashes["quality"] == 100 and not hashes["low_quality"]
    query = {"image": {"pdq": [hashes["pdq"]], "md5": hashes["md5"]}}
    reply = api.post("/v1/search", json={"query": query, **WHY}, headers=_auth(stack))
    assert reply.status_code == 200, reply.text
    page = reply.json()
    results = page["results"]
    expected = {
        agency: pdq.hamming(hashes["pdq"], hash_image(_copy(agency)).pdq) for agency in COPIES
    }
    assert all(d <= pdq.MATCH_THRESHOLD for d in expected.values())
    shown = {(h["agency"], h["record_id"]): h for h in results}
    assert set(shown) == {("tps", "tps-copy"), ("rcmp", "rcmp-copy")}
    full, summary = shown["tps", "tps-copy"], shown["rcmp", "rcmp-copy"]
    assert (full["disclosure"], summary["disclosure"]) == ("full", "summary")
    assert full["distance"] == expected["tps"] and summary["distance"] == expected["rcmp"]
    assert full["similarity"] == round(1 - expected["tps"] / 256, 4)
    assert full["record"]["media_hash"]["filename"] == "IMG_0042.jpg"
    assert summary["record"] is None and summary["title"] == ""
    # merged by distance, which every agency computes the same way
    assert [h["distance"] for h in results] == sorted(h["distance"] for h in results)
    agencies = {a["agency"]: a for a in page["agencies"]}
    assert agencies["nca"]["disclosure"] == "hit"
    assert (agencies["nca"]["total_hits"], agencies["nca"]["withheld_hits"]) == (1, 1)
    # the gateway's audit log holds the hashes searched, never an image
    log = stack.root / "gateway-images.log"
    entries = [e.event for e in read_entries(log) if e.event.get("query")]
    assert entries[-1]["query"]["image"]["pdq"] == [hashes["pdq"]]


def test_identical_files_rank_ahead_of_near_copies(api: Http, stack: Stack) -> None:
    rcmp_copy = hash_image(_copy("rcmp"))
    query = {"image": {"pdq": [hash_image(_original()).pdq], "md5": rcmp_copy.md5}}
    reply = api.post("/v1/search", json={"query": query, **WHY}, headers=_auth(stack))
    results = reply.json()["results"]
    assert (results[0]["agency"], results[0]["distance"]) == ("rcmp", 0)
    assert f"md5:{rcmp_copy.md5}" in results[0]["matched_selectors"]


def test_a_mirrored_copy_is_named_so_through_the_dihedral_hashes(api: Http, stack: Stack) -> None:
    mirrored = scenes.encode(scenes.transform(scenes.draw_scene(SEED), "mirror"))
    hashes = api.post("/v1/images/hash", content=mirrored, headers=_auth(stack)).json()
    query = {"image": {"pdq": hashes["dihedral"]}, "types": ["media_hash"]}
    results = api.post("/v1/search", json={"query": query, **WHY}, headers=_auth(stack)).json()[
        "results"
    ]
    tps = next(h for h in results if h["agency"] == "tps")
    assert tps["variant"] == "mirrored" and tps["distance"] <= pdq.MATCH_THRESHOLD
    only_plain = {"image": {"pdq": [hashes["pdq"]]}}
    plain = api.post("/v1/search", json={"query": only_plain, **WHY}, headers=_auth(stack))
    assert plain.json()["results"] == []


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"", 400, "send the image file's bytes"),
        (b"%PDF-1.4 a document", 400, "image: not an image of a supported format"),
        (b"\xff" * (32 * 1024 * 1024 + 1), 413, "larger than 32 MiB"),
    ],
)
def test_what_cannot_be_hashed_is_refused(
    api: Http, stack: Stack, body: bytes, status: int, message: str
) -> None:
    reply = api.post("/v1/images/hash", content=body, headers=_auth(stack))
    assert reply.status_code == status and message in reply.json()["error"]


def test_an_image_larger_than_the_json_body_cap_is_still_hashed(api: Http, stack: Stack) -> None:
    # every other body is capped at 1 MiB; an image to hash has its own cap, 32 MiB
    large = scenes.encode(scenes.draw_scene(SEED).resize((1024, 768)), "BMP")
    assert len(large) > 2 * 1024 * 1024
    reply = api.post("/v1/images/hash", content=large, headers=_auth(stack))
    assert reply.status_code == 200, reply.text
    assert pdq.hamming(reply.json()["pdq"], hash_image(_original()).pdq) <= 31


def test_what_cannot_be_hashed_leaves_the_officers_quota_alone(stack: Stack) -> None:
    with stack.serve_gateway(rate_limit="2/minute", audit="gateway-images-quota") as client:
        refused = [
            client.post("/v1/images/hash", content=body, headers=_auth(stack)).status_code
            for body in (b"", b"%PDF-1.4 a document", b"GIF89a broken")
        ]
        assert refused == [400, 400, 400]
        hashed = [
            client.post("/v1/images/hash", content=_original(), headers=_auth(stack)).status_code
            for _ in range(3)
        ]
    assert hashed == [200, 200, 429]


def test_hashing_needs_an_officer_token(api: Http) -> None:
    assert api.post("/v1/images/hash", content=_original()).status_code == 401


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ({"pdq": ["abc"]}, "image.pdq[0]"),
        ({"pdq": ["0" * 64], "max_distance": 65}, "image.max_distance"),
        ({}, "image: give at least one of"),
    ],
)
def test_a_bad_image_query_is_a_4xx_naming_the_field(
    api: Http, stack: Stack, image: dict[str, Any], message: str
) -> None:
    reply = api.post("/v1/search", json={"query": {"image": image}, **WHY}, headers=_auth(stack))
    assert 400 <= reply.status_code < 500 and message in reply.json()["error"], reply.text


def test_cets_search_image_hashes_locally_and_prints_distances(
    api: Http, stack: Stack, tmp_path: Any
) -> None:
    picture = tmp_path / "found.png"
    picture.write_bytes(_original())
    env = {"CETS_OFFICER_TOKEN": issue_token(stack.issuer, officer="det-1", agency="tps")}
    result = CliRunner(env={**os.environ, **env}).invoke(
        cli,
        [
            *("search", "--gateway", str(api.base_url), "--image", str(picture)),
            *("--purpose", WHY["purpose"], "--case", WHY["case_reference"]),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "tps-copy" in result.output and "bits apart" in result.output
