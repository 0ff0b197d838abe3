"""Benchmark how the federation's cost grows with the number of agencies searched at once.

    .venv/bin/python bench/scale_bench.py                  # N = 10, 50, 200; bench/results/
    .venv/bin/python bench/scale_bench.py --quick          # N = 10, 20, few queries: a smoke run
    .venv/bin/python bench/scale_bench.py --sizes 10,100   # other sizes

Peers: one federation of max(N) member agencies and one coordinator, keys and signed membership
as an administrator would build them. Every member agency is served by its own gRPC server on
its membership port; the servers are spread over a few peer processes (one event loop each).
Each peer runs the node's real request checks (``RequestGuard``: signature, audience, freshness,
replay), waits a latency drawn from a fixed, seeded distribution (lognormal, median 8 ms), and
returns a small answer (three summary hits) signed with the agency's key. No OpenSearch: the
peers stand in for nodes whose search takes that long.

The federation service under test is ``cets federation serve`` in its own process, signing for
the coordinator; its CPU time is read from ``/proc``. For each N, every query targets all N:

1. sequential federated searches: p50/p99, and every agency's status checked;
2. the federation process's CPU per query (user + system, over the sequential run);
3. saturation: C concurrent clients for a fixed time: queries/s and p99 under load;
4. tail: 1% of the peers (at least one) answer in 500 ms: under the default deadline (where
   the service's tail rule gives up the last few once nearly all have replied), asking to
   wait for all agencies (``wait_for_all``: until they answer), and under a short deadline
   (gRPC timeout on the federated call);
5. crypto: signing a request and verifying an answer, in-process, against the CPU per query;
6. the fan-out alone: the federation's own ``FanOut`` and ``GrpcCaller`` in a fresh process,
   nothing around them (no service, audit log or merge), with the event loop and garbage
   collector set up as the service sets them up: one signature, N calls, N answers verified
   and checked. Its CPU per query is what any coordinator built on grpc.aio and Ed25519
   (cryptography signs, libsodium verifies) pays on this machine; the service's CPU above it
   is the service's own.
   Beside it, in the same process and rounds (alternated): the same signed requests as bare
   messages on SearchStreams of their own to the same peers, one per agency, each answered
   by the peer's real checks and signature, but nothing done with the answers. That is the
   least any coordinator on grpc.aio pays here for N messages to these peers; with N answers
   verified added (step 5), it is the floor under the fan-out.

Everything shares one machine: the peers, the federation service and this client compete for
the same cores, so the absolute numbers are for this machine only.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import multiprocessing as mp
import random
import sys
import tempfile
import time
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import grpc
from _common import (
    header,
    machine,
    over_rounds,
    per_op_us,
    pid_cpu_s,
    serve_cets,
    shown,
    spread,
    stats,
    stop_process,
    write,
)

from cets.common import runtime
from cets.common.keys import load_private_key, load_public_key
from cets.common.membership import Role
from cets.common.signing import RequestSigner, open_answer, sign_answer, signed_request
from cets.core.display import build_query
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.v1 import federation_pb2, federation_pb2_grpc, records_pb2, search_pb2, search_pb2_grpc

COORDINATOR = "coord"
MEDIAN_S = 0.008
SIGMA = 0.5
STRAGGLER_S = 0.5
STRAGGLE = "straggle"
"""Query text starting with this word names the agencies that answer in ``STRAGGLER_S``."""
QUERY_TEXT = "shared link"

FULL = {
    "sizes": "10,50,200",
    "warmup": 10,
    "queries": 100,
    "clients": 8,
    "seconds": 10.0,
    "tail_queries": 30,
    "rounds": 3,
}
QUICK = {
    "sizes": "10,20",
    "warmup": 3,
    "queries": 10,
    "clients": 4,
    "seconds": 1.5,
    "tail_queries": 8,
    "rounds": 2,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a ~30 s smoke run")
    parser.add_argument("--sizes", help=f"agencies per query, comma-separated ({FULL['sizes']})")
    parser.add_argument("--queries", type=int, help="sequential queries per size and round")
    parser.add_argument("--clients", type=int, help="concurrent clients at saturation")
    parser.add_argument("--seconds", type=float, help="duration of each saturation round")
    parser.add_argument("--rounds", type=int, help="rounds of the sequential and saturation runs")
    parser.add_argument("--tail-queries", type=int, help="sequential queries per tail run")
    parser.add_argument("--deadline", type=float, default=0.3, help="short deadline, seconds")
    parser.add_argument("--peer-processes", type=int, default=4)
    args = parser.parse_args()
    settings = dict(QUICK if args.quick else FULL)
    for name in ("sizes", "queries", "clients", "seconds", "tail_queries", "rounds"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    sizes = [int(s) for s in str(settings["sizes"]).split(",")]
    settings.update(deadline_s=args.deadline, peer_processes=args.peer_processes)

    began = time.monotonic()
    report: dict[str, Any] = {"machine": machine(), "settings": settings}
    report["crypto_us"] = _crypto()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        fed = _build(Path(tmp) / "federation", max(sizes))
        _start_peers(stack, fed, args.peer_processes)
        service = _Federation(stack, fed, Path(tmp))
        report["sizes"] = {str(n): _measure(service, fed, n, settings) for n in sizes}
    report["runtime_s"] = round(time.monotonic() - began, 1)
    _write(report)
    return 0


# -- the federation and its peers --------------------------------------------------------------


def _member_id(index: int) -> str:
    return f"ag-{index:03d}"


def _build(root: Path, agencies: int) -> LocalFederation:
    """The federation, built again until no two nodes share a port: ports are picked free
    one at a time and released, so hundreds of picks can repeat one, and gRPC servers bind with
    SO_REUSEPORT, so two agencies on one port would silently share each other's requests."""
    specs = [AgencySpec(_member_id(i), f"Agency {i}") for i in range(agencies)]
    specs.append(AgencySpec(COORDINATOR, "Coordinator", roles=frozenset({Role.COORDINATOR})))
    for attempt in range(20):
        fed = build_local_federation(root / str(attempt), specs, name="scale")
        ports = [a.node_port for a in fed.agencies]
        if len(set(ports)) == len(ports):
            return fed
    raise RuntimeError("could not pick distinct ports for every agency")


