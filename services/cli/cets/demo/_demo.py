"""The local demo: a federation of agencies, each with its own OpenSearch, node and federation
service, talking mutual TLS, each with its own sharing policy.

``cets demo`` (``make demo``):

1. writes the federation's keys, signed membership, policies and TLS certificates;
2. starts one OpenSearch per agency (or uses ``OPENSEARCH_URL_<AGENCY>`` / ``OPENSEARCH_URL``);
3. writes synthetic investigations with planted cross-agency links and ingests each agency's
   share into its own OpenSearch;
4. starts every agency's search node, federation service and gateway (the officers' REST API
   and web page), plus a coordinator's federation service;
5. runs federated searches for a planted suspect — as an officer of the first agency, then as
   the coordinator — printing every agency's status and what its policy released;
6. opens a case at the first agency's gateway, searches under it, pins a hit and watches the
   suspect's e-mail at every partner; a second agency then ingests a tip naming the address
   written another way, its ingest says whom to contact, and the alert reaches the case;
7. verifies every audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import uvicorn

from cets.common.audit import verify
from cets.common.keys import load_private_key
from cets.common.membership import Role
from cets.common.tls import ClientTls, ServerTls, issue, make_ca
from cets.core.display import build_query
from cets.core.errors import ConfigError
from cets.core.records import IngestContext
from cets.demo.local import AgencySpec, LocalAgency, LocalFederation, build_local_federation
from cets.federation.config import FederationConfig
from cets.federation.display import format_federated
from cets.federation.server import FederationServer
from cets.gateway.display import format_page
from cets.gateway.server import build_app
from cets.gateway.tokens import issue_token
from cets.search import embedded_opensearch as eo
from cets.search.config import NodeConfig
from cets.search.errors import NodeError
from cets.search.ingest import IngestSummary, ingest_file
from cets.search.sample_data import DEMO_AGENCIES, SampleAgency, write_sample
from cets.search.server import NodeServer
from cets.search.store import connect
from cets.search.watches import WatchIndexNames, WatchMatcher, watch_key
from cets.v1 import federation_pb2, federation_pb2_grpc, search_pb2

__all__ = ["DemoError", "run_demo"]

_log = logging.getLogger(__name__)
INDEX_PREFIX = "cets-demo"
CASE = "DEMO-2026-0001"
ALERT_POLL_S = 5.0
COORDINATOR = AgencySpec(
    "icse",
    "International child sexual exploitation desk",
    "FR",
    roles=frozenset({Role.COORDINATOR}),
)
# Three different attitudes to sharing, so the demo shows each disclosure level.
POLICIES = [
    'contact = "{name}"\n[defaults]\nmember = "full"\ncoordinator = "summary"\n',
    'contact = "{name}"\n[defaults]\nmember = "summary"\ncoordinator = "hit"\n'
    '[[rule]]\nhandling = ["red"]\nlevel = "deny"\n',
    'contact = "{name}"\n[defaults]\nmember = "hit"\ncoordinator = "hit"\n',
]
Out = Callable[[str], None]


class DemoError(Exception):
    """The demo could not run; the message says why and what to do."""


@dataclass
class _Running:
    agency: LocalAgency
    sample: SampleAgency
    url: str = ""
    node: NodeServer | None = None
    federation: FederationServer | None = None


async def run_demo(*, agencies: int, records: int, keep_running: bool, out: Out) -> None:
    chosen = list(DEMO_AGENCIES[:agencies])
    workdir = Path(tempfile.mkdtemp(prefix="cets-demo-"))
    engines: list[eo.EmbeddedOpenSearch] = []
    running: list[_Running] = []
    coordinator: FederationServer | None = None
    gateways: list[uvicorn.Server] = []
    try:
        fed = _federation(workdir, chosen)
        running = [_Running(fed.agency(s.id), s) for s in chosen]
        out(
            "== federation: "
            + ", ".join(f"{a.sample.name} ({a.sample.id})" for a in running)
            + f", coordinator {COORDINATOR.id}"
        )
        out("   keys, signed membership, policies and mutual-TLS certificates in " + str(workdir))
        await asyncio.to_thread(_opensearch_for, running, engines, out)
        out(f"== sample data: {records} records with planted cross-agency links")
        await asyncio.to_thread(write_sample, workdir / "sample", chosen, records, seed=7)
        for item in running:
            summary = await asyncio.to_thread(_ingest, item, workdir / "sample")
            out(
                f"   {item.sample.id}: indexed {summary.indexed} of {summary.read} records, "
                f"rejected {summary.rejected}, {summary.seconds:.1f}s"
            )
        out("== search nodes and federation services (mutual TLS between them)")
        for item in running:
            item.node = NodeServer(_node_config(item, workdir))
            await item.node.start()
            item.federation = FederationServer(_federation_config(item.agency, workdir))
            await item.federation.start()
            out(
                f"   {item.sample.id}: node {item.agency.node_target}, "
                f"federation {item.agency.federation_target}, policy: {_policy_name(item)}"
            )
        coordinator = FederationServer(_federation_config(fed.agency(COORDINATOR.id), workdir))
        await coordinator.start()
        await _searches(running, fed, workdir / "sample" / "links.json", out)
        urls: dict[str, str] = {}
        for item in running:  # officer tokens are bound to their agency: a gateway each
            server, urls[item.agency.id] = await _start_gateway(item.agency)
            gateways.append(server)
        first = running[0].agency
        url = urls[first.id]
        links = workdir / "sample" / "links.json"
        case = await _open_case(first, url, out) if len(running) > 1 else None
        answer = await _gateway_search(first, url, links, out)
        if case is not None and answer is not None:
            await _investigation(running, url, answer, links, workdir, out)
        out("\n== audit logs")
        for log in sorted(workdir.glob("federation/*/audit/*.log")):
            report = verify(log)
            state = "chain intact" if report.ok else f"{len(report.problems)} problems"
            out(f"   {log.parent.parent.name}/{log.name}: {report.entries} entries, {state}")
        if keep_running:
            out(_while_running(running, urls, workdir))
            await _wait_for_signal()
    except (ConfigError, NodeError) as exc:
        raise DemoError(str(exc)) from None
    finally:
        for server in gateways:
            server.should_exit = True
        if gateways:
            await asyncio.sleep(0.2)
        if coordinator is not None:
            await coordinator.stop(1.0)
        for item in running:
            for service in (item.federation, item.node):
                if service is not None:
                    await service.stop(1.0)
        await asyncio.to_thread(_stop_engines, engines)
        shutil.rmtree(workdir, ignore_errors=True)


def _while_running(running: list[_Running], urls: dict[str, str], workdir: Path) -> str:
    """How to use the running demo: each agency's web page and an officer token for it (a
    token works only at its own agency's gateway), and how to add records of one's own.

    Writes each agency's node settings to ``<workdir>/<agency>.env`` so that ``cets ingest``
    writes where that agency's node searches (the demo's indexes carry the prefix
    :data:`INDEX_PREFIX`, not the default ``cets``).
    """
    for item in running:
        env = item.agency.node_env(item.url, index_prefix=INDEX_PREFIX)
        lines = [f"{name}={value}" for name, value in sorted(env.items())]
        (workdir / f"{item.agency.id}.env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    last = running[-1].agency
    url, officer = urls[last.id], _officer_token(last)
    lines = [
        "",
        "Everything is up; Ctrl-C stops it. Each agency has its own gateway: sign in to its",
        "web page with its officer token (a token works only at its own agency's gateway) to",
        "see what that agency's officers see.",
    ]
    for item in running:
        at = urls[item.agency.id]
        lines += [
            f"  {item.agency.id}: web page {at}/    API docs {at}/docs",
            f"    officer token: {_officer_token(item.agency)}",
        ]
    return "\n".join(
        [
            *lines,
            f"  At {running[0].agency.id}, under Cases: {CASE}, with its pinned hit, its watch",
            "  and the partner's alert.",
            "",
            "Add records of your own to an agency, then search for them (each agency's settings",
            f"are in {workdir}/<agency>.env; its node searches the index "
            f"{INDEX_PREFIX}-<agency>-records):",
            f"  set -a; . {workdir}/{last.id}.env; set +a",
            "  cets ingest my-records.ndjson        # format: docs/records.md",
            f"  CETS_GATEWAY_URL={url} CETS_OFFICER_TOKEN={officer} \\",
            "    cets search --purpose 'trying the demo' --case DEMO-1 WORDS",
        ]
    )


def _federation(workdir: Path, chosen: list[SampleAgency]) -> LocalFederation:
    specs = [
        AgencySpec(s.id, s.name, s.region, policy=POLICIES[min(i, len(POLICIES) - 1)])
        for i, s in enumerate(chosen)
    ]
    fed = build_local_federation(workdir / "federation", [*specs, COORDINATOR], name="demo")
    certs = workdir / "federation" / "tls"
    ca = make_ca("cets demo CA")
    ca.write(certs / "ca.crt", certs / "ca.key")
    for agency in fed.agencies:
        pair = issue(ca, agency.id, hosts=["localhost", "127.0.0.1"], server=True, client=True)
        pair.write(certs / f"{agency.id}.crt", certs / f"{agency.id}.key")
    return fed


def _policy_name(item: _Running) -> str:
    index = [s.id for s in DEMO_AGENCIES].index(item.sample.id)
    return [
        "full records to members",
        "summaries to members, red records denied",
        "hit/no-hit only",
    ][min(index, 2)]


def _node_config(item: _Running, workdir: Path) -> NodeConfig:
    config = item.agency.node_config(item.url, index_prefix=INDEX_PREFIX)
    certs = workdir / "federation" / "tls"
    tls = ServerTls(
        certs / f"{item.agency.id}.crt", certs / f"{item.agency.id}.key", client_ca=certs / "ca.crt"
    )
    return dataclasses.replace(config, tls=tls)


def _federation_config(agency: LocalAgency, workdir: Path) -> FederationConfig:
    certs = workdir / "federation" / "tls"
    peer_tls = ClientTls(certs / "ca.crt", certs / f"{agency.id}.crt", certs / f"{agency.id}.key")
    return agency.federation_config(peer_tls=peer_tls)


def _opensearch_for(
    running: list[_Running], engines: list[eo.EmbeddedOpenSearch], out: Out
) -> None:
    """Existing clusters from the environment, or one embedded OpenSearch per agency."""
    to_start = []
    for item in running:
        configured = _configured_url(item.sample.id)
        if configured:
            item.url = configured
        else:
            to_start.append(item)
    if not to_start:
        return
    out(
        f"== starting {len(to_start)} OpenSearch engines, one per agency "
        "(the first run downloads OpenSearch)"
    )
    started = time.monotonic()
    try:
        engines.extend(eo.start_many([f"cets-demo-{item.sample.id}" for item in to_start]))
    except (ValueError, eo.EmbeddedOpenSearchError) as exc:
        raise DemoError(str(exc)) from None
    for item, engine in zip(to_start, engines, strict=True):
        item.url = engine.url
        out(f"   {item.sample.id}: {engine.url}")
    out(f"   up in {time.monotonic() - started:.1f}s")


def _configured_url(agency_id: str) -> str | None:
    return (
        os.environ.get(f"OPENSEARCH_URL_{agency_id.upper()}")
        or os.environ.get("OPENSEARCH_URL")
        or None
    )


def _stop_engines(engines: list[eo.EmbeddedOpenSearch]) -> None:
    for engine in engines:
        with contextlib.suppress(Exception):
            engine.stop()


def _ingest(item: _Running, sample_dir: Path) -> IngestSummary:
    config = item.agency.node_config(item.url, index_prefix=INDEX_PREFIX)
    client = connect(item.url)
    try:
        return ingest_file(
            sample_dir / f"{item.sample.id}.ndjson",
            client=client,
            names=config.index,
            ctx=IngestContext(config.agency_id, config.card_key, config.default_region),
        )
    except NodeError as exc:
        raise DemoError(f"{item.sample.id}: {exc}") from None
    finally:
        client.close()


async def _searches(running: list[_Running], fed: LocalFederation, links: Path, out: Out) -> None:
    first = running[0]
    for title, query in demo_queries(links):
        out(f"\n== {title}\n   as an officer of {first.sample.id}:")
        out(await _federated(first.agency.federation_target, query))
    suspect_query = next(q for t, q in demo_queries(links) if t.startswith("e-mail"))
    out(f"\n== the same e-mail search, as the coordinator {COORDINATOR.id}:")
    out(await _federated(fed.agency(COORDINATOR.id).federation_target, suspect_query))


async def _start_gateway(agency: LocalAgency) -> tuple[uvicorn.Server, str]:
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the case store's migrations
    # alerts are collected every ALERT_POLL_S (the fastest allowed), so the demo need not wait
    app = build_app(agency.gateway_config(alert_poll_s=ALERT_POLL_S))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    asyncio.get_running_loop().create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def _officer_token(agency: LocalAgency) -> str:
    key = load_private_key(agency.directory / "officer.key")
    return issue_token(key, officer="det-4521", agency=agency.id, roles=["officer"])


async def _gateway_search(
    agency: LocalAgency, url: str, links: Path, out: Out
) -> dict[str, Any] | None:
    plan: dict[str, Any] = json.loads(links.read_text())
    if not plan.get("links"):
        return None
    email = next(iter(plan["links"][0]["agencies"].values()))["email"]
    out(f"\n== the gateway at {url}: one merged, linked list for e-mail {email}")
    body = {
        "query": {"selectors": [f"email:{email}"]},
        "purpose": "demo: online luring investigation",
        "case_reference": CASE,
    }
    headers = {"Authorization": f"Bearer {_officer_token(agency)}"}
    async with httpx.AsyncClient(timeout=10) as client:
        reply = await client.post(f"{url}/v1/search", json=body, headers=headers)
    if reply.status_code != 200:
        out(f"   {reply.status_code}: {reply.text}")
        return None
    answer: dict[str, Any] = reply.json()
    out(format_page(answer))
    return answer


async def _open_case(agency: LocalAgency, url: str, out: Out) -> dict[str, Any] | None:
    """The case the gateway search below runs under (and is listed on)."""
    headers = {"Authorization": f"Bearer {_officer_token(agency)}"}
    body = {"reference": CASE, "title": "Planted suspect: online luring", "members": ["det-7"]}
    async with httpx.AsyncClient(timeout=10) as client:
        reply = await client.post(f"{url}/v1/cases", json=body, headers=headers)
    if reply.status_code != 201:
        out(f"   the case was not opened: {reply.status_code} {reply.text}")
        return None
    out(f"\n== a case at {agency.id}: {CASE}, opened by det-4521 (det-7 is a member)")
    case: dict[str, Any] = reply.json()
    return case


async def _investigation(
    running: list[_Running],
    url: str,
    answer: dict[str, Any],
    links: Path,
    workdir: Path,
    out: Out,
) -> None:
    """Pin a hit, watch the suspect's e-mail at every partner; a partner later records it
    written another way, and the alert reaches the case."""
    first, later = running[0], running[1]
    plan: dict[str, Any] = json.loads(links.read_text())
    email = next(iter(plan["links"][0]["agencies"].values()))["email"]
    headers = {"Authorization": f"Bearer {_officer_token(first.agency)}"}
    path = f"{url}/v1/cases/{CASE}"
    out(f"\n== the investigation: {CASE} at {first.sample.id}'s gateway")
    out("   the search above was run under it, so it is on the case's timeline")
    async with httpx.AsyncClient(timeout=10, headers=headers) as client:
        hits = answer.get("results") or []
        if hits:
            hit = hits[0]
            lead = {"kind": "hit", "agency": hit["agency"], "record_id": hit["record_id"]}
            await client.post(f"{path}/leads", json={**lead, "content": hit})
            out(f"   pinned {hit['agency']}/{hit['record_id']} ({hit['disclosure']})")
        selector = f"email:{email}"
        await client.post(f"{path}/leads", json={"kind": "selector", "selector": selector})
        reply = await client.post(
            f"{path}/watch", json={"purpose": "demo: new reports on the suspect"}
        )
        if reply.status_code != 200:
            out(f"   the watch was not set: {reply.status_code} {reply.text}")
            return
        statuses = ", ".join(f"{a} {s['status']}" for a, s in reply.json()["agencies"].items())
        out(f"   watching {selector} at every partner: {statuses}")

        variant = _written_another_way(email)
        out(f"\n== later, {later.sample.id} ingests a tip naming {variant}")
        tip_id = f"{later.sample.id}-later-tip-{int(time.time())}"  # new at every run
        summary = await asyncio.to_thread(_ingest_later, later, tip_id, variant, workdir)
        whom = ", ".join(f"{a} ({n})" for a, n in sorted(summary.watchers.items())) or "nobody"
        out(
            f"   {later.sample.id}'s ingest: {summary.watched_records} new record matches "
            f"partners' watches; contact: {whom}"
        )

        out(f"== the alert reaches {CASE} (the gateway collects every {ALERT_POLL_S:.0f} s)")
        started = time.monotonic()
        alerts: list[dict[str, Any]] = []
        while time.monotonic() - started < 4 * ALERT_POLL_S + 10:
            alerts = (await client.get(f"{url}/v1/alerts", params={"case": CASE})).json()
            # (a cluster reused from an earlier run may still hold that run's alerts)
            alerts = [a for a in alerts if a["record_id"] in (tip_id, None)]
            if alerts:
                break
            await asyncio.sleep(0.5)
        if not alerts:
            out("   no alert arrived (see the gateway's log)")
            return
        for alert in alerts:
            record = alert["record_id"] or f"a record (ask {alert['agency']})"
            out(
                f"   after {time.monotonic() - started:.1f} s: {alert['agency']} holds {record}, "
                f"released at {alert['disclosure']} level"
            )
        case = (await client.get(path)).json()
        whats = [event["what"] for event in case["timeline"]]
        out(f"   the case's timeline: {', '.join(whats)}")


def _written_another_way(email: str) -> str:
    """The same mailbox as another agency might write it (case; a tag where one is allowed)."""
    local, _, domain = email.partition("@")
    if domain.lower() in {"gmail.com", "googlemail.com"}:
        return f"{local.capitalize()}+later@GoogleMail.com"
    return f"{local.upper()}@{domain.upper()}"


def _ingest_later(item: _Running, tip_id: str, email: str, workdir: Path) -> IngestSummary:
    """A tip naming ``email``, ingested as ``cets ingest`` does: matched against the watches
    partners hold at this node."""
    tip = {
        "id": tip_id,
        "type": "tip",
        "created": "2026-12-01",
        "text": "Report received after the case was opened",
        "emails": [email],
    }
    path = workdir / "later-tip.ndjson"
    path.write_text(json.dumps(tip) + "\n", encoding="utf-8")
    config = item.agency.node_config(item.url, index_prefix=INDEX_PREFIX)
    client = connect(item.url)
    try:
        key = watch_key(load_private_key(item.agency.directory / "agency.key"))
        return ingest_file(
            path,
            client=client,
            names=config.index,
            ctx=IngestContext(config.agency_id, config.card_key, config.default_region),
            watches=WatchMatcher(client, WatchIndexNames(config.index), key),
        )
    except NodeError as exc:
        raise DemoError(f"{item.sample.id}: {exc}") from None
    finally:
        client.close()


async def _federated(target: str, query: search_pb2.Query) -> str:
    request = federation_pb2.FederatedSearchRequest(
        query=query,
        officer_id="det-4521",
        purpose="demo: online luring investigation",
        case_reference=CASE,
    )
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            response = await federation_pb2_grpc.FederationStub(channel).Search(request, timeout=5)
        except grpc.aio.AioRpcError as exc:
            return f"   {exc.code().name}: {exc.details()}"
    return format_federated(response)


def demo_queries(links_file: Path) -> Iterator[tuple[str, search_pb2.Query]]:
    """Free text, then one planted suspect found by e-mail, handle and name variants."""
    yield (
        "free text: shared link, known hashes",
        build_query(text="shared link known hashes", limit=3),
    )
    plan: dict[str, Any] = json.loads(links_file.read_text())
    if not plan.get("links"):
        return
    suspect = plan["links"][0]
    seen = list(suspect["agencies"].items())
    (first, at_first), (second, at_second) = seen[0], seen[1]
    yield (
        f"e-mail as {first} recorded it: {at_first['email']} "
        "(a planted suspect; each agency wrote the address differently)",
        build_query(selectors=[f"email:{at_first['email']}"], limit=3),
    )
    yield (
        f"handle as {second} recorded it: {at_second['username']}",
        build_query(selectors=[f"username:{at_second['username']}"], limit=3),
    )
    yield (
        f"name as {second} spelled it: {at_second['name']}",
        build_query(name=at_second["name"], types=["person", "arrest"], limit=3),
    )


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
