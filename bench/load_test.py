"""Load test: many concurrent officers search a local federation for a bounded time.

    .venv/bin/python bench/load_test.py --officers 20 --duration 60     # writes bench/results/
    .venv/bin/python bench/load_test.py --officers 8 --duration 20 --opensearch-url URL

What runs: three agencies (tps, rcmp, nca), each with its own search node, and the first
agency's federation service and gateway, each service its own process started as an operator
would (``cets node serve``, ``cets federation serve``, ``cets gateway serve``, configured
through the environment as docs/configuration.md describes): five processes. Keys, the
signed membership and the sharing policies come from ``build_local_federation``; the records
are synthetic sample data (``write_sample``, as ``cets sample generate`` writes it) ingested
through the ingest API into one OpenSearch — started here, or the one at ``--opensearch-url``
— each agency its own indices, deleted at the end.

Officers: ``--officers`` simulated officers of the first agency, each with a token of its own
(as ``cets tokens issue`` makes them), each on a connection of its own to the gateway. Each
posts ``/v1/search`` back to back (or ``--think-ms`` apart) with varied queries: free text,
identifiers of the planted suspects as each agency wrote them, names as each agency spelled
them, and mixes of these. The gateway's per-officer rate limit (``CETS_GATEWAY_RATE_LIMIT``,
30/minute by default) is raised to 1000000/minute for the run, so that officers can search
back to back; each officer still has a token of its own, so the limiter keeps one window per
officer. The nodes' per-agency rate limit (``CETS_NODE_RATE_LIMIT``) is raised the same way:
every search here comes from one agency.

Measured, after ``--warmup`` seconds of load, over ``--duration`` seconds:

- requests, throughput, latency p50/p95/p99/max (the client's wall time per search);
- errors: any answer other than 200, any transport failure, any answer in which an agency's
  status is not ``ok`` or an agency is missing — counted over the warm-up too;
- each service's resident memory (VmRSS from /proc) every ``--sample-s`` seconds: the median
  of the first third of the run against that of the last third (growth, MiB), and its CPU;
- after the run: every audit log's hash chain verified, and no query term in any service's
  own log (queries belong in the audit logs only).

Exit code 0 when there was no error, no service grew by more than ``--max-growth-mib``
(default 50 MiB) between the first and last thirds, and the audit chains are intact; 1
otherwise. Every process started here is stopped on the way out (and on SIGTERM or Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
from _common import header, machine, pid_cpu_s, stop_process, wait_serving, write

from cets.common.audit import read_entries, verify
from cets.common.keys import load_private_key
from cets.core.records import IngestContext
from cets.demo.local import (
    AgencySpec,
    LocalAgency,
    LocalFederation,
    build_local_federation,
    free_ports,
)
from cets.gateway.tokens import issue_token
from cets.search.embedded_opensearch import EmbeddedOpenSearch, OpenSearchSettings
from cets.search.index import IndexNames
from cets.search.ingest import ingest_file
from cets.search.sample_data import DEMO_AGENCIES, write_sample
from cets.search.store import connect

AGENCIES = DEMO_AGENCIES[:3]
AGENCY_IDS = [a.id for a in AGENCIES]
RATE_LIMIT = "1000000/minute"
TEXT_QUERIES = [
    "shared link known hashes",
    "private app",
    "meet weekend",
    "uploaded files",
    "luring",
    "hosting link",
    "continue the conversation",
    "gift card",
    "webcam",
    "arrested",
]
PURPOSES = ["online luring investigation", "sextortion case", "CSAM distribution inquiry"]
PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=20, help="concurrent officers")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=None, help="seconds (default: D/6, 3-10)")
    parser.add_argument("--think-ms", type=float, default=0.0, help="pause between searches")
    parser.add_argument("--records", type=int, default=6000, help="sample records, all agencies")
    parser.add_argument("--sample-s", type=float, default=1.0, help="RSS sampling interval")
    parser.add_argument("--max-growth-mib", type=float, default=50.0, help="RSS growth bound")
    parser.add_argument("--opensearch-url", default=None, help="use this OpenSearch")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    if args.officers < 1 or args.duration <= 0 or args.sample_s <= 0:
        parser.error("--officers must be at least 1; --duration and --sample-s positive")
    warmup = args.warmup if args.warmup is not None else min(10.0, max(3.0, args.duration / 6))

    signal.signal(signal.SIGTERM, _exit_on_signal)  # run the clean-up below on SIGTERM too
    workdir = Path(tempfile.mkdtemp(prefix="cets-load-"))
    try:
        with ExitStack() as stack:
            url, opensearch = (
                (args.opensearch_url, None) if args.opensearch_url else _start_opensearch(stack)
            )
            prefix = f"load{os.getpid()}"
            stack.callback(_delete_indices, url, prefix)
            fed = build_local_federation(
                workdir / "federation",
                [AgencySpec(a.id, a.name, a.region) for a in AGENCIES],
                name="load",
            )
            print(f"== sample data: {args.records:,} records", flush=True)
            began = time.monotonic()
            queries = _load_sample(fed, url, prefix, workdir / "sample", args.records, args.seed)
            print(f"   ({time.monotonic() - began:.1f} s)", flush=True)
            print("== starting 3 nodes, a federation service and a gateway", flush=True)
            began = time.monotonic()
            services, gateway = _start_services(stack, fed, url, prefix, workdir / "logs")
            print(f"   all serving ({time.monotonic() - began:.1f} s)", flush=True)
            tokens = _tokens(fed.agencies[0], args.officers)
            print(
                f"== {args.officers} officers: {warmup:.0f} s warm-up, {args.duration:.0f} s "
                "measured",
                flush=True,
            )
            watched: list[Watched] = [*services, *([opensearch] if opensearch else [])]
            run = asyncio.run(_load(gateway, tokens, queries, watched, args, warmup, args.seed))
            for service in services:
                service.stop()
            report = _report(args, warmup, fed, services, watched, run, queries)
    finally:
        if args.keep:
            print(f"working directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    _write(report)
    return 0 if report["verdict"]["pass"] else 1


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


# -- the federation -----------------------------------------------------------------------------


def _start_opensearch(stack: ExitStack) -> tuple[str, Watched | None]:
    """A fresh OpenSearch, and its process to watch (its memory is the JVM's fixed heap and
    caches: reported, not bounded)."""
    print("== starting OpenSearch", flush=True)
    engine = stack.enter_context(
        EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-load", heap_mb=1024))
    )
    watched = Watched(name="opensearch", pid=engine.pid, bounded=False) if engine.pid else None
    return engine.url, watched


def _delete_indices(url: str, prefix: str) -> None:
    client = connect(url)
    try:
        with contextlib.suppress(Exception):
            client.indices.delete(index=f"{prefix}-*", expand_wildcards="all")
        with contextlib.suppress(Exception):
            client.indices.delete_index_template(name=f"{prefix}-*")
    finally:
        client.close()


def _load_sample(
    fed: LocalFederation, url: str, prefix: str, out: Path, records: int, seed: int
) -> list[dict[str, Any]]:
    """Write and ingest the sample; return the query bodies the officers choose from."""
    write_sample(out, AGENCIES, records, seed=seed)
    client = connect(url)
    try:
        for agency in fed.agencies:
            summary = ingest_file(
                out / f"{agency.id}.ndjson",
                client=client,
                names=IndexNames(prefix, agency.id),
                ctx=IngestContext(agency.id, agency.card_key, agency.spec.region),
            )
            if summary.rejected:
                raise RuntimeError(f"{agency.id}: {summary.rejected} sample records rejected")
            print(f"   {agency.id}: {summary.indexed:,} records", flush=True)
    finally:
        client.close()
    return _queries(json.loads((out / "links.json").read_text()))


def _queries(plan: dict[str, Any]) -> list[dict[str, Any]]:
    queries: list[dict[str, Any]] = [{"text": text} for text in TEXT_QUERIES]
    for link in plan["links"]:
        queries.append({"selectors": link["selectors"][:2]})
        for seen in link["agencies"].values():
            queries.append({"selectors": [f"email:{seen['email']}"]})
            queries.append({"selectors": [f"username:{seen['username']}"]})
            queries.append({"name": seen["name"]})
            text = TEXT_QUERIES[len(seen["name"]) % len(TEXT_QUERIES)]
            queries.append({"name": seen["name"], "text": text})
    return queries


@dataclass(kw_only=True)
class Watched:
    """A process whose memory and CPU are sampled from /proc."""

    name: str
    pid: int
    rss_mib: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since the measured run began, VmRSS in MiB)."""
    run_cpu_s: float = 0.0
    """CPU seconds (user + system) over warm-up and measured run."""
    bounded: bool = True
    """Whether its memory growth counts toward the verdict."""

    def rss(self) -> float | None:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None

    def cpu_s(self) -> float:
        return pid_cpu_s(self.pid)

    def alive(self) -> bool:
        return Path(f"/proc/{self.pid}").exists()


