"""What every benchmark shares: percentiles, the machine it ran on, writing results."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cets.common.keys import load_private_key
from cets.common.signing import signed_request
from cets.core.records import IngestContext
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.search.config import NodeConfig
from cets.search.embedded_opensearch import DEFAULT_VERSION, find_java
from cets.search.ingest import ingest_file
from cets.search.sample_data import DEMO_AGENCIES, write_sample
from cets.search.store import connect
from cets.v1 import search_pb2

UNLIMITED = "1000000/minute"
"""The nodes' per-agency rate limit in benchmarks, which measure capacity, not the limit."""

RESULTS = Path(__file__).resolve().parent / "results"
# What a result measures: a change here that is not committed is marked on the result.
_MEASURED_CODE = ("services", "protos", "bench/*.py", "pyproject.toml", "constraints.txt")
"""Where results go; ``CETS_BENCH_RESULTS`` redirects them (the smoke run uses a temp dir)."""


def stats(values: list[float]) -> dict[str, float]:
    """n, p50, p99 and max of ``values`` (milliseconds or microseconds, as given)."""
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "max": round(ordered[-1], 2),
    }


def wait_serving(channel: grpc.Channel, alive: Callable[[], bool], *, until: float) -> bool:
    """Poll gRPC health over ``channel`` until it reports SERVING (True), or the process
    behind it has died (``alive()`` false) or ``time.monotonic()`` passes ``until`` (False)."""
    health = health_pb2_grpc.HealthStub(channel)
    while time.monotonic() < until and alive():
        try:
            reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return True
        except grpc.RpcError:
            pass
        time.sleep(0.1)
    return False


def merges_settled(
    client: Any, index: str, *, quiet_s: float = 3.0, timeout_s: float = 600.0
) -> float:
    """Wait until OpenSearch has run no merge on ``index`` for ``quiet_s`` (``client`` a
    synchronous opensearch-py client); returns the seconds waited.

    A bulk ingest leaves many segments, and OpenSearch may still be merging them in the
    background when it returns (a merge of most of a 1M-record index can take tens of seconds
    on two cores). Searches timed during one measure the merge's use of the cores as much as
    the search; searches of a node at rest are timed once it is over.
    """
    started = quiet_since = time.monotonic()
    while (now := time.monotonic()) - started < timeout_s:
        found = client.indices.stats(index=index, metric="merge")
        running = sum(
            entry["total"]["merges"]["current"] for entry in found.get("indices", {}).values()
        )
        if running:
            quiet_since = now
        elif now - quiet_since >= quiet_s:
            return round(quiet_since - started, 1)
        time.sleep(0.5)
    raise RuntimeError(f"OpenSearch was still merging {index} after {timeout_s:.0f} s")


