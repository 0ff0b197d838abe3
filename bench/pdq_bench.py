"""Benchmark near-duplicate image search: PDQ queries at one node, ``cets hash``, and what PDQ
survives.

    .venv/bin/python bench/pdq_bench.py                       # 1,000,000 hashes (~15 minutes)
    .venv/bin/python bench/pdq_bench.py --hashes 100000 --queries 50 --seeds 20   # quick

1. **Search.** A real OpenSearch (the project's launcher) holds ``--hashes`` uniformly random
   PDQ hashes as the node indexes them, plus, for every query hash, neighbours planted at
   distances up to 31 (so answers are not empty); the index is force-merged to one segment, as
   a large index settles. The agency's search node (signatures, policy, audit log and all)
   answers signed gRPC searches one at a time, kinds interleaved, each with a fresh query hash:
   an exact PDQ lookup (``pdq:`` selector), near duplicates within 16, 31 and 64 bits, and
   within 31 bits with the eight dihedral hashes. Candidates examined per query (records the
   chunk filter selects, each then scored exactly) are counted apart, untimed.
2. **Hashing.** ``cets hash`` (the command itself, in a subprocess) over ``--images`` drawn
   512 x 384 JPEG scenes, with one process and with one per CPU: images per second.
3. **Transformations.** For ``--seeds`` drawn scenes, the distance of each edited copy to the
   original (as files: PNG, the JPEG one as JPEG), a mirror through the dihedral hashes, and
   unrelated scenes.

Results go to ``bench/results/pdq-<hashes>-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
from _common import UNLIMITED, header, machine, over_rounds, shown, stats, write
from opensearchpy import helpers

from cets.common.imagehash import hash_image
from cets.common.keys import load_private_key
from cets.common.signing import signed_request
from cets.core import pdq
from cets.core.convert import image_from_proto
from cets.demo import scenes
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.search import images
from cets.search.background import BackgroundNode
from cets.search.embedded_opensearch import EmbeddedOpenSearch, OpenSearchSettings
from cets.search.index import ensure_index
from cets.search.store import connect
from cets.v1 import records_pb2, search_pb2, search_pb2_grpc

KINDS = (
    "exact PDQ",
    "near, 16 bits",
    "near, 31 bits",
    "near, 31 bits, 8 dihedral",
    "near, 64 bits",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100, help="per kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=int, default=400, help="images cets hash hashes")
    parser.add_argument("--seeds", type=int, default=100, help="scenes for the transformations")
    parser.add_argument("--heap-mb", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()

    transforms = _transformations(args.seeds)
    hashing = _hashing(args.images)
    search = _search(args)
    report = {
        "machine": machine(),
        "hashes": args.hashes,
        "heap_mb": args.heap_mb,
        **search,
        "hashing": hashing,
        "transformations": transforms,
    }
    _write(report)
    return 0


# --- search ------------------------------------------------------------------------------------


def _document(record_id: str, value: str) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "type": "media_hash",
        "created": "2025-01-01T00:00:00Z",
        "handling": "amber",
        "selectors": [f"pdq:{value}"],
        "body": {"pdq": value},
        **images.index_fields([f"pdq:{value}"]),
    }


def _flip(value: int, rng: random.Random, count: int) -> int:
    for position in rng.sample(range(256), count):
        value ^= 1 << position
    return value


def _search(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    wanted = args.queries * args.rounds + 20  # and a warm-up
    queries = [f"{rng.getrandbits(256):064x}" for _ in range(wanted)]
    settings = OpenSearchSettings(cluster_name="cets-bench-pdq", heap_mb=args.heap_mb)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedOpenSearch(settings) as engine:
        fed = build_local_federation(
            Path(tmp) / "federation", [AgencySpec("held", "Holder"), AgencySpec("bench", "Bench")]
        )
        config = replace(fed.agency("held").node_config(engine.url), rate_limit=UNLIMITED)
        client = connect(engine.url, timeout_s=600)
        ensure_index(client, config.index)
        index = config.index.index
        client.indices.put_settings(index=index, body={"refresh_interval": "-1"})

        def documents() -> Any:
            for number in range(args.hashes):
                value = f"{rng.getrandbits(256):064x}"
                record = f"m{number}"
                yield {"_index": index, "_id": record, "_source": _document(record, value)}
            for q, query in enumerate(queries):  # itself and four neighbours within 31 bits
                for k in range(5):
                    value = f"{_flip(int(query, 16), rng, rng.randint(1, 31) if k else 0):064x}"
                    record = f"q{q}-{k}"
                    yield {"_index": index, "_id": record, "_source": _document(record, value)}

        started = time.monotonic()
        for ok, item in helpers.parallel_bulk(client, documents(), thread_count=2, chunk_size=5000):
            if not ok:
                raise RuntimeError(f"bulk refused a document: {item}")
        client.indices.refresh(index=index)
        load_s = time.monotonic() - started
        started = time.monotonic()
        client.indices.forcemerge(index=index, max_num_segments=1, request_timeout=1800)
        client.indices.put_settings(index=index, body={"refresh_interval": "1s"})
        merge_s = time.monotonic() - started
        candidates = _candidates(client, index, queries[20 : 20 + min(50, args.queries)])
        client.close()
        with BackgroundNode(config) as node:
            rounds = _run(node.target, fed, queries, args.queries, args.rounds)
    latency = {k: over_rounds([stats(r[k]) for r in rounds]) for k in KINDS}
    took = {k: over_rounds([stats(r[f"{k} took"]) for r in rounds]) for k in KINDS}
    p50 = {k: v["p50"]["median"] for k, v in latency.items()}
    exact = max(p50["exact PDQ"], 0.01)
    return {
        "load_s": round(load_s, 1),
        "merge_s": round(merge_s, 1),
        "rounds": args.rounds,
        "latency_ms": latency,
        "took_ms": took,
        "candidates": candidates,
        "terms": {k: _terms(k) for k in KINDS},
        "ratio_to_exact_p50": {k: round(v / exact, 2) for k, v in p50.items()},
    }


def _image(kind: str, value: str) -> search_pb2.Query:
    if kind == "exact PDQ":
        selector = records_pb2.Selector(kind=records_pb2.SELECTOR_KIND_PDQ, value=value)
        return search_pb2.Query(selectors=[selector], limit=20)
    distance = int(kind.split(", ")[1].split()[0])
    hashes = [value]
    if "dihedral" in kind:  # seven more, as an image's variants would be: unrelated hashes
        rng = random.Random(value)
        hashes += [f"{rng.getrandbits(256):064x}" for _ in range(7)]
    image = search_pb2.ImageQuery(pdq=hashes, max_distance=distance)
    return search_pb2.Query(image=image, limit=20)


def _terms(kind: str) -> int:
    if kind == "exact PDQ":
        return 1
    distance = int(kind.split(", ")[1].split()[0])
    return pdq.query_term_count(distance) * (8 if "dihedral" in kind else 1)


def _candidates(client: Any, index: str, queries: list[str]) -> dict[str, Any]:
    """Records the chunk filter selects (each scored exactly), per query: median and max."""
    found: dict[str, Any] = {}
    for kind in KINDS[1:]:
        counts = []
        for value in queries:
            image = _image(kind, value).image
            clause = images.image_clause(image_from_proto(image))
            terms = clause["script_score"]["query"]
            counts.append(client.count(index=index, body={"query": terms})["count"])
        found[kind] = {"median": int(statistics.median(counts)), "max": max(counts)}
    found["exact PDQ"] = {"median": 1, "max": 1}
    return found


def _run(
    target: str, fed: LocalFederation, queries: list[str], per_round: int, rounds: int
) -> list[dict[str, list[float]]]:
    key = load_private_key(fed.agency("bench").directory / "agency.key")

    def request(query: search_pb2.Query) -> search_pb2.SearchRequest:
        return signed_request(
            query,
            requester="bench",
            audience="held",
            key=key,
            officer_id="bench-1",
            purpose="benchmark",
            case_reference="BENCH-1",
            created=time.time(),
            validity_s=60,
        )

    with grpc.insecure_channel(target) as channel:
        stub = search_pb2_grpc.SearchNodeStub(channel)
        for value in queries[:20]:  # warm-up
            for kind in KINDS:
                stub.Search(request(_image(kind, value)), timeout=30)
        results: list[dict[str, list[float]]] = []
        for number in range(rounds):
            figures: dict[str, list[float]] = {}
            for i in range(20 + number * per_round, 20 + (number + 1) * per_round):
                for kind in KINDS:  # interleaved: drift hits every kind
                    signed = request(_image(kind, queries[i]))
                    started = time.perf_counter()
                    sealed = stub.Search(signed, timeout=30)
                    elapsed = (time.perf_counter() - started) * 1000
                    answer = search_pb2.SearchResponse.FromString(sealed.answer)
                    if not answer.hits:
                        raise RuntimeError(f"{kind}: a planted neighbour was not found")
                    figures.setdefault(kind, []).append(elapsed)
                    figures.setdefault(f"{kind} took", []).append(float(answer.took_ms))
            results.append(figures)
    return results


# --- hashing -----------------------------------------------------------------------------------


def _hashing(count: int) -> dict[str, Any]:
    jobs = sorted({1, os.cpu_count() or 1})
    found: dict[str, Any] = {"images": count, "format": "JPEG 512 x 384, quality 90"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        for n in range(count):
            picture = scenes.draw_scene(10_000 + n)
            (folder / f"{n:05d}.jpg").write_bytes(scenes.encode(picture, "JPEG", quality=90))
        cets = Path(sys.executable).with_name("cets")
        for job in jobs:
            started = time.monotonic()
            done = subprocess.run(
                [
                    *(str(cets), "hash", str(folder), "-o", str(Path(tmp) / "out.ndjson")),
                    *("--jobs", str(job), "--no-progress"),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                raise RuntimeError(f"cets hash failed: {done.stderr[-500:]}")
            seconds = time.monotonic() - started
            found[f"jobs={job}"] = {"seconds": round(seconds, 2), "per_s": round(count / seconds)}
    return found


# --- transformations ---------------------------------------------------------------------------


def _transformations(seeds: int) -> dict[str, Any]:
    distances: dict[str, list[int]] = {name: [] for name in scenes.TRANSFORMS}
    distances["mirror, nearest dihedral hash"] = []
    originals = []
    for seed in range(seeds):
        picture = scenes.draw_scene(seed)
        original = hash_image(scenes.encode(picture), dihedral=True)
        originals.append(original.pdq)
        for name in scenes.TRANSFORMS:
            edited = scenes.transform(picture, name)
            data = scenes.encode(edited, "JPEG" if name == "jpeg_q40" else "PNG")
            copy = hash_image(data).pdq
            distances[name].append(pdq.hamming(original.pdq, copy))
            if name == "mirror":
                nearest, _ = pdq.nearest(copy, original.dihedral)
                distances["mirror, nearest dihedral hash"].append(nearest)
    pairs = [pdq.hamming(a, b) for a, b in itertools.combinations(originals, 2)]
    table = {
        name: {
            "min": min(values),
            "median": statistics.median(values),
            "max": max(values),
            "within_31": round(sum(v <= pdq.MATCH_THRESHOLD for v in values) / len(values), 2),
        }
        for name, values in distances.items()
    }
    table["unrelated scenes (pairs)"] = {
        "min": min(pairs) if pairs else 0,
        "median": statistics.median(pairs) if pairs else 0,
        "max": max(pairs) if pairs else 0,
        "within_31": round(sum(p <= pdq.MATCH_THRESHOLD for p in pairs) / max(1, len(pairs)), 2),
    }
    return {"seeds": seeds, "table": table}


# --- the report --------------------------------------------------------------------------------


def _write(report: dict[str, Any]) -> None:
    hashing = report["hashing"]
    lines = [
        f"# Near-duplicate image search, {report['hashes']:,} PDQ hashes at one node",
        "",
        header(report["machine"]) + f" · heap {report['heap_mb']} MiB",
        "",
        f"Bulk load {report['load_s']} s, force-merge to one segment {report['merge_s']} s. "
        "Signed searches over gRPC, one at a time, kinds interleaved, a fresh random query hash "
        f"each (uniformly random stored hashes); {report['rounds']} rounds, each figure the "
        "median over the rounds [lowest, highest round]. *took*: OpenSearch's own time. "
        "*candidates*: records the chunk filter selects, each scored exactly (median, max).",
        "",
        "| query | chunk values | candidates | p50 ms | p99 ms | took p50 ms | p50 / exact |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in KINDS:
        s, took, c = report["latency_ms"][kind], report["took_ms"][kind], report["candidates"][kind]
        lines.append(
            f"| {kind} | {report['terms'][kind]:,} | {c['median']:,} ({c['max']:,}) "
            f"| {shown(s['p50'])} | {shown(s['p99'])} | {shown(took['p50'])} "
            f"| {report['ratio_to_exact_p50'][kind]} |"
        )
    lines += [
        "",
        f"`cets hash`: {hashing['images']} images ({hashing['format']}), the whole command:",
        "",
        "| processes | seconds | images/s |",
        "|---|---|---|",
    ]
    for key, value in hashing.items():
        if key.startswith("jobs="):
            lines.append(f"| {key.removeprefix('jobs=')} | {value['seconds']} | {value['per_s']} |")
    transforms = report["transformations"]
    lines += [
        "",
        f"PDQ distance of an edited copy to the original, {transforms['seeds']} drawn scenes:",
        "",
        "| transformation | min | median | max | share within 31 |",
        "|---|---|---|---|---|",
    ]
    for name, row in transforms["table"].items():
        lines.append(
            f"| {name} | {row['min']} | {row['median']} | {row['max']} | {row['within_31']} |"
        )
    write(f"pdq-{report['hashes']}", report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
