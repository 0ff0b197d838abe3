"""Run every benchmark and write one summary table.

    .venv/bin/python bench/run_all.py              # everything (about 45 minutes on 2 cores)
    .venv/bin/python bench/run_all.py --summary    # only rebuild the summary from bench/results
    .venv/bin/python bench/run_all.py --smoke DIR  # tiny versions (seconds), results into DIR

The summary, ``bench/results/summary-<date>.md`` and ``.json``, takes each benchmark's newest
result and says which commit and date it came from, beside the same figure in the oldest summary
kept there (before / after).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import RESULTS, header, machine, shown, write

HERE = Path(__file__).resolve().parent
FULL = [
    ["node_bench.py", "--records", "100000", "--starts", "3", "--ingest-runs", "3"],
    ["node_bench.py", "--records", "1000000", "--starts", "1"],
    ["ingest_bench.py", "--records", "100000", "--rounds", "3"],
    ["audit_bench.py"],
    ["crypto_bench.py"],
    ["federation_bench.py", "--records", "30000"],
    ["scale_bench.py"],
    ["profile_federation.py"],
    ["ranking_bench.py"],
    ["load_test.py", "--officers", "20", "--duration", "60"],
    ["watch_bench.py"],
    ["pdq_bench.py", "--hashes", "1000000"],
    ["cluster_bench.py", "--records", "50000"],
    ["floors.py"],  # after ingest_bench.py, whose OpenSearch share it reads
]
SMOKE = [
    [
        "floors.py",
        *("--peers", "5", "--queries", "2", "--rounds", "1"),
        *("--round-trips", "20", "--records", "1000"),
    ],
    [
        "node_bench.py",
        *("--records", "1000", "--queries", "5", "--rounds", "2"),
        *("--starts", "0", "--warmup-s", "1"),
    ],
    ["federation_bench.py", "--records", "1000", "--queries", "5", "--rounds", "2"],
    ["scale_bench.py", "--quick"],
    [
        "watch_bench.py",
        "--records",
        "500",
        "--watches",
        "50",
        "--rounds",
        "1",
        "--samples",
        "1",
        "--quick",
    ],
    [
        "pdq_bench.py",
        *("--hashes", "2000", "--queries", "3", "--rounds", "1"),
        *("--images", "16", "--seeds", "3", "--heap-mb", "512"),
    ],
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", action="store_true", help="only rebuild the summary")
    parser.add_argument("--smoke", type=Path, help="run tiny versions, results into this dir")
    args = parser.parse_args()
    if args.smoke:
        os.environ["CETS_BENCH_RESULTS"] = str(args.smoke)
        if _run(SMOKE, results=args.smoke):
            return 1
        _summary(args.smoke)
        return 0
    if not args.summary and _run(FULL, results=RESULTS):
        return 1
    _summary(RESULTS)
    return 0


def _run(commands: list[list[str]], *, results: Path) -> int:
    env = {**os.environ, "CETS_BENCH_RESULTS": str(results)}
    for command in commands:
        print(f"== {' '.join(command)}", flush=True)
        done = subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], env=env)
        if done.returncode:
            print(f"{command[0]} failed with exit code {done.returncode}", file=sys.stderr)
            return done.returncode
    return 0


def _newest(results: Path, pattern: str) -> dict[str, Any] | None:
    found = sorted(results.glob(pattern))
    return json.loads(found[-1].read_text()) if found else None


def _earlier(results: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """The oldest summary kept in ``results``: (benchmark, measure) -> (value, run)."""
    found = sorted(results.glob("summary-*.json"))
    if not found:
        return {}
    rows = json.loads(found[0].read_text())["rows"][2:]
    figures = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        if len(cells) >= 4:
            figures[(cells[0], cells[1])] = (cells[2], cells[3])
    return figures


def _summary(results: Path) -> None:
    before = _earlier(results)
    rows = [
        "| benchmark | measure | value | run | before | before: run |",
        "|---|---|---|---|---|---|",
    ]

    def add(name: str, measure: str, value: str, report: dict[str, Any]) -> None:
        m = report["machine"]
        was, when = before.get((name, measure), ("-", "-"))
        rows.append(
            f"| {name} | {measure} | {value} | {m['date']}, commit {m['commit']} | {was} | {when} |"
        )

    for records in (1_000, 100_000, 1_000_000):
        node = _newest(results, f"node-{records}-*.json")
        if node:
            name = f"node, {records:,} records"
            add(
                name,
                "OpenSearch cold start (s)",
                ", ".join(map(str, node["opensearch_start_s"])),
                node,
            )
            add(name, "ingest (records/s)", _fig(node["ingest"]["records_per_s"]), node)
            for kind, s in node["search_ms"].items():
                add(name, f"search {kind} p50 / p99 (ms)", _pair(s), node)
    for records in sorted({int(p.stem.split("-")[1]) for p in results.glob("ingest-*.json")}):
        ingest = _newest(results, f"ingest-{records}-*.json")
        if ingest:
            name = f"ingest vs OpenSearch's own _bulk, {records:,} records"
            for kind, rate in ingest["records_per_s"].items():
                label = f"baseline {ingest['baseline']}" if kind == "baseline" else kind
                add(name, f"{label} (records/s)", _fig(rate), ingest)
            for kind, ratio in ingest["ratio_to_ceiling"].items():
                label = f"baseline {ingest['baseline']}" if kind == "baseline" else kind
                add(name, f"{label} / ceiling", _fig(ratio), ingest)
            for kind, sides in ingest["cpu_us_per_record"].items():
                label = f"baseline {ingest['baseline']}" if kind == "baseline" else kind
                cpu = f"{_fig(sides['python'])} / {_fig(sides['opensearch'])}"
                add(name, f"{label}: CPU µs/record, Python / OpenSearch", cpu, ingest)
    audit = _newest(results, "audit-*.json")
    if audit:
        for kind, by_writers in audit["results"].items():
            label = "this commit" if kind == "this" else f"baseline {audit['baseline']}"
            for writers, figures in by_writers.items():
                value = (
                    f"{_fig(figures['entries_per_s'])} entries/s, "
                    f"{_fig(figures['entries_per_commit'])} per commit"
                )
                add("audit log, durable appends", f"{label}, {writers} writers", value, audit)
    crypto = _newest(results, "crypto-*.json")
    if crypto:
        for size, ops in crypto["us"].items():
            for op, us in ops.items():
                add("Ed25519", f"{op}, {size} (µs)", _fig(us), crypto)
    federation = _newest(results, "federation-*.json")
    if federation and "layers_ms" in federation:
        for op, us in federation["crypto_us"].items():
            add("federation", f"{op.replace('_', ' ')} (µs)", str(us), federation)
        for path, s in federation["layers_ms"].items():
            add("federation", f"{path} p50 / p99 (ms)", _pair(s), federation)
        for ratio, r in federation["ratios"].items():
            add("federation", f"ratio {ratio}, of p50 / of p99", _pair(r), federation)
        cores = federation["machine"].get("cpus") or 1
        for path, cpu in federation.get("cpu_ms_per_query", {}).items():
            who = " / ".join(w for w in cpu if w not in ("total", "wall"))
            value = " / ".join(_fig(cpu[w]) for w in cpu if w not in ("total", "wall"))
            least = round(cpu["total"]["median"] / cores, 2)
            add(
                "federation",
                f"{path}: CPU ms/query, {who}; total; total ÷ {cores} cores",
                f"{value}; {_fig(cpu['total'])}; {least}",
                federation,
            )
    scale = _newest(results, "scale-*.json")
    if scale:
        for agencies, row in scale["sizes"].items():
            seq, load = row["sequential"], row["saturation"]
            add(
                "scale",
                f"{agencies} agencies: p50 / p99 (ms), federation CPU ms/query, qps",
                f"{_pair(seq['latency_ms'])}, {_fig(row['cpu_ms_per_query'])}, {_fig(load['qps'])}",
                scale,
            )
            if "fan_out_alone" in row:
                add(
                    "scale",
                    f"{agencies} agencies: the fan-out alone, CPU ms/query",
                    _fig(row["fan_out_alone"]["cpu_ms_per_query"]),
                    scale,
                )
            bare = row.get("fan_out_alone", {}).get("stream_messages_ms_per_query")
            if bare:  # older results have no bare stream messages
                checks = int(agencies) * scale["crypto_us"]["verify_answer_3_hits"] / 1000
                add(
                    "scale",
                    f"{agencies} agencies: the fan-out's floor, CPU ms/query: stream messages "
                    "alone + answers checked = floor",
                    f"{_fig(bare)} + {checks:.1f} = {bare['median'] + checks:.1f}",
                    scale,
                )
            tail = row.get("tail", {})
            if "wait_for_all" in tail:  # older results have no wait-for-all run
                add(
                    "scale",
                    f"{agencies} agencies, {len(tail['stragglers'])} answering in 500 ms: "
                    "p50 / p99 (ms), by the tail rule; waiting for all",
                    f"{_pair(tail['default_deadline']['latency_ms'])}; "
                    f"{_pair(tail['wait_for_all']['latency_ms'])}",
                    scale,
                )
        share = scale["crypto_share"]
        add("scale", f"crypto share of CPU at {share['agencies']}", f"{share['share']:.0%}", scale)
    profile = _newest(results, "profile-2*.json")  # not profile-node-*
    if profile:
        total = max(1, profile["samples"])
        top = sorted(profile["groups"].items(), key=lambda kv: -kv[1])[:3]
        add(
            "profile",
            f"federation CPU at {profile['agencies']} agencies, largest shares",
            ", ".join(f"{name} {count / total:.0%}" for name, count in top),
            profile,
        )
    ranking = _newest(results, "ranking-*.json")
    if ranking:
        ranking["machine"].setdefault("commit", "?")
        ranking["machine"].setdefault("date", "?")
        for scenario, data in ranking["scenarios"].items():
            for method, by_type in data["summary"].items():
                add(
                    "ranking", f"{scenario}: {method} nDCG@10", str(by_type["all"]["ndcg"]), ranking
                )
            for variant, methods in data.get("hostile", {}).items():
                for method, ndcg in methods.items():
                    add(
                        "ranking",
                        f"{scenario}, hostile {variant}: {method} nDCG@10",
                        str(ndcg),
                        ranking,
                    )
    load = _newest(results, "load-*.json")
    if load:
        setup, latency, memory = load["setup"], load["latency_ms"], load["memory"]
        name = f"load, {setup['officers']} officers x {setup['duration_s']:.0f} s"
        add(name, "searches/s", str(load["requests"]["per_s"]), load)
        add(
            name,
            "p50 / p95 / p99 (ms)",
            f"{latency['p50']} / {latency['p95']} / {latency['p99']}",
            load,
        )
        add(name, "errors", str(load["errors"]["total"]), load)
        growth = max(m["growth_mib"] for m in memory.values() if m.get("bounded", True))
        add(name, "largest RSS growth of a service (MiB)", f"{growth:+}", load)
    watch = _newest(results, "watch-*.json")
    if watch:
        name = f"watches, {watch['watches']:,} at the node"
        ingest = watch["ingest"]
        add(name, "ingest with / without watches (ratio)", _fig(ingest["ratio"]), watch)
        for interval, figure in watch["latency"].items():
            add(name, f"alert latency, poll every {interval} (s)", _fig(figure), watch)
    for found in sorted(results.glob("pdq-*.json"))[-1:]:
        images = json.loads(found.read_text())
        name = f"images, {images['hashes']:,} PDQ hashes"
        for kind, figures in images["latency_ms"].items():
            ratio = images["ratio_to_exact_p50"][kind]
            candidates = images["candidates"][kind]["median"]
            add(
                name,
                f"{kind}: p50 / p99 (ms), candidates, p50 / exact",
                f"{_pair(figures)}, {candidates:,}, {ratio}",
                images,
            )
        for key, value in images["hashing"].items():
            if key.startswith("jobs="):
                add(
                    name,
                    f"cets hash, {key.replace('=', ' ')} (images/s)",
                    str(value["per_s"]),
                    images,
                )
    floors = _newest(results, "floors-*.json")
    if floors:
        c, n, i = floors["coordinator"], floors["node"], floors["ingest"]
        add(
            "floors",
            f"coordinator CPU per {c['peers']}-agency query: stream messages (calls) + verify "
            "= floor (ms)",
            f"{_fig(c.get('grpc_aio_stream_ms_per_query', c['grpc_aio_ms_per_query']))} "
            f"({_fig(c['grpc_aio_ms_per_query'])}) + {c['verify_ms_per_query']} = "
            f"{c['floor_ms_per_query']}",
            floors,
        )
        add(
            "floors",
            "node over OpenSearch: round trip, verify + sign, durable append = floor (ms)",
            f"{n['round_trip_ms_p50']}, {(n['verify_request_us'] + n['sign_answer_us']) / 1e3:.3f}"
            f", {n['durable_append_ms_p50']} = {n['floor_ms']}",
            floors,
        )
        add(
            "floors",
            "ingest per record: Python budget at 10,000/s / prepare alone (µs)",
            f"{i['python_budget_us_per_record'] or '-'} / {i['prepare_us']}",
            floors,
        )
    text = (
        "# Benchmarks: summary\n\n"
        + header(machine())
        + "\n\nEach benchmark's newest result; *before*: the same figure in the oldest summary "
        "kept here, with its own run.\n\n" + "\n".join(rows) + "\n"
    )
    write("summary", {"machine": machine(), "rows": rows}, text)


def _fig(value: Any) -> str:
    """A figure: a spread over runs (median [low, high]) or a plain number."""
    return shown(value)


def _pair(figures: dict[str, Any]) -> str:
    return f"{_fig(figures['p50'])} / {_fig(figures['p99'])}"


if __name__ == "__main__":
    raise SystemExit(main())