@dataclass(kw_only=True)
class Service(Watched):
    """One of the services under test, in its own process; its output goes to a log file."""

    process: subprocess.Popen[bytes]
    log: Path
    exit_code: int | None = None

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        self.exit_code = stop_process(self.process, grace_s=15)


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM if this script dies, however it dies (Linux)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _spawn(
    stack: ExitStack, name: str, args: list[str], env: dict[str, str], logs: Path
) -> Service:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name.replace(' ', '-')}.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith("CETS_")}
    base.pop("OPENSEARCH_URL", None)
    cets = Path(sys.executable).parent / "cets"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(cets), *args],
            env={**base, "CETS_LOG_LEVEL": "INFO", **{k: v for k, v in env.items() if v}},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
    service = Service(name=name, pid=process.pid, process=process, log=log)
    stack.callback(service.stop)
    return service


def _start_services(
    stack: ExitStack, fed: LocalFederation, url: str, prefix: str, logs: Path
) -> tuple[list[Service], str]:
    """Every agency's node, and the first agency's federation service and gateway."""
    card_key_file = str(fed.root / "card.key")
    nodes = []
    for agency in fed.agencies:
        config = agency.node_config(url, index_prefix=prefix)
        nodes.append(
            _spawn(
                stack,
                f"{agency.id} node",
                ["node", "serve"],
                {
                    "CETS_AGENCY_ID": agency.id,
                    "OPENSEARCH_URL": url,
                    "CETS_CARD_KEY_FILE": card_key_file,
                    "CETS_DEFAULT_REGION": agency.spec.region or "",
                    "CETS_NODE_LISTEN": config.listen,
                    "CETS_INDEX_PREFIX": prefix,
                    "CETS_NODE_GRACE_S": "1",
                    "CETS_NODE_RATE_LIMIT": RATE_LIMIT,
                    "CETS_AGENCY_KEY_FILE": str(config.agency_key_file),
                    "CETS_MEMBERSHIP_FILE": str(config.membership_file),
                    "CETS_FEDERATION_ADMIN_KEY_FILE": str(config.admin_key_file),
                    "CETS_AUDIT_LOG": str(config.audit_log),
                    "CETS_POLICY_FILE": str(config.policy_file),
                },
                logs,
            )
        )
    home = fed.agencies[0]
    fed_config = home.federation_config()
    federation = _spawn(
        stack,
        f"{home.id} federation",
        ["federation", "serve"],
        {
            "CETS_AGENCY_ID": home.id,
            "CETS_AGENCY_KEY_FILE": str(fed_config.agency_key_file),
            "CETS_MEMBERSHIP_FILE": str(fed_config.membership_file),
            "CETS_FEDERATION_ADMIN_KEY_FILE": str(fed_config.admin_key_file),
            "CETS_FEDERATION_AUDIT_LOG": str(fed_config.audit_log),
            "CETS_FEDERATION_LISTEN": fed_config.listen,
            "CETS_DEFAULT_REGION": home.spec.region or "",
            "CETS_CARD_KEY_FILE": card_key_file,
            "CETS_FEDERATION_GRACE_S": "1",
        },
        logs,
    )
    gateway_config = home.gateway_config()
    [port] = free_ports(1)
    gateway = _spawn(
        stack,
        f"{home.id} gateway",
        ["gateway", "serve"],
        {
            "CETS_AGENCY_ID": home.id,
            "CETS_OFFICER_KEY_FILE": str(gateway_config.officer_key_file),
            "CETS_GATEWAY_AUDIT_LOG": str(gateway_config.audit_log),
            "CETS_FEDERATION_TARGET": gateway_config.federation,
            "CETS_GATEWAY_HOST": "127.0.0.1",
            "CETS_GATEWAY_PORT": str(port),
            "CETS_GATEWAY_RATE_LIMIT": RATE_LIMIT,
        },
        logs,
    )
    give_up = time.monotonic() + 90
    for service, agency in zip(nodes, fed.agencies, strict=True):
        _wait_grpc(service, agency.node_target, give_up)
    _wait_grpc(federation, home.federation_target, give_up)
    gateway_url = f"http://127.0.0.1:{port}"
    _wait_http(gateway, f"{gateway_url}/v1/ready", give_up)
    services = [*nodes, federation, gateway]
    for service in services:
        print(f"   {service.name}: pid {service.pid}", flush=True)
    return services, gateway_url