def _start_peers(stack: ExitStack, fed: LocalFederation, processes: int) -> None:
    members = [a for a in fed.agencies if a.id != COORDINATOR]
    spawn = mp.get_context("spawn")
    ready = spawn.Queue()
    workers = []
    for w in range(processes):
        share = [
            (a.id, a.node_port, str(a.directory / "agency.key")) for a in members[w::processes]
        ]
        if not share:
            continue
        process = spawn.Process(
            target=_peer_process, args=(share, str(fed.root), 1000 + w, ready), daemon=True
        )
        process.start()
        workers.append(process)
        stack.callback(_stop_process, process)
    for _ in workers:
        message = ready.get(timeout=120)
        if message != "ready":
            raise RuntimeError(f"a peer process failed to start: {message}")
    _PEERS.extend(p.pid for p in workers if p.pid is not None)


_PEERS: list[int] = []


def _stop_process(process: Any) -> None:
    process.terminate()
    process.join(5)
    if process.is_alive():
        process.kill()
        process.join(5)


def _peer_process(share: list[tuple[str, int, str]], root: str, seed: int, ready: Any) -> None:
    try:
        runtime.run(_serve_peers(share, Path(root), seed, ready))  # as a node runs
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops the run
        ready.put(f"{type(exc).__name__}: {exc}")


