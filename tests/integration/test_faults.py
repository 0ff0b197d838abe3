"""Processes killed at the worst moment: real ``cets`` processes, started with the settings the
local federation would use in-process, are sent SIGKILL while they work.

- ``cets ingest`` killed in the middle of its bulk requests, then run again: every valid record
  of the file is in OpenSearch exactly once, and the second run's summary says so.
- A search node killed while federated searches wait on it: every federated answer still
  arrives within its deadline, the dead agency is reported unavailable with a reason, and the
  other agencies answer in full. The node's audit log verifies and holds every search it
  answered; the node restarts on that log and the federation reaches it again within its
  reconnect backoff.
- The federation service killed while it writes audit entries under concurrent searches: its
  audit log verifies, and every search an officer got an answer for is in it (what was sent
  and what came back). It restarts on that log and carries on.

(``tests/integration/test_node_recovery.py`` covers an agency's OpenSearch going away under
a running node.)
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opensearchpy import OpenSearch

from cets.common.audit import AuditEntry, read_entries
from cets.common.channels import MAX_RECONNECT_BACKOFF_MS
from cets.core.display import build_query
from cets.core.records import IngestContext, prepare
from cets.demo.local import AgencySpec, build_local_federation
from cets.search.index import IndexNames
from cets.search.store import connect
from cets.v1 import federation_pb2, federation_pb2_grpc, search_pb2
from stacks import EMAILS, Stack, local_stack, suspect_records

pytestmark = [pytest.mark.opensearch, pytest.mark.timeout(120)]

CETS = Path(sys.executable).with_name("cets")
"""The ``cets`` command of the environment running the tests."""
OK = search_pb2.AgencyStatus.CODE_OK
UNAVAILABLE = search_pb2.AgencyStatus.CODE_UNAVAILABLE
AGENCIES = ("tps", "rcmp", "nca")
QUERY = build_query(selectors=[f"email:{EMAILS['tps']}"])
"""Finds the planted suspect at every agency (each wrote the address differently)."""
EXPECTED = {a: frozenset({f"{a}-person", f"{a}-tip"}) for a in AGENCIES}
"""What each agency's open policy releases for ``QUERY``."""


# --- processes ---------------------------------------------------------------------------------


def _env(settings: Mapping[str, str]) -> dict[str, str]:
    """This environment without any cets setting of its own, plus ``settings``."""
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith("CETS_") and k != "OPENSEARCH_URL"
    }
    return {**inherited, "CETS_LOG_LEVEL": "WARNING", **settings}


class Cets:
    """``cets ARGS`` as a child process, its stderr in ``log`` and its stdout next to it;
    always gone after the block."""

    def __init__(self, args: list[str], settings: Mapping[str, str], log: Path) -> None:
        self.log = log
        self.stdout = log.with_name(log.name + ".stdout")
        with log.open("ab") as err, self.stdout.open("ab") as out:
            self.process = subprocess.Popen(
                [str(CETS), *args], env=_env(settings), stdout=out, stderr=err
            )

    def __enter__(self) -> Cets:
        return self

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def kill(self) -> None:
        """SIGKILL, and wait until the process is gone."""
        self.process.kill()
        assert self.process.wait(10) == -signal.SIGKILL

    def stop(self) -> int:
        """SIGTERM (a graceful stop); the exit code."""
        self.process.terminate()
        return self.process.wait(20)

    def output(self) -> str:
        """What it wrote to stderr (logs, errors)."""
        return self.log.read_text(errors="replace")