def _not_started(service: Service, what: str) -> RuntimeError:
    tail = service.log.read_text(errors="replace")[-3000:]
    return RuntimeError(f"{service.name} {what}; its log ends:\n{tail}")


def _wait_grpc(service: Service, target: str, give_up: float) -> None:
    with grpc.insecure_channel(target) as channel:
        if wait_serving(channel, service.alive, until=give_up):
            return
    if not service.alive():
        raise _not_started(service, f"exited with code {service.process.returncode}")
    raise _not_started(service, "did not report SERVING in time")


def _wait_http(service: Service, url: str, give_up: float) -> None:
    while time.monotonic() < give_up:
        if not service.alive():
            raise _not_started(service, f"exited with code {service.process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise _not_started(service, "was not ready in time")


def _tokens(agency: LocalAgency, officers: int) -> list[str]:
    """One token per officer of ``agency``, as ``cets tokens issue`` makes them."""
    key = load_private_key(agency.directory / "officer.key")
    return [
        issue_token(key, officer=f"load-officer-{i:03d}", agency=agency.id) for i in range(officers)
    ]


# -- the load ---------------------------------------------------------------------------------


@dataclass
class Run:
    started: float = 0.0
    """When the measured part began (monotonic)."""
    ended: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    """Searches that began in the measured part."""
    warmup_requests: int = 0
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    agency_status: dict[str, Counter[str]] = field(default_factory=dict)
    all_agencies_ok: int = 0
    """Answers (warm-up included) in which every agency answered ok."""
    answers: int = 0
    loadavg_before: list[float] = field(default_factory=list)
    loadavg_after: list[float] = field(default_factory=list)


async def _load(
    gateway: str,
    tokens: list[str],
    queries: list[dict[str, Any]],
    services: list[Watched],
    args: argparse.Namespace,
    warmup: float,
    seed: int,
) -> Run:
    run = Run()
    agencies = sorted(AGENCY_IDS)
    begin = time.monotonic()
    run.started = begin + warmup
    run.ended = run.started + args.duration

    async def officer(index: int, token: str) -> None:
        rng = random.Random(seed * 1000 + index)
        headers = {"Authorization": f"Bearer {token}"}
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(
            base_url=gateway, headers=headers, timeout=30, limits=limits
        ) as client:
            while (now := time.monotonic()) < run.ended:
                body = {
                    "query": rng.choice(queries),
                    "purpose": rng.choice(PURPOSES),
                    "case_reference": f"LOAD-{index:03d}-{rng.randrange(1000):03d}",
                }
                try:
                    reply = await client.post("/v1/search", json=body)
                except httpx.HTTPError as exc:
                    run.errors[f"transport: {type(exc).__name__}"] += 1
                    continue
                finally:
                    took_ms = (time.monotonic() - now) * 1000
                    if now >= run.started:
                        run.requests += 1
                        run.latencies_ms.append(took_ms)
                    else:
                        run.warmup_requests += 1
                _check(reply, agencies, run)
                if args.think_ms:
                    await asyncio.sleep(args.think_ms / 1000)

    async def sample() -> None:
        while (now := time.monotonic()) < run.ended:
            if now >= run.started:
                for service in services:
                    rss = service.rss()
                    if rss is not None:
                        service.rss_mib.append((now - run.started, rss))
                    if not service.alive():
                        run.errors[f"{service.name} exited"] += 1
            await asyncio.sleep(args.sample_s)

    run.loadavg_before = _loadavg()
    cpu_before = {s.name: s.cpu_s() for s in services}
    await asyncio.gather(sample(), *(officer(i, token) for i, token in enumerate(tokens)))
    for service in services:
        service.run_cpu_s = service.cpu_s() - cpu_before[service.name]
    run.loadavg_after = _loadavg()
    return run


def _loadavg() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages: other work shares the cores."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def _check(reply: httpx.Response, agencies: list[str], run: Run) -> None:
    if reply.status_code != 200:
        run.errors[f"HTTP {reply.status_code}"] += 1
        return
    answer = reply.json()
    run.answers += 1
    seen = {a["agency"]: a["status"] for a in answer.get("agencies", [])}
    for agency in agencies:
        status = seen.get(agency, "missing")
        run.agency_status.setdefault(agency, Counter())[status] += 1
        if status != "ok":
            run.errors[f"{agency}: {status}"] += 1
    if all(seen.get(a) == "ok" for a in agencies):
        run.all_agencies_ok += 1


# -- the report ---------------------------------------------------------------------------------


def _percentile(ordered: list[float], q: float) -> float:
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1) if ordered else 0.0