async def _serve_peers(
    share: list[tuple[str, int, str]], root: Path, seed: int, ready: Any
) -> None:
    from cets.common.grpc_server import add_methods
    from cets.common.membership import load_membership
    from cets.search.guard import RequestGuard

    membership = load_membership(root / "membership.json", load_public_key(root / "admin.pub"))
    rng = random.Random(seed)
    servers = []
    for agency_id, port, key_file in share:
        guard = RequestGuard(agency_id=agency_id, membership=lambda: membership)
        server = grpc.aio.server()
        peer = _Peer(agency_id, load_private_key(Path(key_file)), guard, rng)
        handlers = {  # both ways a node is searched: calls, and a stream (as nodes serve it)
            "Search": grpc.unary_unary_rpc_method_handler(
                peer.Search,
                request_deserializer=search_pb2.SearchRequest.FromString,
                response_serializer=search_pb2.SignedAnswer.SerializeToString,
            ),
            "SearchStream": grpc.stream_stream_rpc_method_handler(
                peer.SearchStream,
                response_serializer=search_pb2.StreamedAnswer.SerializeToString,
            ),
        }
        add_methods(server, "cets.v1.SearchNode", handlers)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        servers.append(server)
    ready.put("ready")
    await asyncio.Event().wait()  # until terminated


class _Peer:
    """A node's gRPC face: real checks and a signed answer, a drawn latency instead of a search."""

    def __init__(self, agency_id: str, key: Any, guard: Any, rng: random.Random) -> None:
        self.id = agency_id
        self.key = key
        self.guard = guard
        self.rng = rng
        self.ending = asyncio.Event()

    async def SearchStream(self, requests: Any, context: grpc.aio.ServicerContext) -> Any:
        """Each message answered as :meth:`Search` answers a call, as a node does."""
        from cets.search.streaming import answer_stream

        async def answer(data: bytes, message_context: Any) -> search_pb2.SignedAnswer:
            return await self.Search(search_pb2.SearchRequest.FromString(data), message_context)

        async for answered in answer_stream(requests, answer, context=context, ending=self.ending):
            yield answered

    async def Search(
        self, request: search_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> search_pb2.SignedAnswer:
        from cets.search.guard import PermissionDenied, Unauthenticated

        try:
            self.guard.check(request)
        except Unauthenticated as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        except PermissionDenied as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        words = request.query.text.split()
        if words[:1] == [STRAGGLE] and self.id in words:
            delay = STRAGGLER_S
        else:
            delay = self.rng.lognormvariate(math.log(MEDIAN_S), SIGMA)
        await asyncio.sleep(delay)
        response = _answer(self.id, request.context.nonce)
        response.took_ms = int(delay * 1000)
        return sign_answer(response, self.key)


def _answer(agency: str, nonce: bytes) -> search_pb2.SearchResponse:
    hits = [
        search_pb2.Hit(
            agency=agency,
            record_id=f"{agency}-tip-{i:07d}",
            type=records_pb2.RECORD_TYPE_TIP,
            score=8.5 - i,
            title=f"tip from Cybertip.ca about a shared link ({i + 1})",
            disclosure=search_pb2.DISCLOSURE_LEVEL_SUMMARY,
        )
        for i in range(3)
    ]
    return search_pb2.SearchResponse(
        agency=agency,
        hits=hits,
        total_hits=3,
        disclosure=search_pb2.DISCLOSURE_LEVEL_SUMMARY,
        request_nonce=nonce,
        contact=f"{agency} liaison desk",
    )


class _Federation:
    """``cets federation serve`` for the coordinator, in its own process."""

    def __init__(self, stack: ExitStack, fed: LocalFederation, tmp: Path) -> None:
        coordinator = fed.agency(COORDINATOR)
        taken = {a.node_port for a in fed.agencies}
        port = next(p for p in iter(_free_port, 0) if p not in taken)
        self.target = f"127.0.0.1:{port}"
        self.log = tmp / "federation-service.log"
        self.process = serve_cets(
            ["federation", "serve"],
            coordinator.federation_env(listen=self.target),
            target=self.target,
            log=self.log,
        )
        stack.callback(self._stop)
        self.channel = grpc.insecure_channel(self.target)
        stack.callback(self.channel.close)
        self.stub = federation_pb2_grpc.FederationStub(self.channel)

    def _stop(self) -> None:
        stop_process(self.process, grace_s=10)

    def cpu_s(self) -> float:
        return pid_cpu_s(self.process.pid)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- measurements ------------------------------------------------------------------------------


def _request(targets: list[str], text: str = QUERY_TEXT) -> federation_pb2.FederatedSearchRequest:
    return federation_pb2.FederatedSearchRequest(
        query=build_query(text=text, limit=10),
        officer_id="bench",
        purpose="scale benchmark",
        case_reference="BENCH-SCALE",
        targets=targets,
    )


class _Tally:
    """Latencies and every agency's status over a run."""

    def __init__(self) -> None:
        self.ms: list[float] = []
        self.codes: dict[str, int] = {}
        self.failed_calls: dict[str, int] = {}
        self.short_answers = 0
        self.reasons: dict[str, int] = {}

    def add(self, started: float, response: Any, targets: int) -> None:
        self.ms.append((time.perf_counter() - started) * 1000)
        if len(response.answers) != targets:
            self.short_answers += 1
        for answer in response.answers:
            name = search_pb2.AgencyStatus.Code.Name(answer.status.code).removeprefix("CODE_")
            self.codes[name.lower()] = self.codes.get(name.lower(), 0) + 1
            if answer.status.code != search_pb2.AgencyStatus.CODE_OK:
                why = f"{answer.status.agency}: {answer.status.reason}"[:200]
                self.reasons[why] = self.reasons.get(why, 0) + 1

    def fail(self, error: grpc.RpcError) -> None:
        code = error.code().name.lower() if hasattr(error, "code") else type(error).__name__
        self.failed_calls[code] = self.failed_calls.get(code, 0) + 1

    def summary(self) -> dict[str, Any]:
        return {
            "latency_ms": stats(self.ms) if self.ms else None,
            "agency_status": dict(sorted(self.codes.items())),
            "not_ok": sum(v for k, v in self.codes.items() if k != "ok"),
            "failed_calls": self.failed_calls,
            "short_answers": self.short_answers,
            "not_ok_reasons": dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])[:10]),
        }


