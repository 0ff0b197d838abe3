"""The least this machine and the project's libraries cost, set against the goals still missed.

    .venv/bin/python bench/floors.py                        # 200 peers; bench/results/
    .venv/bin/python bench/floors.py --peers 20 --queries 5 --rounds 1 --records 1000  # quick

Each goal is set against the parts it cannot do without, measured bare on this machine:

* **coordinator CPU per query at N agencies** (goal ≤ 40 ms at 200): one message on each of
  N open grpc.aio streams (as the federation searches over its ``SearchStream`` to each node),
  one channel (own connection) per peer as the federation keeps them, to a server in another
  process that sends back a fixed, already signed answer (nothing done per message); and the N
  answers parsed and verified with the project's ``open_answer`` (Ed25519 through libsodium).
  No service, audit log, merge or answer checks: any coordinator built on these libraries pays
  at least their sum. Both ends run on the services' event loop (uvloop, as
  ``cets.common.runtime`` runs them). Beside it: N unary calls instead (grpc.aio), and the
  same calls through grpc's synchronous API (one future per call, the other way grpc's Python
  offers).
* **a node's cost over OpenSearch** (goal ≤ direct + 3 ms): a bare unary round trip (the
  typical signed request out, the typical signed answer back) from this process to a server in
  another; verifying the request; signing the answer; one durable append to the project's
  audit log (the log's fsync and its head file's), each measured alone.
* **ingest** (goal ≥ 10,000 records/s): at that rate every record may take, in all, the
  machine's cores divided by the rate. OpenSearch's share is read from the newest
  ``ingest-*.json`` here (its CPU per record during the ingest); the rest is what the node's
  Python may spend. Measured beside it, per sample record: reading the line's JSON, validating
  the record alone (the pydantic model), and the whole of ``prepare`` (validation,
  normalisation, selectors, the document), on records other than those of a first pass that
  loads what each part loads on first use (libphonenumber's metadata, say), as in a long ingest.

Each CPU figure is the process's own (user + system), per operation, as a spread over rounds.
Results go to ``bench/results/floors-<date>.md`` and ``.json``; ``run_all.py`` puts them in the
summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import orjson
from _common import RESULTS, header, machine, per_op_us, shown, spread, write
from federation_bench import _typical
from pydantic import TypeAdapter
from scale_bench import _answer

from cets.common import runtime
from cets.common.audit import AuditLog
from cets.common.grpc_server import add_methods
from cets.common.signing import open_answer, sign_answer, verify_request
from cets.core.records import IngestContext, RecordIn, prepare
from cets.search.sample_data import DEMO_AGENCIES, write_sample
from cets.v1 import search_pb2

METHOD = "/cets.floor.Bare/Call"
STREAM_METHOD = "/cets.floor.Bare/Stream"
GOALS = {"coordinator_ms": 40.0, "node_over_direct_ms": 3.0, "ingest_records_per_s": 10_000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=200, help="agencies in the fan-out")
    parser.add_argument("--queries", type=int, default=20, help="fan-outs per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--round-trips", type=int, default=2000, help="node round trips")
    parser.add_argument(
        "--records", type=int, default=5000, help="sample records for ingest (at least 1,000)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        request, typical, key, public = _typical(Path(tmp) / "keys")
        fan_answer = sign_answer(_answer("b", request.context.nonce), key).SerializeToString()
        coordinator = _coordinator(fan_answer, public, args)
        node = _node(request, typical, key, public, Path(tmp), args)
        ingest = _ingest(Path(tmp), args.records)
    report = {
        "machine": machine(),
        "settings": vars(args),
        "goals": GOALS,
        "coordinator": coordinator,
        "node": node,
        "ingest": ingest,
    }
    _write(report)
    return 0


# -- coordinator -------------------------------------------------------------------------------


def _coordinator(answer: bytes, public: Any, args: argparse.Namespace) -> dict[str, Any]:
    with _BareServer(answer) as port:
        aio, streamed = [], []
        for _ in range(args.rounds):  # alternated
            aio.append(runtime.run(_aio_round(port, args.peers, args.queries)))
            streamed.append(runtime.run(_stream_round(port, args.peers, args.queries)))
        sync = [_sync_round(port, args.peers, args.queries) for _ in range(args.rounds)]
    signed = search_pb2.SignedAnswer.FromString(answer)
    verify_us = per_op_us(lambda: open_answer(signed, public), runs=500)
    verify_ms = verify_us * args.peers / 1000
    grpc_aio, stream = spread(aio), spread(streamed)
    return {
        "peers": args.peers,
        "answer_bytes": len(answer),
        "grpc_aio_ms_per_query": grpc_aio,
        "grpc_aio_stream_ms_per_query": stream,
        "grpc_sync_futures_ms_per_query": spread(sync),
        "verify_us_per_answer": verify_us,
        "verify_ms_per_query": round(verify_ms, 2),
        "floor_calls_ms_per_query": round(grpc_aio["median"] + verify_ms, 2),
        "floor_ms_per_query": round(stream["median"] + verify_ms, 2),
    }


class _BareServer:
    """A grpc.aio server in a process of its own that answers every call with ``answer``."""

    def __init__(self, answer: bytes) -> None:
        context = mp.get_context("spawn")
        self._ready = context.Queue()
        self._process = context.Process(target=_serve, args=(answer, self._ready), daemon=True)

    def __enter__(self) -> int:
        self._process.start()
        port: int = self._ready.get(timeout=60)
        return port

    def __exit__(self, *_: object) -> None:
        self._process.terminate()
        self._process.join(10)


def _serve(answer: bytes, ready: Any) -> None:
    async def run() -> None:
        async def call(_request: bytes, _context: Any) -> bytes:
            return answer

        async def stream(requests: Any, _context: Any) -> Any:
            async for _request in requests:
                yield answer

        server = grpc.aio.server()
        service, method = METHOD.strip("/").split("/")
        _, stream_method = STREAM_METHOD.strip("/").split("/")
        handlers = {
            method: grpc.unary_unary_rpc_method_handler(call),
            stream_method: grpc.stream_stream_rpc_method_handler(stream),
        }
        add_methods(server, service, handlers)  # as the node serves its methods
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        ready.put(port)
        await server.wait_for_termination()

    runtime.run(run())


def _channel_options() -> list[tuple[str, int]]:
    # one connection per channel, as each member's node is a server of its own
    return [("grpc.use_local_subchannel_pool", 1)]


def _cpu_s() -> float:
    return time.process_time()  # every thread of this process, finer than os.times()


async def _aio_round(port: int, peers: int, queries: int) -> float:
    """CPU ms per fan-out of ``peers`` concurrent grpc.aio calls (after one to connect)."""
    target = f"127.0.0.1:{port}"
    channels = [grpc.aio.insecure_channel(target, options=_channel_options()) for _ in range(peers)]
    calls = [channel.unary_unary(METHOD, _registered_method=True) for channel in channels]
    request = os.urandom(1024)
    try:
        await asyncio.gather(*(call(request, timeout=30) for call in calls))
        began = _cpu_s()
        for _ in range(queries):
            await asyncio.gather(*(call(request, timeout=30) for call in calls))
        return (_cpu_s() - began) * 1000 / queries
    finally:
        for channel in channels:
            await channel.close()


async def _stream_round(port: int, peers: int, queries: int) -> float:
    """CPU ms per fan-out of one message to each of ``peers`` open grpc.aio streams (one per
    channel, as the federation keeps them), each answered by one message."""
    target = f"127.0.0.1:{port}"
    channels = [grpc.aio.insecure_channel(target, options=_channel_options()) for _ in range(peers)]
    streams = [c.stream_stream(STREAM_METHOD, _registered_method=True)() for c in channels]
    request = os.urandom(1024)

    async def one(stream: Any) -> Any:
        await stream.write(request)
        return await stream.read()

    try:
        await asyncio.gather(*(one(stream) for stream in streams))
        began = _cpu_s()
        for _ in range(queries):
            await asyncio.gather(*(one(stream) for stream in streams))
        return (_cpu_s() - began) * 1000 / queries
    finally:
        for stream in streams:
            stream.cancel()
        for channel in channels:
            await channel.close()


def _sync_round(port: int, peers: int, queries: int) -> float:
    """CPU ms per fan-out of ``peers`` calls through grpc's synchronous API, one future each."""
    target = f"127.0.0.1:{port}"
    channels = [grpc.insecure_channel(target, options=_channel_options()) for _ in range(peers)]
    calls = [channel.unary_unary(METHOD, _registered_method=True) for channel in channels]
    request = os.urandom(1024)
    try:
        for future in [call.future(request, timeout=30) for call in calls]:
            future.result()
        began = _cpu_s()
        for _ in range(queries):
            for future in [call.future(request, timeout=30) for call in calls]:
                future.result()
        return (_cpu_s() - began) * 1000 / queries
    finally:
        for channel in channels:
            channel.close()


