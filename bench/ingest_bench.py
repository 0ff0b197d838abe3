"""Benchmark ingest against OpenSearch's own ``_bulk`` ceiling, measured in the same run.

    .venv/bin/python bench/ingest_bench.py                          # 100k records, 3 rounds
    .venv/bin/python bench/ingest_bench.py --baseline b0888ba       # also an earlier commit
    .venv/bin/python bench/ingest_bench.py --records 20000 --rounds 1   # quick

One OpenSearch, one synthetic file. Every round times, each into a fresh index with the
node's template, in an order that rotates from round to round:

* **ceiling**: the same records, prepared beforehand and serialised into ``_bulk`` bodies,
  sent raw with the ingest's bulk size and requests in flight, and the same index settings
  during the bulk (so OpenSearch alone, no per-record Python work);
* **ingest**: ``ingest_file`` as ``cets ingest`` runs it (reading, validation, documents,
  bulk requests, the final refresh and count);
* **baseline** (with ``--baseline COMMIT``): the ingest of that commit, run from its source
  tree (``git archive``) in a child process on the same file and OpenSearch.

The machine is shared and has two cores, so absolute figures drift; the ratio of ingest to
the ceiling of the same round is the figure to compare. Results go to
``bench/results/ingest-<records>-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import header, machine, shown, spread, write

from cets.core.records import IngestContext
from cets.demo.local import AgencySpec, build_local_federation
from cets.search import ingest as ingest_module
from cets.search.embedded_opensearch import (
    EmbeddedOpenSearch,
    OpenSearchSettings,
    ensure_distribution,
)
from cets.search.index import IndexNames, ensure_index
from cets.search.preparing import Prepared, prepare_one
from cets.search.readers import read_lines
from cets.search.sample_data import DEMO_AGENCIES, write_sample
from cets.search.store import connect

REPO = Path(__file__).resolve().parent.parent
BATCH = int(getattr(ingest_module, "BULK_RECORDS", 500))
IN_FLIGHT = int(getattr(ingest_module, "BULK_IN_FLIGHT", 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--heap-mb", type=int, default=1024)
    parser.add_argument("--baseline", help="a commit whose ingest to time as well")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(*args.child)

    ensure_distribution()
    agency = DEMO_AGENCIES[0]
    settings = OpenSearchSettings(cluster_name="cets-bench-ingest", heap_mb=args.heap_mb)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedOpenSearch(settings) as engine:
        fed = build_local_federation(
            Path(tmp) / "federation", [AgencySpec(agency.id, agency.name, agency.region)]
        )
        write_sample(Path(tmp), [agency], args.records, seed=args.seed)
        sample = Path(tmp) / f"{agency.id}.ndjson"
        config = fed.agency(agency.id).node_config(engine.url)
        ctx = IngestContext(agency.id, config.card_key, agency.region)
        client = connect(engine.url, timeout_s=120)
        baseline = _layout(args.baseline, Path(tmp) / "baseline") if args.baseline else None
        bodies, documents = _bulk_bodies(sample, ctx)
        kinds = ["ceiling", "ingest"] + (["baseline"] if baseline else [])
        runs: dict[str, list[float]] = {kind: [] for kind in kinds}
        cpu: dict[str, dict[str, list[float]]] = {
            k: {"python": [], "opensearch": []} for k in kinds
        }
        group = engine.pid or 0
        for number in range(args.rounds):
            order = kinds[number % len(kinds) :] + kinds[: number % len(kinds)]
            for kind in order:
                names = IndexNames(config.index.prefix, f"{agency.id}-{kind}{number}")
                engine_cpu, own_cpu = _group_cpu(group), _python_cpu()
                if kind == "ceiling":
                    seconds = _ceiling(client, names, bodies, documents)
                    python_cpu = _python_cpu() - own_cpu
                elif kind == "ingest":
                    seconds = _ingest(client, names, sample, ctx)
                    python_cpu = _python_cpu() - own_cpu
                else:
                    assert baseline is not None
                    seconds, python_cpu = _baseline(
                        baseline, engine.url, names, sample, config.card_key
                    )
                cpu[kind]["opensearch"].append((_group_cpu(group) - engine_cpu) / documents * 1e6)
                cpu[kind]["python"].append(python_cpu / documents * 1e6)
                runs[kind].append(seconds)
                client.indices.delete(index=names.index)
                print(f"round {number + 1} {kind}: {documents / seconds:,.0f} records/s")
        client.close()
    rates = {kind: [documents / s for s in seconds] for kind, seconds in runs.items()}
    report: dict[str, Any] = {
        "machine": machine(),
        "records": args.records,
        "documents": documents,
        "batch": BATCH,
        "in_flight": IN_FLIGHT,
        "rounds": args.rounds,
        "baseline": args.baseline,
        "records_per_s": {kind: spread(values, digits=0) for kind, values in rates.items()},
        "cpu_us_per_record": {
            kind: {side: spread(values, 0) for side, values in sides.items()}
            for kind, sides in cpu.items()
        },
        "ratio_to_ceiling": {
            kind: spread([r / c for r, c in zip(values, rates["ceiling"], strict=True)], 3)
            for kind, values in rates.items()
            if kind != "ceiling"
        },
    }
    _write(report)
    return 0


def _bulk_bodies(sample: Path, ctx: IngestContext) -> tuple[list[bytes], int]:
    """The sample's good records as ``_bulk`` bodies of ``BATCH`` documents each (sent to
    ``/<index>/_bulk``, so the action lines name no index)."""
    lines: list[bytes] = []
    with sample.open("rb") as stream:
        for work in read_lines(stream):
            prepared = prepare_one(work, ctx)  # what the ingest sends for the line
            if isinstance(prepared, Prepared):
                lines.append(prepared.lines)
    bodies = [b"".join(lines[start : start + BATCH]) for start in range(0, len(lines), BATCH)]
    return bodies, len(lines)


def _ceiling(client: Any, names: IndexNames, bodies: list[bytes], expected: int) -> float:
    """Seconds to index the prepared bodies raw, refreshed and counted at the end."""
    ensure_index(client, names)
    started = time.monotonic()
    client.indices.put_settings(
        index=names.index, body={"index": {"refresh_interval": "-1", "number_of_replicas": 0}}
    )

    def send(body: bytes) -> None:
        answer = client.bulk(body=body, index=names.index, filter_path="errors")
        if answer.get("errors"):
            raise RuntimeError("the ceiling's bulk request had errors")

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        list(pool.map(send, bodies))
    client.indices.put_settings(index=names.index, body={"index": {"refresh_interval": None}})
    client.indices.refresh(index=names.index)
    count = int(client.count(index=names.index)["count"])
    seconds = time.monotonic() - started
    if count > expected:
        raise RuntimeError(f"the ceiling indexed {count} documents, expected {expected}")
    return seconds


def _ingest(client: Any, names: IndexNames, sample: Path, ctx: IngestContext) -> float:
    summary = ingest_module.ingest_file(sample, client=client, names=names, ctx=ctx)
    return summary.seconds


def _layout(commit: str, into: Path) -> Path:
    """The services of ``commit`` laid out as one ``cets`` package (plus today's generated
    protobuf modules), for ``PYTHONPATH``."""
    archive = subprocess.run(
        ["git", "archive", commit, "services"], cwd=REPO, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into / "src", filter="data")
    package = into / "path" / "cets"
    package.mkdir(parents=True)
    for part in (into / "src" / "services").glob("*/cets/*"):
        (package / part.name).symlink_to(part)
    (package / "v1").symlink_to(REPO / "protos" / "gen" / "cets" / "v1")
    return into / "path"


def _python_cpu() -> float:
    """CPU seconds of this process and of its finished children (the ingest's worker
    processes, which have ended by the time an ingest returns)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _group_cpu(group: int) -> float:
    """CPU seconds used so far by the processes of one process group (OpenSearch's)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _baseline(
    path: Path, url: str, names: IndexNames, sample: Path, key: bytes
) -> tuple[float, float]:
    """Seconds the baseline's ingest took, and the CPU seconds its process and its worker
    processes used for it."""
    env = {**os.environ, "PYTHONPATH": str(path)}
    child = [sys.executable, __file__, "--child", url, names.prefix, names.agency]
    done = subprocess.run(
        [*child, str(sample), key.hex()], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["cpu"])


def _child(url: str, prefix: str, agency: str, sample: str, key: str) -> int:
    """Ingest with whichever ``cets`` this process imports (the baseline's)."""
    client = connect(url, timeout_s=120)
    ctx = IngestContext(agency.split("-")[0], bytes.fromhex(key), DEMO_AGENCIES[0].region)
    own_cpu = _python_cpu()
    summary = ingest_module.ingest_file(
        Path(sample), client=client, names=IndexNames(prefix, agency), ctx=ctx
    )
    cpu = _python_cpu() - own_cpu
    print(json.dumps({"seconds": summary.seconds, "cpu": cpu, "indexed": summary.indexed}))
    return 0


def _write(report: dict[str, Any]) -> None:
    rates, ratios = report["records_per_s"], report["ratio_to_ceiling"]
    lines = [
        f"# Ingest benchmark, {report['records']:,} records",
        "",
        header(report["machine"]),
        "",
        f"{report['documents']:,} documents; bulk requests of {report['batch']} records, "
        f"{report['in_flight']} in flight; {report['rounds']} rounds, kinds alternated; "
        "each figure the median [lowest, highest round]. Other work on the machine moves "
        "absolute figures: compare ratios to the ceiling of the same round, not absolute "
        "figures across runs.",
        "",
        "CPU is per record: Python's (the ingest process and its worker processes: reading, "
        "validation, documents, requests; the ceiling's only sends) and OpenSearch's (its "
        "process group), less sensitive to the other work on the machine than time is.",
        "",
        "| run | records/s | ratio to ceiling | Python CPU µs/record | OpenSearch CPU µs/record |",
        "|---|---|---|---|---|",
    ]
    cpu = report["cpu_us_per_record"]
    shown_names = {
        "ceiling": "ceiling: OpenSearch `_bulk`, prepared bodies",
        "ingest": "ingest (`ingest_file`)",
        "baseline": f"baseline, commit {report['baseline']}",
    }
    for kind, name in shown_names.items():
        if kind not in rates:
            continue
        ratio = shown(ratios[kind]) if kind in ratios else "1"
        lines.append(
            f"| {name} | {shown(rates[kind])} | {ratio} | {shown(cpu[kind]['python'])} "
            f"| {shown(cpu[kind]['opensearch'])} |"
        )
    write(f"ingest-{report['records']}", report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
