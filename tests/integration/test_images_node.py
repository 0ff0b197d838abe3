"""Near-duplicate images at a node on a real OpenSearch: real pictures and their edited copies
through gRPC, exact recall against a brute force over 100,000 stored hashes, and an index
written before the image fields existed."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from opensearchpy import OpenSearch, helpers

from cets.common.imagehash import hash_image
from cets.core import pdq
from cets.core.query import ImageQuery, SearchQuery
from cets.demo import scenes
from cets.demo.local import AgencySpec
from cets.search import images
from cets.search.dsl import build_body, parse_response
from cets.search.index import MAPPING, IndexNames, ensure_index, index_template
from cets.search.store import connect
from cets.v1 import search_pb2, search_pb2_grpc
from helpers import opened, signed
from stacks import OPEN, Stack, local_stack

pytestmark = pytest.mark.opensearch

SURVIVING = ["resize_50", "jpeg_q40", "brightness_+20", "brightness_-20"]
ORIGINAL_SEED = 4


def _file(name: str) -> bytes:
    picture = scenes.draw_scene(ORIGINAL_SEED)
    if name == "original":
        return scenes.encode(picture)
    edited = scenes.transform(picture, name)
    return scenes.encode(edited, "JPEG" if name == "jpeg_q40" else "PNG")


def _id(name: str) -> str:
    return "copy-" + name.replace("+", "plus").replace("-2", "minus2")


def _record(record_id: str, data: bytes, **extra: Any) -> dict[str, Any]:
    hashes = hash_image(data)
    return {
        "id": record_id,
        "type": "media_hash",
        "md5": hashes.md5,
        "sha1": hashes.sha1,
        "pdq": hashes.pdq,
        "pdq_quality": hashes.quality,
        "filename": f"{record_id}.img",
        "created": "2025-05-01",
        **extra,
    }


class Node:
    """The holder's node, searched by "asker" with signed requests."""

    def __init__(self, stack: Stack, target: str) -> None:
        self.stack = stack
        self.channel = grpc.insecure_channel(target)
        self.stub = search_pb2_grpc.SearchNodeStub(self.channel)

    def search(self, query: search_pb2.Query) -> search_pb2.SearchResponse:
        request = signed(self.stack.fed, "asker", "held", query)
        return opened(self.stack.fed, "held", self.stub.Search(request, timeout=10))