# -- node --------------------------------------------------------------------------------------


def _node(
    request: Any, response: Any, key: Any, public: Any, tmp: Path, args: argparse.Namespace
) -> dict[str, Any]:
    request_bytes = request.SerializeToString()
    answer = sign_answer(response, key)
    trips = []
    with (
        _BareServer(answer.SerializeToString()) as port,
        grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        call = channel.unary_unary(METHOD, _registered_method=True)
        for _ in range(100):
            call(request_bytes, timeout=30)
        for _ in range(args.round_trips):
            began = time.perf_counter()
            call(request_bytes, timeout=30)
            trips.append((time.perf_counter() - began) * 1000)
    appends = []
    entry = {
        "kind": "node.search",
        "verified": True,
        "requester": "a",
        "query": {"text": "shared link", "selectors": ["email:john.smith@gmail.com"]},
        "hits": [f"b-tip-{i:07d}" for i in range(10)],
        "answer_sha256": "0" * 64,
    }
    with AuditLog(tmp / "audit" / "audit.log") as log:
        for _ in range(50):
            log.append(entry)
        for _ in range(500):
            began = time.perf_counter()
            log.append(entry)
            appends.append((time.perf_counter() - began) * 1000)
    round_trip = statistics.median(trips)
    verify = per_op_us(lambda: verify_request(request, public), runs=500)
    sign = per_op_us(lambda: sign_answer(response, key), runs=500)
    append = statistics.median(appends)
    return {
        "request_bytes": len(request_bytes),
        "answer_bytes": answer.ByteSize(),
        "round_trip_ms_p50": round(round_trip, 3),
        "verify_request_us": verify,
        "sign_answer_us": sign,
        "durable_append_ms_p50": round(append, 3),
        "floor_ms": round(round_trip + (verify + sign) / 1000 + append, 3),
    }


# -- ingest ------------------------------------------------------------------------------------


def _ingest(tmp: Path, records: int) -> dict[str, Any]:
    agency = DEMO_AGENCIES[0]
    write_sample(tmp, [agency], 2 * records, seed=11)
    every = [line for line in (tmp / f"{agency.id}.ndjson").read_bytes().splitlines() if line]
    warm, lines = every[: len(every) // 2], every[len(every) // 2 :]
    ctx = IngestContext(agency.id, os.urandom(32), agency.region)
    adapter: TypeAdapter[Any] = TypeAdapter(RecordIn)
    for line in warm:  # first use: metadata loaded, patterns compiled (not these records)
        prepare(orjson.loads(line), ctx)
    raws = [orjson.loads(line) for line in lines]

    def per_record(step: Any, items: list[Any]) -> float:
        began = _cpu_s()
        for item in items:
            step(item)
        return round((_cpu_s() - began) / len(items) * 1e6, 1)

    cores = os.cpu_count() or 1
    budget = cores * 1e6 / GOALS["ingest_records_per_s"]
    opensearch, source = _opensearch_share()
    return {
        "records": len(lines),
        "cores": cores,
        "budget_us_per_record": round(budget),
        "opensearch_us_per_record": opensearch,
        "opensearch_from": source,
        "python_budget_us_per_record": round(budget - opensearch) if opensearch else None,
        "read_json_us": per_record(orjson.loads, lines),
        "validate_us": per_record(adapter.validate_python, raws),
        "prepare_us": per_record(lambda raw: prepare(raw, ctx), raws),
    }


def _opensearch_share() -> tuple[float | None, str]:
    """OpenSearch's CPU per record during the ingest, from the newest ingest benchmark here."""
    results = Path(os.environ.get("CETS_BENCH_RESULTS") or RESULTS)
    found = sorted(results.glob("ingest-*.json"), key=lambda p: p.stem.split("-")[-1])
    if not found:
        return None, ""
    report = json.loads(found[-1].read_text())
    share = report["cpu_us_per_record"]["ingest"]["opensearch"]
    return float(share["median"] if isinstance(share, dict) else share), found[-1].name


# -- report ------------------------------------------------------------------------------------


def _write(report: dict[str, Any]) -> None:
    c, n, i = report["coordinator"], report["node"], report["ingest"]
    goals = report["goals"]
    python_left = (
        f"{i['python_budget_us_per_record']} (OpenSearch {i['opensearch_us_per_record']}, "
        f"from {i['opensearch_from']})"
        if i["python_budget_us_per_record"] is not None
        else "- (no ingest benchmark here yet)"
    )
    peers, per_s = c["peers"], goals["ingest_records_per_s"]
    fan, node, rec = "coordinator, per query", "node, per search", "ingest, per record"
    rows = [
        (fan, f"{peers} grpc.aio calls, client CPU (ms)", shown(c["grpc_aio_ms_per_query"])),
        (
            fan,
            f"one message on each of {peers} grpc.aio streams, client CPU (ms)",
            shown(c["grpc_aio_stream_ms_per_query"]),
        ),
        (
            fan,
            f"{peers} calls, grpc sync API futures, CPU (ms)",
            shown(c["grpc_sync_futures_ms_per_query"]),
        ),
        (
            fan,
            f"verify {peers} answers (ms; {c['verify_us_per_answer']} µs each)",
            str(c["verify_ms_per_query"]),
        ),
        (fan, "calls + verify (ms)", str(c["floor_calls_ms_per_query"])),
        (
            fan,
            f"**floor**: stream messages + verify (goal ≤ {goals['coordinator_ms']:g} ms)",
            f"**{c['floor_ms_per_query']}**",
        ),
        (node, "bare gRPC round trip, p50 (ms)", str(n["round_trip_ms_p50"])),
        (node, "verify the request (µs)", str(n["verify_request_us"])),
        (node, "sign the answer (µs)", str(n["sign_answer_us"])),
        (node, "durable audit append, p50 (ms)", str(n["durable_append_ms_p50"])),
        (
            node,
            f"**floor** over OpenSearch (ms; budget {goals['node_over_direct_ms']:g})",
            f"**{n['floor_ms']}**",
        ),
        (
            rec,
            f"all CPU at {per_s:,}/s on {i['cores']} cores (µs)",
            str(i["budget_us_per_record"]),
        ),
        (rec, "of which Python may spend (µs)", python_left),
        (rec, "read the line's JSON (µs)", str(i["read_json_us"])),
        (rec, "validate the record alone (µs)", str(i["validate_us"])),
        (rec, "prepare: all the per-record work (µs)", str(i["prepare_us"])),
    ]
    table = "\n".join(f"| {a} | {b} | {v} |" for a, b, v in rows)
    markdown = (
        "# Floors: the least the parts cost here, against the goals\n\n"
        f"{header(report['machine'])}\n\n"
        f"Coordinator: answers of {c['answer_bytes']} bytes (three summary hits), signed once; "
        f"{report['settings']['queries']} fan-outs per round, {report['settings']['rounds']} "
        f"rounds. Node: a request of {n['request_bytes']} bytes and an answer of "
        f"{n['answer_bytes']} bytes (ten full hits), {report['settings']['round_trips']} round "
        f"trips one at a time; 500 audit appends. Ingest: {i['records']:,} sample records. "
        "CPU figures are this process's own; see the script for what each part leaves out.\n\n"
        "| goal | part | measured |\n|---|---|---|\n"
        f"{table}\n"
    )
    write("floors", report, markdown)


if __name__ == "__main__":
    raise SystemExit(main())