def _sequential(
    service: _Federation, request: Any, targets: int, count: int, timeout: float
) -> _Tally:
    tally = _Tally()
    for _ in range(count):
        started = time.perf_counter()
        try:
            response = service.stub.Search(request, timeout=timeout)
        except grpc.RpcError as exc:
            tally.fail(exc)
            continue
        tally.add(started, response, targets)
    return tally


async def _saturate(
    target: str, request: Any, targets: int, clients: int, seconds: float
) -> _Tally:
    tally = _Tally()
    async with grpc.aio.insecure_channel(target) as channel:
        stub = federation_pb2_grpc.FederationStub(channel)
        stop = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                try:
                    response = await stub.Search(request, timeout=30)
                except grpc.aio.AioRpcError as exc:
                    tally.fail(exc)
                    continue
                tally.add(started, response, targets)

        await asyncio.gather(*(client() for _ in range(clients)))
    return tally


def _measure(
    service: _Federation, fed: LocalFederation, n: int, settings: dict[str, Any]
) -> dict[str, Any]:
    targets = [_member_id(i) for i in range(n)]
    request = _request(targets)
    print(f"N={n}: sequential", file=sys.stderr, flush=True)
    _sequential(service, request, n, settings["warmup"], timeout=10)
    rounds: list[dict[str, Any]] = []
    for _ in range(settings["rounds"]):
        cpu0, peers0 = service.cpu_s(), sum(pid_cpu_s(p) for p in _PEERS)
        sequential = _sequential(service, request, n, settings["queries"], timeout=10)
        cpu1, peers1 = service.cpu_s(), sum(pid_cpu_s(p) for p in _PEERS)
        done = max(1, len(sequential.ms))
        rounds.append(
            {
                "tally": sequential,
                "cpu": (cpu1 - cpu0) * 1000 / done,
                "peer_cpu": (peers1 - peers0) * 1000 / done,
            }
        )
    result: dict[str, Any] = {
        "sequential": _over(r["tally"] for r in rounds),
        "cpu_ms_per_query": spread([r["cpu"] for r in rounds]),
        "peer_cpu_ms_per_query": spread([r["peer_cpu"] for r in rounds]),
    }
    print(f"N={n}: the fan-out alone", file=sys.stderr, flush=True)
    result["fan_out_alone"] = _fan_out_alone(fed, n, settings)

    print(f"N={n}: saturation", file=sys.stderr, flush=True)
    loads: list[dict[str, Any]] = []
    for _ in range(settings["rounds"]):
        cpu0 = service.cpu_s()
        load = asyncio.run(
            _saturate(service.target, request, n, settings["clients"], settings["seconds"])
        )
        cpu1 = service.cpu_s()
        loads.append(
            {
                "tally": load,
                "qps": len(load.ms) / settings["seconds"],
                "cpu": (cpu1 - cpu0) * 1000 / max(1, len(load.ms)),
            }
        )
    result["saturation"] = {
        **_over(r["tally"] for r in loads),
        "clients": settings["clients"],
        "seconds": settings["seconds"],
        "qps": spread([r["qps"] for r in loads], digits=1),
        "cpu_ms_per_query": spread([r["cpu"] for r in loads]),
    }

    stragglers = [_member_id(i) for i in range(0, n, 100)][: max(1, n // 100)]
    slow = _request(targets, text=f"{STRAGGLE} {' '.join(stragglers)}")
    print(f"N={n}: tail ({len(stragglers)} stragglers)", file=sys.stderr, flush=True)
    default = _sequential(service, slow, n, settings["tail_queries"], timeout=10)
    slow_all = _request(targets, text=slow.query.text)
    slow_all.wait_for_all = True
    everyone = _sequential(service, slow_all, n, settings["tail_queries"], timeout=10)
    short = _sequential(service, slow, n, settings["tail_queries"], timeout=settings["deadline_s"])
    result["tail"] = {
        "stragglers": stragglers,
        "default_deadline": default.summary(),
        "wait_for_all": everyone.summary(),
        "short_deadline": {**short.summary(), "deadline_s": settings["deadline_s"]},
    }
    return result


def _fan_out_alone(fed: LocalFederation, n: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Step 6: the fan-out engine alone, in a process of its own (see the module's text)."""
    spawn = mp.get_context("spawn")
    out = spawn.Queue()
    coordinator = fed.agency(COORDINATOR).directory / "agency.key"
    job = (str(fed.root), str(coordinator), n, settings["warmup"], settings["queries"])
    process = spawn.Process(target=_fan_out_process, args=(*job, settings["rounds"], out))
    process.start()
    try:
        found = out.get(timeout=600)
    finally:
        process.join(10)
        if process.is_alive():
            _stop_process(process)
    if isinstance(found, str):
        raise RuntimeError(f"the fan-out alone failed: {found}")
    cpu, bare, not_ok = found
    return {
        "cpu_ms_per_query": spread(cpu),
        "stream_messages_ms_per_query": spread(bare),
        "not_ok": not_ok,
    }


def _fan_out_process(
    root: str, key_file: str, n: int, warmup: int, queries: int, rounds: int, out: Any
) -> None:
    try:
        found = _fan_out_rounds(Path(root), Path(key_file), n, warmup, queries, rounds)
        out.put(runtime.run(found))  # the service's event loop
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops the run
        out.put(f"{type(exc).__name__}: {exc}")


async def _fan_out_rounds(
    root: Path, key_file: Path, n: int, warmup: int, queries: int, rounds: int
) -> tuple[list[float], list[float], int]:
    """CPU ms per query of this process (all its threads) in each round of the fan-out, and
    in each round of bare stream messages to the same peers (alternated with them); and the
    outcomes that were not OK (there should be none)."""
    from cets.common.membership import load_membership
    from cets.common.runtime import settle
    from cets.federation.fanout import FanOut, Status, Who
    from cets.federation.peers import GrpcCaller

    membership = load_membership(root / "membership.json", load_public_key(root / "admin.pub"))
    members = [m for m in map(membership.get, map(_member_id, range(n))) if m is not None]
    if len(members) != n:
        raise RuntimeError(f"{n - len(members)} of the {n} agencies are not in the membership")
    caller = GrpcCaller()
    fan_out = FanOut(agency_id=COORDINATOR, key=load_private_key(key_file), caller=caller)
    who = Who(officer_id="bench", purpose="scale benchmark", case_reference="BENCH-SCALE")
    query = build_query(text=QUERY_TEXT, limit=10)
    not_ok = 0
    settle()  # as the service does once started

    async def one() -> None:
        nonlocal not_ok
        prepared = fan_out.prepare(query, who, members, timeout_s=10)
        outcomes = await fan_out.send(prepared, deadline=time.monotonic() + 10)
        not_ok += sum(o.status is not Status.OK for o in outcomes)

    try:
        for _ in range(warmup):
            await one()
        bare = await _BareStreams.open(members)
        await bare.send_all([fan_out.prepare(query, who, members, timeout_s=10)])
        not_ok = 0
        cpu, bare_cpu = [], []
        for _ in range(rounds):
            began = time.process_time()
            for _ in range(queries):
                await one()
            cpu.append((time.process_time() - began) * 1000 / queries)
            # signed beforehand, each with its own nonce: only the messages are timed
            prepared = [fan_out.prepare(query, who, members, timeout_s=10) for _ in range(queries)]
            began = time.process_time()
            not_ok += await bare.send_all(prepared)
            bare_cpu.append((time.process_time() - began) * 1000 / queries)
        await bare.close()
    finally:
        await caller.close()
    return cpu, bare_cpu, not_ok


class _BareStreams:
    """A channel and a SearchStream of their own to each member's node: requests written as
    bare messages and one answer read back for each, nothing checked."""

    def __init__(self, channels: list[grpc.aio.Channel], calls: list[Any]) -> None:
        self._channels = channels
        self._calls = calls
        self._ids = itertools.count(1)

    @classmethod
    async def open(cls, members: list[Any]) -> _BareStreams:
        channels = [grpc.aio.insecure_channel(m.endpoint) for m in members]
        calls = [search_pb2_grpc.SearchNodeStub(c).SearchStream() for c in channels]
        for call in calls:
            await call.initial_metadata()
        return cls(channels, calls)

    async def send_all(self, fan_outs: list[list[tuple[Any, Any]]]) -> int:
        """Send each fan-out's requests (one per member, in order) and wait for every answer
        before the next fan-out; the answers that are no signed answer."""

        async def one(call: Any, request: Any) -> bool:
            message = search_pb2.StreamedSearch(
                id=next(self._ids), request=request.SerializeToString(), timeout_ms=10_000
            )
            await call.write(message)
            answer = await call.read()
            return bool(answer.HasField("answer"))

        failed = 0
        for prepared in fan_outs:
            answered = await asyncio.gather(
                *(one(call, r) for call, (_, r) in zip(self._calls, prepared, strict=True))
            )
            failed += answered.count(False)
        return failed

    async def close(self) -> None:
        for call in self._calls:
            call.cancel()
        for channel in self._channels:
            await channel.close()


def _over(tallies: Iterable[_Tally]) -> dict[str, Any]:
    """Several rounds: latency figures as spreads over the rounds, statuses summed."""
    rounds = list(tallies)
    total = _Tally()
    for tally in rounds:
        total.ms += tally.ms
        total.short_answers += tally.short_answers
        for mine, theirs in (
            (total.codes, tally.codes),
            (total.failed_calls, tally.failed_calls),
            (total.reasons, tally.reasons),
        ):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count
    summary = total.summary()
    summary["latency_ms"] = over_rounds([stats(t.ms) for t in rounds if t.ms]) if total.ms else None
    return summary


def _crypto() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        fed = build_local_federation(Path(tmp), [AgencySpec("a", "A"), AgencySpec("b", "B")])
        key = load_private_key(fed.agency("a").directory / "agency.key")
        query = build_query(text=QUERY_TEXT, limit=10)
        request = signed_request(
            query,
            requester="a",
            audience="b",
            key=key,
            officer_id="bench",
            purpose="scale benchmark",
            case_reference="BENCH-SCALE",
            created=time.time(),
            validity_s=60,
        )
        sealed = sign_answer(_answer("b", request.context.nonce), key)
        public = key.public_key()
        signer = RequestSigner(query, key)  # a fan-out encodes its query once

        return {
            "sign_request": per_op_us(
                lambda: signer.request(
                    requester="a",
                    audience="b",
                    officer_id="bench",
                    purpose="scale benchmark",
                    case_reference="BENCH-SCALE",
                    created=time.time(),
                    validity_s=60,
                )
            ),
            "verify_answer_3_hits": per_op_us(lambda: open_answer(sealed, public)),
        }


# -- report ------------------------------------------------------------------------------------


def _fmt_status(summary: dict[str, Any]) -> str:
    parts = [f"{k} {v}" for k, v in summary["agency_status"].items()]
    parts += [f"failed call ({k}) {v}" for k, v in summary["failed_calls"].items()]
    return ", ".join(parts) or "none"


def _write(report: dict[str, Any]) -> None:
    settings = report["settings"]
    sizes = report["sizes"]
    crypto = report["crypto_us"]
    lines = [
        "# Federation scale benchmark",
        "",
        header(report["machine"]),
        "",
        "Peers are node processes answering from a fixed latency distribution (lognormal, "
        f"median {MEDIAN_S * 1000:.0f} ms, sigma {SIGMA}, seeded); signatures and guards are real: "
        "each peer checks every request with the node's `RequestGuard` (signature, audience, "
        "freshness, replay) and signs its answer (three summary hits) with its agency's key. "
        f"No OpenSearch. {max(int(n) for n in sizes)} agencies, one gRPC server each on its "
        f"membership port, spread over {settings['peer_processes']} peer processes; the "
        "federation service is `cets federation serve` in its own process (audit log included), "
        "signing for a coordinator. Every query targets all N agencies. Peers, federation "
        f"service and client all run on this one {report['machine']['cpus']}-core machine and "
        "compete for the same cores.",
        "",
        f"Sequential: {settings['rounds']} rounds of {settings['queries']} queries after "
        f"{settings['warmup']} warm-up. CPU is the federation process's user + system time "
        f"over each round. Saturation: {settings['rounds']} rounds of {settings['clients']} "
        f"concurrent clients for {settings['seconds']:g} s. Each figure is the median over the "
        "rounds [lowest, highest round].",
        "",
        "| agencies | p50 ms | p99 ms | CPU ms/query | peers' CPU ms/query | "
        "qps at saturation | p99 under load ms | CPU ms/query under load | not ok |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n, r in sizes.items():
        seq, sat = r["sequential"], r["saturation"]
        lat, load = seq["latency_ms"], sat["latency_ms"]
        not_ok = seq["not_ok"] + sat["not_ok"]
        failed = sum(seq["failed_calls"].values()) + sum(sat["failed_calls"].values())
        lines.append(
            f"| {n} | {shown(lat['p50'])} | {shown(lat['p99'])} | "
            f"{shown(r['cpu_ms_per_query'])} | {shown(r['peer_cpu_ms_per_query'])} | "
            f"{shown(sat['qps'])} | {shown(load['p99'])} | {shown(sat['cpu_ms_per_query'])} | "
            f"{not_ok} answers, {failed} calls |"
        )
    lines += [
        "",
        f"Tail: 1% of the agencies (at least one) answer in {STRAGGLER_S * 1000:.0f} ms; "
        f"{settings['tail_queries']} sequential queries: with the default deadline (the "
        "service's 5 s; its tail rule gives up the last agencies once 95% have replied and "
        "half as long again, at least 100 ms, has passed), with the same deadline asking to "
        "wait for all agencies, "
        f"and with a {settings['deadline_s'] * 1000:.0f} ms gRPC deadline on the federated "
        "call.",
        "",
        "| agencies | stragglers | deadline | p50 ms | p99 ms | agency statuses |",
        "|---|---|---|---|---|---|",
    ]
    for n, r in sizes.items():
        tail = r["tail"]
        for label, key in (
            ("default", "default_deadline"),
            ("default, wait for all", "wait_for_all"),
            (f"{settings['deadline_s'] * 1000:.0f} ms", "short_deadline"),
        ):
            s = tail[key]
            lat = s["latency_ms"]
            p50, p99 = (shown(lat["p50"]), shown(lat["p99"])) if lat else ("-", "-")
            lines.append(
                f"| {n} | {len(tail['stragglers'])} | {label} | {p50} | {p99} | {_fmt_status(s)} |"
            )
    largest = max(sizes, key=int)
    per_query_us = sizes[largest]["cpu_ms_per_query"]["median"] * 1000
    # one signature for the whole fan-out, one answer to verify per agency
    crypto_us = crypto["sign_request"] + int(largest) * crypto["verify_answer_3_hits"]
    share = crypto_us / per_query_us if per_query_us else float("nan")
    report["crypto_share"] = {"agencies": int(largest), "share": round(share, 3)}
    lines += [
        "",
        f"Crypto, in-process: sign a request {crypto['sign_request']} µs, verify a three-hit "
        f"answer {crypto['verify_answer_3_hits']} µs (encoding and parsing included). At "
        f"N={largest}: one signature + {largest} x verify = {crypto_us / 1000:.1f} ms of "
        f"{per_query_us / 1000:.1f} ms CPU per query, "
        f"**{share:.0%} of the federation service's CPU**.",
        "",
        "The fan-out alone (step 6): the federation's `FanOut` with its `GrpcCaller` in a "
        "fresh process and nothing else: one signature, one message on each of N open "
        "SearchStreams (reused channels), "
        "N answers verified, parsed and checked; CPU of that process (all threads) per query, "
        f"{settings['rounds']} rounds of {settings['queries']} queries. *Answers checked* is "
        "N x the in-process verify above; *signing, gRPC, event loop* is the rest of "
        "the fan-out alone; *the service's own* is the service's CPU per query less the "
        "fan-out alone (incoming call, audit log, merge, answer).",
        "",
        "| agencies | service CPU ms/query | fan-out alone | answers checked | "
        "signing, gRPC, event loop | the service's own | not ok |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, r in sizes.items():
        alone = r["fan_out_alone"]["cpu_ms_per_query"]["median"]
        service = r["cpu_ms_per_query"]["median"]
        checks = int(n) * crypto["verify_answer_3_hits"] / 1000
        lines.append(
            f"| {n} | {service} | {shown(r['fan_out_alone']['cpu_ms_per_query'])} | "
            f"{checks:.1f} | {alone - checks:.1f} | {service - alone:.1f} | "
            f"{r['fan_out_alone']['not_ok']} |"
        )
    lines += [
        "",
        "The floor under the fan-out, in the same process and rounds (alternated with it): "
        "the same signed requests, signed beforehand, as bare messages on SearchStreams of "
        "their own to the same peers, each answered by the peer's checks and signature and "
        "nothing done with the answers (*stream messages alone*); the *floor* adds the "
        "answers checked above. *Fan-out over the floor*: what the fan-out's own code adds.",
        "",
        "| agencies | stream messages alone, CPU ms/query | answers checked | floor | "
        "fan-out alone | fan-out over the floor |",
        "|---|---|---|---|---|---|",
    ]
    for n, r in sizes.items():
        alone = r["fan_out_alone"]
        bare = alone["stream_messages_ms_per_query"]
        checks = int(n) * crypto["verify_answer_3_hits"] / 1000
        floor = bare["median"] + checks
        lines.append(
            f"| {n} | {shown(bare)} | {checks:.1f} | {floor:.1f} | "
            f"{shown(alone['cpu_ms_per_query'])} | "
            f"{alone['cpu_ms_per_query']['median'] - floor:.1f} |"
        )
    lines += [
        "",
        f"Run time {report['runtime_s']} s.",
    ]
    write("scale", report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