def _report(
    args: argparse.Namespace,
    warmup: float,
    fed: LocalFederation,
    services: list[Service],
    watched: list[Watched],
    run: Run,
    queries: list[dict[str, Any]],
) -> dict[str, Any]:
    ordered = sorted(run.latencies_ms)
    memory: dict[str, dict[str, Any]] = {}
    for service in watched:
        samples = service.rss_mib
        third = max(1, len(samples) // 3)
        first = statistics.median(v for _, v in samples[:third]) if samples else 0.0
        last = statistics.median(v for _, v in samples[-third:]) if samples else 0.0
        memory[service.name] = {
            "pid": service.pid,
            "samples": len(samples),
            "first_third_mib": round(first, 1),
            "last_third_mib": round(last, 1),
            "growth_mib": round(last - first, 1),
            "max_mib": round(max((v for _, v in samples), default=0.0), 1),
            "cpu_s": round(service.run_cpu_s, 1),
            "bounded": service.bounded,
            "exit_code": service.exit_code if isinstance(service, Service) else None,
        }
    audits = {}
    for log in sorted(fed.root.glob("*/audit/*.log")):
        checked = verify(log)
        kinds = Counter(e.event.get("kind", "?") for e in read_entries(log))
        audits[f"{log.parent.parent.name}/{log.name}"] = {
            "entries": checked.entries,
            "ok": checked.ok,
            "by_kind": dict(sorted(kinds.items())),
        }
    leaked = _query_terms_in_logs(services, queries)
    errors = sum(run.errors.values())
    grown = [
        name for name, m in memory.items() if m["bounded"] and m["growth_mib"] > args.max_growth_mib
    ]
    broken = [name for name, a in audits.items() if not a["ok"]]
    seconds = run.ended - run.started
    return {
        "machine": machine(),
        "setup": {
            "agencies": [a.id for a in fed.agencies],
            "services": [s.name for s in services],
            "watched": [s.name for s in watched],
            "records": args.records,
            "officers": args.officers,
            "warmup_s": warmup,
            "duration_s": args.duration,
            "think_ms": args.think_ms,
            "gateway_rate_limit": RATE_LIMIT,
            "distinct_queries": len(queries),
            "opensearch": "given" if args.opensearch_url else "started here",
            "loadavg_before": run.loadavg_before,
            "loadavg_after": run.loadavg_after,
        },
        "requests": {
            "measured": run.requests,
            "warmup": run.warmup_requests,
            "answers": run.answers,
            "all_agencies_ok": run.all_agencies_ok,
            "per_s": round(run.requests / seconds, 1) if seconds > 0 else 0.0,
        },
        "errors": {"total": errors, "by_kind": dict(run.errors)},
        "agency_status": {a: dict(c) for a, c in sorted(run.agency_status.items())},
        "latency_ms": {
            "p50": _percentile(ordered, 0.50),
            "p95": _percentile(ordered, 0.95),
            "p99": _percentile(ordered, 0.99),
            "max": round(ordered[-1], 1) if ordered else 0.0,
        },
        "memory": memory,
        "audit_logs": audits,
        "query_terms_in_service_logs": leaked,
        "verdict": {
            "pass": errors == 0 and not grown and not broken,
            "max_growth_mib": args.max_growth_mib,
            "grew": grown,
            "audit_chains_broken": broken,
        },
    }


def _query_terms_in_logs(services: list[Service], queries: list[dict[str, Any]]) -> list[str]:
    """Identifiers and names searched for that appear in a service's own log (should be none:
    queries go to the audit logs only)."""
    terms = set()
    for query in queries:
        for selector in query.get("selectors", []):
            terms.add(selector.partition(":")[2])
        if query.get("name"):
            terms.add(query["name"])
    found = []
    for service in services:
        text = service.log.read_text(errors="replace")
        found += [f"{service.name}: {t}" for t in sorted(terms) if len(t) > 5 and t in text]
    return found


def _write(report: dict[str, Any]) -> None:
    setup, requests, latency = report["setup"], report["requests"], report["latency_ms"]
    errors = report["errors"]
    kinds = ", ".join(f"{k}: {n}" for k, n in sorted(errors["by_kind"].items())) or "none"
    lines = [
        "# Load test",
        "",
        header(report["machine"]),
        "",
        f"{len(setup['agencies'])} agencies ({', '.join(setup['agencies'])}), each with its own "
        f"`cets node serve` process, and {setup['agencies'][0]}'s `cets federation serve` and "
        "`cets gateway serve` (5 processes), on one OpenSearch; "
        f"{setup['records']:,} sample records. {setup['officers']} officers of "
        f"{setup['agencies'][0]}, one token and one connection each, searching back to back "
        f"(think time {setup['think_ms']:.0f} ms) with "
        f"{setup['distinct_queries']} distinct queries, for {setup['duration_s']:.0f} s after "
        f"{setup['warmup_s']:.0f} s of warm-up. The gateway's per-officer rate limit and the "
        f"nodes' per-agency rate limit were raised to {setup['gateway_rate_limit']} for the "
        "run. Everything, this client included, shares the machine's cores (load average "
        "before the run "
        f"{_loads(setup['loadavg_before'])}, after {_loads(setup['loadavg_after'])}).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| searches (measured) | {requests['measured']:,} (+ {requests['warmup']:,} in warm-up) |",
        f"| throughput (searches/s) | {requests['per_s']} |",
        f"| latency p50 / p95 / p99 / max (ms) | {latency['p50']} / {latency['p95']} / "
        f"{latency['p99']} / {latency['max']} |",
        f"| errors (warm-up included) | {errors['total']} ({kinds}) |",
        f"| answers with every agency ok | {requests['all_agencies_ok']:,} of "
        f"{requests['answers']:,} |",
        "",
        "Resident memory (VmRSS) of each process, sampled every second over the measured run: "
        "median of the first third against the last third; CPU over warm-up and measured run. "
        "OpenSearch (when started here) is shown for its CPU; its memory is a fixed JVM heap "
        "plus caches, not held to the bound.",
        "",
        "| process | first third (MiB) | last third (MiB) | growth (MiB) | max (MiB) | CPU (s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in report["memory"].items():
        lines.append(
            f"| {name} | {m['first_third_mib']} | {m['last_third_mib']} | {m['growth_mib']:+} | "
            f"{m['max_mib']} | {m['cpu_s']} |"
        )
    audits = report["audit_logs"]
    verdict = report["verdict"]
    lines += [
        "",
        f"Audit logs: {sum(a['entries'] for a in audits.values()):,} entries in {len(audits)} "
        f"logs, {'every chain intact' if not verdict['audit_chains_broken'] else 'BROKEN: '}"
        f"{', '.join(verdict['audit_chains_broken'])}. Query terms in the services' own logs: "
        f"{len(report['query_terms_in_service_logs'])}.",
        "",
        f"**{'PASS' if verdict['pass'] else 'FAIL'}**: {errors['total']} errors; growth bound "
        f"{verdict['max_growth_mib']} MiB per cets service"
        + (f", exceeded by {', '.join(verdict['grew'])}" if verdict["grew"] else ", kept")
        + ".",
        "",
    ]
    write("load", report, "\n".join(lines))


def _loads(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values) or "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
