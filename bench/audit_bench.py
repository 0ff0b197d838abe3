"""Benchmark the audit log's durable appends: entries per second with concurrent writers.

    .venv/bin/python bench/audit_bench.py                      # this commit only
    .venv/bin/python bench/audit_bench.py --baseline b0888ba   # and an earlier one, alternated

Each run appends events the size of a node's search entry from ``--writers`` threads for
``--seconds`` seconds into a fresh log in a temporary directory (on the disk the results
directory is on), every append durable as a node needs it before it answers. With
``--baseline``, the same runs with that commit's audit log (its source tree, ``git archive``,
in a child process), alternated with this commit's, round by round. Results go to
``bench/results/audit-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, header, machine, shown, spread, write
from ingest_bench import _layout

EVENT = {
    "kind": "node.search",
    "verified": True,
    "requester": "ca-rcmp",
    "officer": "officer-17",
    "purpose": "investigation",
    "case": "CASE-2024-0001",
    "query": {"text": "shared link known hashes", "selectors": ["email:a@example.org"]},
    "level": "full",
    "hits": 10,
    "answer_sha256": "0" * 64,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="a commit whose audit log to time as well")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_appends(int(args.child[0]), float(args.child[1]))))
        return 0

    runs: dict[str, dict[int, list[dict[str, float]]]] = {"this": {}, "baseline": {}}
    with tempfile.TemporaryDirectory() as tmp:
        path = _layout(args.baseline, Path(tmp) / "baseline") if args.baseline else None
        for number in range(args.rounds):
            for writers in args.writers:
                order = ["this", "baseline"] if number % 2 == 0 else ["baseline", "this"]
                for kind in order:
                    if kind == "this":
                        result = _appends(writers, args.seconds)
                    elif path is not None:
                        result = _child(path, writers, args.seconds)
                    else:
                        continue
                    runs[kind].setdefault(writers, []).append(result)
                    print(f"round {number + 1}, {writers} writers, {kind}: {result}", flush=True)
    report: dict[str, Any] = {
        "machine": machine(),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "baseline": args.baseline,
        "results": {
            kind: {
                str(w): {
                    "entries_per_s": spread([r["entries_per_s"] for r in rs], 0),
                    "entries_per_commit": spread([r["entries_per_commit"] for r in rs], 1),
                }
                for w, rs in by_writers.items()
            }
            for kind, by_writers in runs.items()
            if by_writers
        },
    }
    _write(report)
    return 0


def _appends(writers: int, seconds: float) -> dict[str, float]:
    """Durable appends from ``writers`` threads for ``seconds``: entries/s, and entries per
    commit (one fsync of the log and its head file; 1 without group commit)."""
    from cets.common.audit import AuditLog, verify  # the child's: this or the baseline's

    directory = Path(os.environ.get("CETS_BENCH_RESULTS") or RESULTS)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        path = Path(tmp) / "audit.log"
        log = AuditLog(path)
        stop = time.monotonic() + seconds
        counts = [0] * writers

        def run(n: int) -> None:
            while time.monotonic() < stop:
                log.append(EVENT)
                counts[n] += 1

        started = time.monotonic()
        threads = [threading.Thread(target=run, args=(n,)) for n in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        commits = getattr(log, "commits", None) or sum(counts)
        log.close()
        if not verify(path).ok:
            raise RuntimeError("the benchmark's audit log does not verify")
    total = sum(counts)
    return {"entries_per_s": total / elapsed, "entries_per_commit": total / commits}


def _child(path: Path, writers: int, seconds: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(path)}
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(writers), str(seconds)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _write(report: dict[str, Any]) -> None:
    results = report["results"]
    lines = [
        "# Audit log benchmark: durable appends",
        "",
        header(report["machine"]),
        "",
        f"Every append durable before it returns; {report['seconds']} s per run, "
        f"{report['rounds']} rounds, this commit and the baseline alternated; each figure "
        "the median [lowest, highest round]. Other work on the machine, if any, moves the figures.",
        "",
        "| audit log | writers | entries/s | entries per commit |",
        "|---|---|---|---|",
    ]
    for kind, by_writers in results.items():
        name = "this commit" if kind == "this" else f"baseline {report['baseline']}"
        for writers, figures in by_writers.items():
            lines.append(
                f"| {name} | {writers} | {shown(figures['entries_per_s'])} "
                f"| {shown(figures['entries_per_commit'])} |"
            )
    write("audit", report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