def _wait_serving(target: str, process: Cets, timeout_s: float = 30.0) -> None:
    """Until the gRPC service at ``target`` reports SERVING; fails if the process ends first."""
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert process.process.poll() is None, f"it exited:\n{process.output()}"
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.05)
    raise AssertionError(f"{target} did not start serving in {timeout_s}s:\n{process.output()}")


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _verify(log: Path) -> str:
    """``cets audit verify LOG``, which must pass; its output."""
    run = subprocess.run(
        [str(CETS), "audit", "verify", str(log)],
        env=_env({}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "chain intact" in run.stdout
    return run.stdout


# --- 1. ingest ---------------------------------------------------------------------------------

BAD_LINES = [
    b"{not json",
    b'{"id": "bad-1", "type": "spaceship", "created": "2025-01-01"}',
    b'{"id": "bad-2", "type": "person", "created": "2025-01-01"}',
]


def _count(client: OpenSearch, alias: str) -> int:
    if not client.indices.exists(index=alias):  # the ingest has not created it yet
        return 0
    client.indices.refresh(index=alias)
    return int(client.count(index=alias)["count"])


def _settled_count(client: OpenSearch, alias: str) -> int:
    """The count once a bulk request that was in flight when its sender died has landed."""
    counts = [_count(client, alias)]
    deadline = time.monotonic() + 15
    while len(counts) < 4 or len(set(counts[-4:])) > 1:
        assert time.monotonic() < deadline, f"the count keeps changing: {counts}"
        time.sleep(0.1)
        counts.append(_count(client, alias))
    return counts[-1]


def test_ingest_killed_mid_bulk_then_rerun_holds_every_valid_record_once(
    tmp_path: Path, opensearch_url: str, agency_id: str
) -> None:
    fed = build_local_federation(tmp_path / "federation", [AgencySpec("tps", "TPS", "CA")])
    agency = fed.agency("tps")
    prefix = agency_id  # indices of this test's own
    settings = agency.node_env(opensearch_url, index_prefix=prefix)
    generated = subprocess.run(
        [str(CETS), "sample", "generate", str(tmp_path), "--records", "1200", "--agencies", "tps"],
        env=_env({}),
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert b"tps.ndjson" in generated.stdout
    path = tmp_path / "tps.ndjson"
    lines = path.read_bytes().splitlines()
    # a few lines that are not records, and a later version of the first record (same id)
    again = json.loads(lines[0]) | {"text": "corrected later in the same file"}
    lines = [BAD_LINES[0], *lines, BAD_LINES[1], json.dumps(again).encode(), BAD_LINES[2]]
    path.write_bytes(b"\n".join(lines) + b"\n")
    ctx = IngestContext("tps", agency.card_key, "CA")
    ids: list[str] = []
    for line in lines:
        with suppress(ValueError):  # broken JSON, or a RecordError: not a valid record
            ids.append(prepare(json.loads(line), ctx).record_id)
    valid = set(ids)
    assert len(ids) == len(valid) + 1 > 1000  # one id twice, the rest distinct

    alias = IndexNames(prefix, "tps").alias
    command = ["ingest", str(path), "--batch-size", "50", "--json", "--no-progress"]
    client = connect(opensearch_url)
    try:
        with Cets(command, settings, tmp_path / "ingest-1.log") as first:
            _wait_for(
                lambda: first.process.poll() is not None or _count(client, alias) > 0,
                60,
                "the first records",
            )
            assert first.process.poll() is None, "the ingest ended before it could be killed"
            first.kill()
        before = _settled_count(client, alias)
        assert 0 < before < len(valid), "killed in the middle of the bulk requests"

        with Cets(command, settings, tmp_path / "ingest-2.log") as second:
            assert second.process.wait(90) == 0, second.output()
        summary = json.loads(second.stdout.read_text())
        assert summary["read"] == len(lines)
        assert summary["rejected"] == len(BAD_LINES)
        assert summary["duplicates"] == 1
        assert summary["indexed"] == len(ids)
        assert summary["new"] == len(valid) - before  # what the killed run never got to
        assert summary["replaced"] == len(ids) - summary["new"]
        assert summary["in_index"] == len(valid)
        rejects = (tmp_path / "tps.ndjson.rejects.ndjson").read_text().splitlines()
        assert [json.loads(r)["line"] for r in rejects] == [1, len(lines) - 2, len(lines)]

        assert _count(client, alias) == len(valid)
        found = client.search(
            index=alias, body={"size": 10_000, "_source": False, "query": {"match_all": {}}}
        )["hits"]["hits"]
        stored = [hit["_id"] for hit in found]
        assert len(stored) == len(set(stored)) == len(valid)  # no id twice
        assert set(stored) == valid  # and exactly the file's records
    finally:
        client.indices.delete(index=f"{alias}-v*", ignore_unavailable=True)
        client.close()


# --- federated searches ------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    code: int
    reason: str
    records: frozenset[str]


@dataclass
class Result:
    """One federated search as the officer's side saw it."""

    case: str
    started: float
    ended: float
    error: grpc.StatusCode | None = None
    answers: dict[str, Answer] = field(default_factory=dict)

    @property
    def took(self) -> float:
        return self.ended - self.started


async def _federated(stub: Any, case: str, deadline_s: float) -> Result:
    request = federation_pb2.FederatedSearchRequest(
        query=QUERY, officer_id="det-4521", purpose="fault test", case_reference=case
    )
    started = time.monotonic()
    try:
        response = await stub.Search(request, timeout=deadline_s)
    except grpc.aio.AioRpcError as exc:
        return Result(case, started, time.monotonic(), error=exc.code())
    ended = time.monotonic()
    answers = {
        a.status.agency: Answer(
            a.status.code, a.status.reason, frozenset(h.record_id for h in a.response.hits)
        )
        for a in response.answers
    }
    return Result(case, started, ended, answers=answers)


class Load:
    """``workers`` officers searching through the federation service at ``target`` without a
    pause, each search with a case reference of its own, until :meth:`stop`."""

    def __init__(self, target: str, name: str, *, workers: int, deadline_s: float) -> None:
        self.results: list[Result] = []
        self._target = target
        self._name = name
        self._workers = workers
        self._deadline = deadline_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> list[Result]:
        self._stop.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, self._deadline + 10)
        return self.results

    async def until(self, condition: Callable[[list[Result]], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition(self.results):
            assert self._task is not None and not self._task.done(), "the load ended early"
            assert time.monotonic() < deadline, "timed out waiting on the searches"
            await asyncio.sleep(0.01)

    async def _run(self) -> None:
        async with grpc.aio.insecure_channel(self._target) as channel:
            stub = federation_pb2_grpc.FederationStub(channel)
            await asyncio.gather(*(self._officer(stub, n) for n in range(self._workers)))

    async def _officer(self, stub: Any, number: int) -> None:
        count = 0
        while not self._stop.is_set():
            result = await _federated(stub, f"{self._name}-{number}-{count}", self._deadline)
            self.results.append(result)
            count += 1
            if result.error is not None:  # the service is gone: do not spin
                await asyncio.sleep(0.05)


@contextmanager
def _agencies(tmp_path: Path, opensearch_url: str, prefix: str) -> Iterator[Stack]:
    """tps, rcmp and nca with open policies and the planted suspect's records in indices
    named ``prefix-...``, nothing running yet. The indices go afterwards."""
    specs = [AgencySpec(a, a.upper(), "GB" if a == "nca" else "CA") for a in AGENCIES]
    with local_stack(
        opensearch_url, tmp_path, specs, index_prefix=prefix, drop_indices=True
    ) as stack:
        stack.ingest({a: suspect_records(a) for a in AGENCIES})
        yield stack


def _events(log: Path, kind: str) -> list[dict[str, Any]]:
    entries: list[AuditEntry] = list(read_entries(log))
    return [e.event for e in entries if e.event.get("kind") == kind]


def _in_full(result: Result, agency: str) -> bool:
    answer = result.answers.get(agency)
    return answer is not None and answer.code == OK and answer.records == EXPECTED[agency]


# --- 2. a node killed mid-query ----------------------------------------------------------------

DEADLINE_S = 5.0
"""Each federated search's deadline, set by the officer's side: ample on a busy machine, so
that only the killed node can make an agency's answer miss it."""


def test_a_node_killed_mid_query_is_reported_unavailable_within_the_deadline(
    tmp_path: Path, opensearch_url: str, agency_id: str
) -> None:
    with _agencies(tmp_path, opensearch_url, agency_id) as stack:
        fed, prefix = stack.fed, stack.index_prefix
        stack.start_nodes(["tps", "rcmp"])
        nca = fed.agency("nca")
        node_settings = nca.node_env(opensearch_url, index_prefix=prefix)
        node = stack.enter_context(Cets(["node", "serve"], node_settings, tmp_path / "nca.log"))
        _wait_serving(nca.node_target, node)
        federation = stack.start_federation("tps")
        node_log = nca.directory / "audit" / "node.log"

        async def scenario() -> tuple[list[Result], float, float, float]:
            load = Load(federation.target, "kill-node", workers=8, deadline_s=DEADLINE_S)
            load.start()
            await load.until(lambda rs: sum(_in_full(r, "nca") for r in rs) >= 24, 30)
            # freeze the node so that every officer's current search waits on it, then kill it
            node.process.send_signal(signal.SIGSTOP)
            frozen = time.monotonic()
            await asyncio.sleep(0.5)
            killing = time.monotonic()
            await asyncio.to_thread(node.kill)
            killed = time.monotonic()
            await asyncio.sleep(1.0)  # searches go on while the node is down
            return await load.stop(), frozen, killing, killed

        results, frozen, killing, killed = asyncio.run(scenario())

        for result in results:
            assert result.error is None, result  # every search answered...
            assert result.took < DEADLINE_S  # ...within its deadline
            assert _in_full(result, "tps") and _in_full(result, "rcmp"), result
            nca_answer = result.answers["nca"]
            if result.ended < frozen:
                assert _in_full(result, "nca"), result
            elif result.started > frozen:
                assert nca_answer.code == UNAVAILABLE and nca_answer.reason, result
            if nca_answer.code != OK:
                assert nca_answer.code == UNAVAILABLE and nca_answer.reason, result
        waited = [r for r in results if r.started < killing < r.ended]
        assert len(waited) == 8  # each officer had a search in flight when the node died
        # those still waiting on the node (not those it answered before it froze) went on
        # without it; started after the freeze, a search can only have waited on it
        stuck = [r for r in waited if r.answers["nca"].code != OK]
        assert stuck and all(r.answers["nca"].code == UNAVAILABLE for r in stuck)
        assert all(r in stuck for r in waited if r.started > frozen)
        assert any(r.started > killed for r in results)  # and searched on while it was down

        # the node's audit log survived the kill, and holds every search it answered
        _verify(node_log)
        answered = {e["case"]: e for e in _events(node_log, "node.search") if e["outcome"] == "ok"}
        for result in results:
            if result.answers["nca"].code == OK:
                entry = answered[result.case]
                assert entry["requester"] == "tps"
                assert {r["record"] for r in entry["released"]} == EXPECTED["nca"]

        # the node restarts on the same log and port, and the federation reaches it again
        # within its reconnect backoff (gRPC's default grows to two minutes)
        again = stack.enter_context(Cets(["node", "serve"], node_settings, tmp_path / "nca.log"))
        _wait_serving(nca.node_target, again)
        serving = time.monotonic()
        reconnect_s = MAX_RECONNECT_BACKOFF_MS / 1000 * 1.2 + 4.0  # jitter, and a margin

        async def recovery() -> list[Result]:
            load = Load(federation.target, "restarted", workers=1, deadline_s=DEADLINE_S)
            load.start()
            await load.until(lambda rs: any(_in_full(r, "nca") for r in rs), reconnect_s)
            return await load.stop()

        after = asyncio.run(recovery())
        assert all(r.error is None and _in_full(r, "tps") for r in after)
        assert min(r.ended for r in after if _in_full(r, "nca")) - serving < reconnect_s
        assert again.stop() == 0, again.output()
        _verify(node_log)
        cases = {e["case"] for e in _events(node_log, "node.search") if e["outcome"] == "ok"}
        assert {r.case for r in after if _in_full(r, "nca")} <= cases


# --- 3. the federation service killed while it writes audit entries ---------------------------


def test_the_federation_killed_under_load_keeps_an_audit_entry_for_every_answer(
    tmp_path: Path, opensearch_url: str, agency_id: str
) -> None:
    with _agencies(tmp_path, opensearch_url, agency_id) as stack:
        stack.start_nodes()
        tps = stack.fed.agency("tps")
        settings = tps.federation_env()
        service = stack.enter_context(
            Cets(["federation", "serve"], settings, tmp_path / "federation.log")
        )
        _wait_serving(tps.federation_target, service)
        log = tps.directory / "audit" / "federation.log"

        async def scenario() -> list[Result]:
            load = Load(tps.federation_target, "kill-fed", workers=16, deadline_s=10.0)
            load.start()
            await load.until(lambda rs: sum(r.error is None for r in rs) >= 60, 30)
            await asyncio.to_thread(service.kill)
            return await load.stop()

        results = asyncio.run(scenario())
        answered = [r for r in results if r.error is None]
        assert all(all(_in_full(r, a) for a in AGENCIES) for r in answered)
        assert {r.error for r in results} == {None, grpc.StatusCode.UNAVAILABLE}

        _verify(log)
        sent = _events(log, "federation.sent")
        received = _events(log, "federation.answered")
        sent_by_case = {e["case"]: e for e in sent}
        received_by_case = {e["case"]: e for e in received}
        assert len(sent_by_case) == len(sent) and len(received_by_case) == len(received)
        assert set(received_by_case) <= set(sent_by_case)  # nothing answered that was not sent
        # every search the officers got an answer for: what was sent, and what came back
        for result in answered:
            request, answer = sent_by_case[result.case], received_by_case[result.case]
            nonces = {t["agency"]: t["nonce"] for t in request["targets"]}
            assert sorted(nonces) == sorted(AGENCIES)
            assert {a["agency"]: (a["status"], a["nonce"]) for a in answer["answers"]} == {
                agency: ("ok", nonce) for agency, nonce in nonces.items()
            }
            for entry in answer["answers"]:
                assert set(entry["records"]) == result.answers[entry["agency"]].records
        # searches cut off by the kill were recorded as sent, at most one per officer
        assert len(sent) - len(received) <= 16

        # it restarts on the same log and carries on
        again = stack.enter_context(
            Cets(["federation", "serve"], settings, tmp_path / "federation.log")
        )
        _wait_serving(tps.federation_target, again)

        async def one() -> Result:
            async with grpc.aio.insecure_channel(tps.federation_target) as channel:
                stub = federation_pb2_grpc.FederationStub(channel)
                return await _federated(stub, "after-restart", 10.0)

        result = asyncio.run(one())
        assert result.error is None and all(_in_full(result, a) for a in AGENCIES)
        assert again.stop() == 0, again.output()
        _verify(log)
        assert [e["case"] for e in _events(log, "federation.answered")][-1] == "after-restart"
        assert len(_events(log, "federation.sent")) == len(sent) + 1
        leftovers = [p.name for p in log.parent.iterdir() if p.name.endswith(".tmp")]
        assert leftovers == []


# --- 4. the gateway killed while it writes audit entries --------------------------------------


@pytest.mark.timeout(300)
def test_the_gateway_killed_under_load_keeps_an_audit_entry_for_every_answer(
    tmp_path: Path, opensearch_url: str, agency_id: str
) -> None:
    import socket

    import httpx

    from cets.common.keys import load_private_key
    from cets.gateway.tokens import issue_token

    with _agencies(tmp_path, opensearch_url, agency_id) as stack:
        stack.start_nodes()
        tps = stack.fed.agency("tps")
        stack.start_federation("tps")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        log = tps.directory / "audit" / "gateway.log"
        settings = {
            "CETS_AGENCY_ID": "tps",
            "CETS_OFFICER_KEY_FILE": str(tps.directory / "officer.pub"),
            "CETS_GATEWAY_AUDIT_LOG": str(log),
            "CETS_FEDERATION_TARGET": stack.federations["tps"],
            "CETS_GATEWAY_PORT": str(port),
            "CETS_GATEWAY_RATE_LIMIT": "100000/minute",
            "CETS_GATEWAY_TIMEOUT_S": "10",
        }
        officer_key = load_private_key(tps.directory / "officer.key")
        headers = {
            "Authorization": "Bearer " + issue_token(officer_key, officer="kill-gw", agency="tps")
        }
        base = f"http://127.0.0.1:{port}"

        def start() -> Cets:
            gateway = stack.enter_context(
                Cets(["gateway", "serve"], settings, tmp_path / "gateway.log")
            )

            def ready() -> bool:
                assert gateway.process.poll() is None, gateway.output()
                try:
                    return httpx.get(f"{base}/v1/ready", timeout=1).status_code == 200
                except httpx.HTTPError:
                    return False

            _wait_for(ready, 60, "the gateway")
            return gateway

        gateway = start()
        answered: list[str] = []
        failed: list[str] = []

        async def officer(client: httpx.AsyncClient, number: int, stop: asyncio.Event) -> None:
            count = 0
            while not stop.is_set():
                case = f"gw-{number}-{count}"
                count += 1
                body = {
                    "query": {"selectors": [f"email:{EMAILS['tps']}"]},
                    "purpose": "investigation of online luring",
                    "case_reference": case,
                }
                try:
                    reply = await client.post(f"{base}/v1/search", json=body, headers=headers)
                except httpx.HTTPError:
                    failed.append(case)
                    await asyncio.sleep(0.05)
                    continue
                assert reply.status_code == 200, reply.text
                answered.append(case)

        async def scenario() -> None:
            stop = asyncio.Event()
            async with httpx.AsyncClient(timeout=20) as client:
                tasks = [asyncio.create_task(officer(client, n, stop)) for n in range(12)]
                deadline = time.monotonic() + 60
                while len(answered) < 20:
                    assert time.monotonic() < deadline, "too few searches answered"
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(gateway.kill)
                await asyncio.sleep(0.5)
                stop.set()
                await asyncio.gather(*tasks)

        asyncio.run(scenario())
        assert failed, "the kill cut no search off"
        _verify(log)  # the chain is intact after SIGKILL
        entries = _events(log, "gateway.search")
        recorded = [e["case"] for e in entries]
        assert len(recorded) == len(set(recorded))
        # every answer an officer got was recorded before it left, with what was shown
        assert set(answered) <= set(recorded)
        for entry in entries:
            assert entry["officer"] == "kill-gw"
            assert entry["statuses"] == {a: "ok" for a in AGENCIES}
        # at most the searches in flight at the kill were recorded but never answered
        assert len(set(recorded) - set(answered)) <= 12

        # it restarts on the same log and carries on
        again = start()
        reply = httpx.post(
            f"{base}/v1/search",
            json={
                "query": {"selectors": [f"email:{EMAILS['tps']}"]},
                "purpose": "investigation of online luring",
                "case_reference": "gw-after-restart",
            },
            headers=headers,
            timeout=20,
        )
        assert reply.status_code == 200, reply.text
        # uvicorn ends by raising the SIGTERM it handled again, after its graceful shutdown
        assert again.stop() in (0, -signal.SIGTERM), again.output()
        _verify(log)
        assert [e["case"] for e in _events(log, "gateway.search")][-1] == "gw-after-restart"
