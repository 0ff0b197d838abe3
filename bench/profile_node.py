"""Where one agency's search node spends its time answering signed searches: a py-spy profile.

    .venv/bin/python bench/profile_node.py                  # 20,000 records, 20 s of samples
    .venv/bin/python bench/profile_node.py --records 5000 --seconds 10

It ingests synthetic records into a real local OpenSearch, starts the node in this process
(signature checks, policy, audit log and all), sends signed searches of each kind one at a
time from a client thread, and samples the whole process with py-spy (which needs ptrace:
root, or ``CAP_SYS_PTRACE``). Each sample of the node's threads is put in the first group
whose code is on its stack; the client's own samples are left out. The raw samples are kept
beside the table (``profile-node-<date>.txt``, one folded stack per line).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import node_bench as nb
from _common import bench_key, bench_request, header, machine, one_agency_node, write

from cets.search.background import BackgroundNode
from cets.search.embedded_opensearch import (
    EmbeddedOpenSearch,
    OpenSearchSettings,
    ensure_distribution,
)
from cets.v1 import search_pb2_grpc

CLIENT = "_client_loop (profile_node.py"
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("check request: Ed25519 verify", ("_verify (common/signing.py",)),
    ("check request: canonical bytes", ("request_bytes (common/signing.py",)),
    ("check request: the rest", ("guard.py",)),
    ("OpenSearch call (client, HTTP)", ("search/client.py", "opensearchpy/", "aiohttp/")),
    ("build the OpenSearch query", ("search/dsl.py", "search/policy.py")),
    ("answer: hits to protobuf", ("core/convert.py",)),
    ("sign the answer", ("sign_answer (common/signing.py",)),
    ("audit log", ("common/audit/",)),
    ("gRPC server", ("grpc/_cython", "grpc/aio/_server", "grpc/_server")),
    ("node service (other)", ("search/service.py", "search/answering.py")),
    ("event loop and other", ("",)),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    ensure_distribution()
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-profile", heap_mb=512)) as engine,
    ):
        fed, config, sample = one_agency_node(Path(tmp), engine.url, args.records, args.seed)
        queries = nb._queries(sample, random.Random(args.seed), 200)
        mixed = [q for group in zip(*queries.values(), strict=True) for q in group]
        key = bench_key(fed)
        out = Path(tmp) / "samples.txt"
        with BackgroundNode(config) as node:
            stop = threading.Event()
            done: list[int] = []
            worker = threading.Thread(
                target=_client_loop, args=(node.target, key, config.agency_id, mixed, stop, done)
            )
            worker.start()
            time.sleep(2)  # warm up
            spy_args = [spy, "record", "--pid", str(os.getpid()), "--rate", "200"]
            spy_args += ["--duration", str(int(args.seconds)), "--format", "raw", "-o", str(out)]
            subprocess.run(spy_args, check=True, capture_output=True)
            before = done[0]
            stop.set()
            worker.join()
        folded = out.read_text()
    groups, total = _group(folded)
    report = {
        "machine": machine(),
        "records": args.records,
        "seconds": args.seconds,
        "searches": before,
        "samples": total,
        "groups": groups,
    }
    md = header(report["machine"]) + (
        f"\n\npy-spy at 200 Hz, {total} samples of the node's threads over {args.seconds:.0f} s "
        f"of back-to-back signed searches (text, selector, name, text+filters interleaved; "
        f"{args.records:,} records). A sample counts in the first group whose code is on its "
        "stack; the benchmark client's own samples are left out.\n\n"
        "| where | share of samples |\n|---|---|\n"
        + "".join(f"| {name} | {share:.0%} |\n" for name, share in groups.items())
    )
    path = write("profile-node", report, "# Search node profile\n\n" + md)
    path.with_suffix(".txt").write_text(folded)
    return 0


def _client_loop(
    target: str, key: Any, audience: str, queries: list[Any], stop: threading.Event, done: list[int]
) -> None:
    done.append(0)
    with grpc.insecure_channel(target) as channel:
        stub = search_pb2_grpc.SearchNodeStub(channel)
        i = 0
        while not stop.is_set():
            request = bench_request(queries[i % len(queries)], audience, key)
            stub.Search(request, timeout=10)
            i += 1
            done[0] = i


def _group(folded: str) -> tuple[dict[str, float], int]:
    counts: Counter[str] = Counter()
    for line in folded.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or CLIENT in stack or "idle" in stack:
            continue
        name = next(g for g, marks in GROUPS if any(m in stack for m in marks))
        counts[name] += int(n)
    total = sum(counts.values())
    return {g: counts[g] / total for g, _ in GROUPS if counts[g]}, total


if __name__ == "__main__":
    raise SystemExit(main())