def stop_process(process: subprocess.Popen[bytes], *, grace_s: float) -> int | None:
    """Stop ``process``: SIGTERM, then SIGKILL after ``grace_s``. Its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.returncode


def serve_cets(
    args: list[str], env: dict[str, str], *, target: str, log: Path, timeout_s: float = 120
) -> subprocess.Popen[bytes]:
    """``cets ARGS...`` (``node serve``, ``federation serve``) as a process of its own with
    these settings and no other ``CETS_*`` ones, once it reports SERVING on ``target``; its
    output goes to ``log``. The caller stops it (:func:`stop_process`)."""
    cets = Path(sys.executable).parent / "cets"
    settings = {k: v for k, v in os.environ.items() if not k.startswith("CETS_")} | env
    with log.open("wb") as out:
        process = subprocess.Popen([str(cets), *args], env=settings, stdout=out, stderr=out)
    with grpc.insecure_channel(target) as channel:
        up = wait_serving(
            channel, lambda: process.poll() is None, until=time.monotonic() + timeout_s
        )
    if not up:
        stop_process(process, grace_s=5)
        raise RuntimeError(f"cets {' '.join(args)} did not start:\n{log.read_text()[-2000:]}")
    return process


CLK_TCK = os.sysconf("SC_CLK_TCK")


def pid_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far, all its threads (from /proc);
    0.0 once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def spread(values: list[float], digits: int = 2) -> dict[str, Any]:
    """The median of ``values`` (one per round), the lowest and highest, and every value."""

    def r(value: float) -> float:
        return round(value, digits) if digits else round(value)

    return {
        "median": r(statistics.median(values)),
        "low": r(min(values)),
        "high": r(max(values)),
        "runs": [r(v) for v in values],
    }


def over_rounds(per_round: list[dict[str, float]]) -> dict[str, Any]:
    """:func:`stats` of several rounds: each of p50, p99 and max as a :func:`spread`."""
    return {
        "n": sum(int(r["n"]) for r in per_round),
        **{key: spread([r[key] for r in per_round]) for key in ("p50", "p99", "max")},
    }


def shown(figure: dict[str, Any] | float) -> str:
    """A spread as table text: ``median [low, high]``; a single figure as it is."""
    if not isinstance(figure, dict):
        return f"{figure}"
    if figure["low"] == figure["high"]:
        return f"{figure['median']}"
    return f"{figure['median']} [{figure['low']}, {figure['high']}]"


def per_op_us(fn: Callable[[], object], runs: int = 2000) -> float:
    """Microseconds per call of ``fn``: the best of five timed batches of ``runs`` calls."""
    best = min(timeit.repeat(fn, number=runs, repeat=5))
    return round(best / runs * 1e6, 1)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    # Code that differs from the commit would otherwise be measured under its name.
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", *_MEASURED_CODE],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if changed:
        commit += "+uncommitted"
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "java": find_java().major,
        "opensearch": DEFAULT_VERSION,
        "commit": commit,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def header(m: dict[str, Any]) -> str:
    return (
        f"{m['date']} · commit {m['commit']} · {m['cpus']} CPUs ({m['cpu']}) · "
        f"{m['memory_gib']} GiB · Python {m['python']} · Java {m['java']} · "
        f"OpenSearch {m['opensearch']}"
    )


def write(name: str, report: dict[str, Any], markdown: str) -> Path:
    """Write ``bench/results/<name>-<date>.json`` and ``.md``; print the Markdown."""
    results = Path(os.environ.get("CETS_BENCH_RESULTS") or RESULTS)
    results.mkdir(parents=True, exist_ok=True)
    stem = results / f"{name}-{datetime.now(UTC):%Y%m%d}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown)
    print(markdown)
    return stem


def one_agency_node(
    root: Path, opensearch_url: str, records: int, seed: int
) -> tuple[LocalFederation, NodeConfig, Path]:
    """The first demo agency with ``records`` synthetic records ingested, and a ``bench``
    agency to search it: the federation, the agency's node settings (no rate limit) and the
    sample file."""
    agency = DEMO_AGENCIES[0]
    fed = build_local_federation(
        root / "federation",
        [AgencySpec(agency.id, agency.name, agency.region), AgencySpec("bench", "Bench")],
    )
    write_sample(root, [agency], records, seed=seed)
    sample = root / f"{agency.id}.ndjson"
    config = replace(fed.agency(agency.id).node_config(opensearch_url), rate_limit=UNLIMITED)
    client = connect(opensearch_url, timeout_s=120)
    try:
        ctx = IngestContext(agency.id, config.card_key, agency.region)
        ingest_file(sample, client=client, names=config.index, ctx=ctx)
    finally:
        client.close()
    return fed, config, sample


def bench_key(fed: LocalFederation) -> Ed25519PrivateKey:
    """The ``bench`` agency's signing key (load it once, not per request)."""
    return load_private_key(fed.agency("bench").directory / "agency.key")


def bench_request(
    query: search_pb2.Query, audience: str, key: Ed25519PrivateKey
) -> search_pb2.SearchRequest:
    """``query`` signed by the ``bench`` agency for ``audience``, as an officer would send it."""
    return signed_request(
        query,
        requester="bench",
        audience=audience,
        key=key,
        officer_id="bench-1",
        purpose="benchmark",
        case_reference="BENCH-1",
        created=time.time(),
        validity_s=60,
    )
