"""Where the federation service spends its CPU in a broad fan-out: a py-spy profile, grouped.

    .venv/bin/python bench/profile_federation.py                 # 200 agencies, 30 s of samples
    .venv/bin/python bench/profile_federation.py --agencies 50 --seconds 10

It sets up the scale benchmark's federation (peer node processes with real guards and signed
answers, ``cets federation serve`` in its own process), sends one broad query after another,
and samples the federation service with py-spy (which needs ptrace: root, or
``CAP_SYS_PTRACE``). Each sample is put in the first group whose code is on its stack, and
the table gives each group's share of the samples. The raw samples are kept beside the table
(``profile-<date>.txt``, one folded stack per line) for a flame graph.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import scale_bench as sb
from _common import header, machine, write

GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("check answers: Ed25519 verify", ("_verify (common/signing.py",)),
    ("check answers: parse", ("open_answer (common/signing.py",)),
    ("check answers: nonce, agency", ("_check_answer (federation/fanout.py",)),
    ("sign requests", ("RequestSigner.request", "RequestSigner.fan_out")),
    ("audit log", ("common/audit.py",)),
    ("gRPC client (send, receive)", ("GrpcCaller.__call__", "grpc/aio/")),
    ("gRPC server (the federated call)", ("grpc/_cython", "grpc/_server", "grpc/aio/_server")),
    ("federation service (merge, statuses)", ("federation/service.py",)),
    ("event loop and other", ("",)),
]
"""Groups, first match wins: (name, substrings any one of which on the stack marks it)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0, help="sampling time")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--peer-processes", type=int, default=4)
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        print("py-spy is missing: make install (it is a development dependency)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        fed = sb._build(Path(tmp) / "federation", args.agencies)
        sb._start_peers(stack, fed, args.peer_processes)
        service = sb._Federation(stack, fed, Path(tmp))
        request = sb._request([sb._member_id(i) for i in range(args.agencies)])
        sb._sequential(service, request, args.agencies, 10, timeout=10)  # warm-up
        stop = threading.Event()
        done: list[int] = []

        def drive() -> None:
            while not stop.is_set():
                done.append(len(sb._sequential(service, request, args.agencies, 1, 10).ms))

        driver = threading.Thread(target=drive, daemon=True)
        driver.start()
        raw = Path(tmp) / "samples.txt"
        cpu0 = service.cpu_s()
        recorded = subprocess.run(
            [
                spy,
                "record",
                "--pid",
                str(service.process.pid),
                "--duration",
                str(int(args.seconds)),
                "--rate",
                str(args.rate),
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(raw),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        cpu1 = service.cpu_s()
        stop.set()
        driver.join(30)
        if recorded.returncode or not raw.exists():
            print(f"py-spy failed: {recorded.stderr.strip()[-500:]}", file=sys.stderr)
            return 1
        stacks = _read(raw)
        queries = sum(done)
        report: dict[str, Any] = {
            "machine": machine(),
            "agencies": args.agencies,
            "seconds": args.seconds,
            "queries": queries,
            "cpu_ms_per_query": round((cpu1 - cpu0) * 1000 / max(1, queries), 1),
            "samples": sum(stacks.values()),
            "groups": _group(stacks),
        }
        markdown = _markdown(report)
        stem = write("profile", report, markdown)
        stem.with_suffix(".txt").write_text(raw.read_text(errors="replace"))
    return 0


def _read(raw: Path) -> Counter[str]:
    """py-spy's raw format: one folded stack per line, its sample count last."""
    stacks: Counter[str] = Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[stack] += int(count)
    return stacks


def _group(stacks: Counter[str]) -> dict[str, int]:
    groups: dict[str, int] = {name: 0 for name, _ in GROUPS}
    for stack, count in stacks.items():
        name = next(n for n, marks in GROUPS if any(mark in stack for mark in marks))
        groups[name] += count
    return groups


def _markdown(report: dict[str, Any]) -> str:
    total = max(1, report["samples"])
    lines = [
        f"# Federation service profile, fan-out to {report['agencies']} agencies",
        "",
        header(report["machine"]),
        "",
        f"py-spy, {report['samples']} samples over {report['seconds']:g} s of back-to-back "
        f"broad queries ({report['queries']} queries, {report['cpu_ms_per_query']} ms of "
        "federation CPU per query). Peers as in the scale benchmark. A sample counts in the "
        "first group whose code is on its stack.",
        "",
        "| where | share of samples |",
        "|---|---|",
        *(
            f"| {name} | {count / total:.0%} |"
            for name, count in sorted(report["groups"].items(), key=lambda kv: -kv[1])
        ),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