@pytest.fixture(scope="module")
def node(opensearch_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    root = tmp_path_factory.mktemp("images-node")
    specs = [
        AgencySpec("asker", "Asking Agency", "CA"),
        AgencySpec("held", "Holder", "CA", policy=OPEN),
    ]
    records = [_record(_id(name), _file(name)) for name in [*SURVIVING, "mirror"]]
    records += [
        _record(f"other-{seed}", scenes.encode(scenes.draw_scene(seed))) for seed in (50, 51)
    ]
    records.append(
        {**_record("described", _file("jpeg_q40")), "description": "seized from a cloud drive"}
    )
    with local_stack(opensearch_url, root, specs, index_prefix="img", drop_indices=True) as stack:
        stack.ingest({"held": records})
        running = stack.start_node("held")
        client = Node(stack, running.target)
        yield client
        client.channel.close()


def _image(data: bytes, *, dihedral: bool = False, **options: Any) -> search_pb2.Query:
    hashes = hash_image(data, dihedral=dihedral)
    return search_pb2.Query(
        image=search_pb2.ImageQuery(pdq=list(hashes.dihedral or [hashes.pdq]), **options)
    )


def _distances(response: search_pb2.SearchResponse) -> dict[str, int]:
    return {hit.record_id: hit.distance for hit in response.hits}


def test_edited_copies_are_found_nearest_first_with_their_distances(node: Node) -> None:
    original = hash_image(_file("original")).pdq
    response = node.search(_image(_file("original")))
    found = _distances(response)
    assert set(found) == {_id(name) for name in SURVIVING} | {"described"}
    for hit in response.hits:
        assert hit.HasField("distance")
        stored = hit.record.media_hash.pdq
        assert hit.distance == pdq.hamming(original, stored) <= pdq.MATCH_THRESHOLD
    assert [h.distance for h in response.hits] == sorted(h.distance for h in response.hits)
    assert response.total_hits == len(found)
    assert "copy-mirror" not in found and "other-50" not in found  # > 31 bits away


def test_a_mirrored_copy_is_found_through_the_dihedral_hashes(node: Node) -> None:
    response = node.search(_image(_file("original"), dihedral=True))
    mirror = next(h for h in response.hits if h.record_id == "copy-mirror")
    assert mirror.distance <= pdq.MATCH_THRESHOLD
    assert pdq.DIHEDRAL_NAMES[mirror.matched_pdq] == "mirrored"
    assert {h.record_id for h in response.hits} >= {_id(name) for name in SURVIVING}


def test_the_distance_bounds_the_answer(node: Node) -> None:
    exact = node.search(_image(_file("jpeg_q40"), max_distance=0))
    assert sorted(_distances(exact)) == ["copy-jpeg_q40", "described"]
    assert set(_distances(exact).values()) == {0}
    wide = node.search(_image(_file("original"), max_distance=64))
    assert all(d <= 64 for d in _distances(wide).values())
    assert "other-50" not in _distances(wide)  # unrelated pictures are 90 bits or more apart


def test_an_identical_file_is_found_by_md5_or_sha1_at_distance_zero(node: Node) -> None:
    data = _file("resize_50")
    hashes = hash_image(data)
    for image, value in (
        (search_pb2.ImageQuery(md5=hashes.md5), hashes.md5),
        (search_pb2.ImageQuery(sha1=hashes.sha1), hashes.sha1),
    ):
        response = node.search(search_pb2.Query(image=image))
        assert [(h.record_id, h.distance) for h in response.hits] == [("copy-resize_50", 0)]
        assert [s.value for s in response.hits[0].matched_selectors] == [value]


def test_image_and_text_must_both_match_and_distance_ranks_first(node: Node) -> None:
    query = _image(_file("original"))
    query.text = "cloud drive"
    assert list(_distances(node.search(query))) == ["described"]
    query.text = "nothing like this"
    assert node.search(query).hits == []


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (search_pb2.ImageQuery(pdq=["abc"]), "image.pdq[0]: pdq hash must be 64 hex"),
        (search_pb2.ImageQuery(pdq=["0" * 64], max_distance=65), "image.max_distance must be"),
        (search_pb2.ImageQuery(), "image: give at least one of: pdq, md5, sha1"),
    ],
)
def test_a_bad_image_query_is_invalid_argument_naming_the_field(
    node: Node, image: search_pb2.ImageQuery, message: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        node.search(search_pb2.Query(image=image))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert message in (caught.value.details() or "")


# --- exact recall over 100,000 stored hashes ----------------------------------------------------

STORED = 100_000
QUERIES = 6


def _flip(value: int, rng: random.Random, count: int) -> int:
    for position in rng.sample(range(256), count):
        value ^= 1 << position
    return value


def _spread(value: int, rng: random.Random, distance: int) -> int:
    """``distance`` bits flipped as evenly over the 16 chunks as can be: each chunk just at its
    radius or one past it, the hardest case for the pigeonhole argument."""
    per_chunk = [distance // 16 + (1 if i < distance % 16 else 0) for i in range(16)]
    rng.shuffle(per_chunk)
    for chunk, count in enumerate(per_chunk):
        for bit in rng.sample(range(16), count):
            value ^= 1 << (chunk * 16 + bit)
    return value


def _document(number: int, value: int) -> dict[str, Any]:
    text = f"{value:064x}"
    return {
        "record_id": f"r{number}",
        "type": "media_hash",
        "created": "2025-01-01",
        "selectors": [f"pdq:{text}"],
        **images.index_fields([f"pdq:{text}"]),
    }


@pytest.fixture(scope="module")
def hundred_thousand(
    opensearch_url: str,
) -> Iterator[tuple[OpenSearch, IndexNames, list[int], list[int]]]:
    rng = random.Random(2026)
    stored = [rng.getrandbits(256) for _ in range(STORED)]
    queries = [rng.getrandbits(256) for _ in range(QUERIES)]
    for query in queries:  # two neighbours at every distance 0 ... 64, and a few just beyond
        for distance in range(pdq.MAX_DISTANCE + 1):
            stored += [_flip(query, rng, distance), _spread(query, rng, distance)]
        stored += [_spread(query, rng, pdq.MAX_DISTANCE + 1), _flip(query, rng, 70)]
    client = connect(opensearch_url, timeout_s=120)
    names = IndexNames("recall", f"a{rng.getrandbits(32):08x}")
    ensure_index(client, names)
    client.indices.put_settings(index=names.index, body={"refresh_interval": "-1"})
    started = time.monotonic()
    actions = (
        {"_index": names.index, "_id": f"r{n}", "_source": _document(n, v)}
        for n, v in enumerate(stored)
    )
    for ok, item in helpers.parallel_bulk(client, actions, thread_count=2, chunk_size=5000):
        assert ok, item
    client.indices.refresh(index=names.index)
    client.indices.put_settings(index=names.index, body={"refresh_interval": "1s"})
    print(f"indexed {len(stored)} hashes in {time.monotonic() - started:.1f} s")
    yield client, names, stored, queries
    client.indices.delete(index=names.index, ignore_unavailable=True)
    client.indices.delete_index_template(name=names.template, ignore=[404])
    client.close()


def _check(result: Any, truth: dict[str, int]) -> None:
    """Every record within the distance is counted, and the nearest come back (up to the
    limit, 100), each at its own distance; nothing beyond it."""
    assert result.total == len(truth) and not result.total_is_lower_bound
    found = {hit.record_id: hit.distance for hit in result.hits}
    assert all(truth.get(record) == d for record, d in found.items())
    assert [h.distance for h in result.hits] == sorted(truth.values())[:100]
    if len(truth) <= 100:
        assert found == truth


@pytest.mark.parametrize("distance", [0, 1, 8, 16, 24, 31, 32, 48, 64])
def test_recall_is_exact_against_a_brute_force(
    hundred_thousand: tuple[OpenSearch, IndexNames, list[int], list[int]], distance: int
) -> None:
    client, names, stored, queries = hundred_thousand
    for query in queries:
        text = f"{query:064x}"
        truth = {f"r{n}": (v ^ query).bit_count() for n, v in enumerate(stored)}
        truth = {k: d for k, d in truth.items() if d <= distance}
        assert len(truth) >= 2 * (distance + 1)  # the planted ones
        wanted = SearchQuery(image=ImageQuery(pdq=(text,), max_distance=distance), limit=100)
        body = build_body(wanted)
        raw = client.search(index=names.alias, body=body)
        _check(parse_response(wanted, raw), truth)


def test_recall_is_exact_for_several_query_hashes(
    hundred_thousand: tuple[OpenSearch, IndexNames, list[int], list[int]],
) -> None:
    client, names, stored, queries = hundred_thousand
    texts = tuple(f"{q:064x}" for q in queries[:3])
    wanted = SearchQuery(image=ImageQuery(pdq=texts, max_distance=20), limit=100)
    result = parse_response(wanted, client.search(index=names.alias, body=build_body(wanted)))
    nearest = {f"r{n}": min((v ^ q).bit_count() for q in queries[:3]) for n, v in enumerate(stored)}
    _check(result, {k: d for k, d in nearest.items() if d <= 20})


def test_past_the_terms_limit_every_hash_is_scored(
    hundred_thousand: tuple[OpenSearch, IndexNames, list[int], list[int]],
) -> None:
    """Eight hashes at 64 bits would need 103,776 chunk values: the whole index is scored."""
    client, names, stored, queries = hundred_thousand
    texts = tuple(f"{q:064x}" for q in queries[:1]) + tuple(
        f"{random.Random(i).getrandbits(256):064x}" for i in range(7)
    )
    wanted = SearchQuery(image=ImageQuery(pdq=texts, max_distance=64), limit=100)
    body = build_body(wanted)
    assert "exists" in str(body["query"])
    result = parse_response(wanted, client.search(index=names.alias, body=body))
    nearest = {
        f"r{n}": min((v ^ int(t, 16)).bit_count() for t in texts) for n, v in enumerate(stored)
    }
    _check(result, {k: d for k, d in nearest.items() if d <= 64})


# --- an index written before the image fields ---------------------------------------------------


def test_an_older_index_gains_the_image_fields_and_its_hashes_are_found(
    opensearch_url: str, tmp_path: Path
) -> None:
    client = connect(opensearch_url)
    names = IndexNames("older", f"a{random.getrandbits(32):08x}")
    value = hash_image(_file("original")).pdq
    old_mapping = {
        **MAPPING,
        "properties": {k: v for k, v in MAPPING["properties"].items() if not k.startswith("pdq_")},
    }
    try:
        settings = index_template(names)["template"]["settings"]
        client.indices.create(
            index=names.index,
            body={"settings": settings, "mappings": old_mapping, "aliases": {names.alias: {}}},
        )
        client.index(
            index=names.index,
            id="old-1",
            body={"record_id": "old-1", "type": "media_hash", "selectors": [f"pdq:{value}"]},
            refresh=True,
        )
        ensure_index(client, names)
        mapping = client.indices.get_mapping(index=names.index)[names.index]["mappings"]
        assert "pdq_c16" in mapping["properties"]
        wanted = SearchQuery(image=ImageQuery(pdq=(value,)))
        result = parse_response(wanted, client.search(index=names.alias, body=build_body(wanted)))
        assert [(h.record_id, h.distance) for h in result.hits] == [("old-1", 0)]
        ensure_index(client, names)  # again: nothing left to do
    finally:
        client.indices.delete(index=names.index, ignore_unavailable=True)
        client.indices.delete_index_template(name=names.template, ignore=[404])
        client.close()
