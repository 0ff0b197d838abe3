"""The local demo: several agencies, each with its own OpenSearch and search node.

``cets demo`` (``make demo``) starts one OpenSearch per sample agency (or uses the clusters
named by ``OPENSEARCH_URL_<AGENCY>`` / ``OPENSEARCH_URL``), writes synthetic investigations
with planted cross-agency links, ingests each agency's share into its own OpenSearch, starts
a search node per agency, and runs the same searches on every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cets.search import embedded_opensearch as eo
from cets.search.client import NodeClient
from cets.search.config import NodeConfig
from cets.search.display import build_query, format_response
from cets.search.errors import NodeError
from cets.search.ingest import IngestSummary, ingest_file
from cets.search.records import IngestContext
from cets.search.sample_data import DEMO_AGENCIES, SampleAgency, write_sample
from cets.search.server import NodeServer
from cets.search.store import connect
from cets.v1 import search_pb2

__all__ = ["DemoError", "run_demo"]

_log = logging.getLogger(__name__)
INDEX_PREFIX = "cets-demo"
Out = Callable[[str], None]


class DemoError(Exception):
    """The demo could not run; the message says why and what to do."""


@dataclass
class _Agency:
    sample: SampleAgency
    url: str
    node: NodeServer | None = None
    port: int = 0

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


async def run_demo(*, agencies: int, records: int, keep_running: bool, out: Out) -> None:
    chosen = list(DEMO_AGENCIES[:agencies])
    workdir = Path(tempfile.mkdtemp(prefix="cets-demo-"))
    card_key = secrets.token_bytes(32)  # one key for the demo federation, so cards link
    engines: list[eo.EmbeddedOpenSearch] = []
    running: list[_Agency] = []
    try:
        out(f"== {len(chosen)} agencies: " + ", ".join(f"{a.name} ({a.id})" for a in chosen))
        running = await asyncio.to_thread(_opensearch_for, chosen, engines, out)
        out(f"== sample data: {records} records with planted cross-agency links")
        await asyncio.to_thread(write_sample, workdir / "sample", chosen, records, seed=7)
        for agency in running:
            summary = await asyncio.to_thread(_ingest, agency, workdir / "sample", card_key)
            out(
                f"   {agency.sample.id}: indexed {summary.indexed} of {summary.read} records, "
                f"rejected {summary.rejected}, {summary.seconds:.1f}s"
            )
        out("== search nodes")
        for agency in running:
            await _start_node(agency, card_key)
            out(f"   {agency.sample.id}: gRPC on {agency.target}, OpenSearch {agency.url}")
        for title, query in demo_queries(workdir / "sample" / "links.json"):
            out(f"\n== {title}")
            for agency in running:
                out(await _search(agency, query))
        if keep_running:
            out("\nEverything is up; Ctrl-C stops it.")
            await _wait_for_signal()
    finally:
        for agency in running:
            if agency.node is not None:
                await agency.node.stop(1.0)
        await asyncio.to_thread(_stop_engines, engines)
        shutil.rmtree(workdir, ignore_errors=True)


def _opensearch_for(
    chosen: list[SampleAgency], engines: list[eo.EmbeddedOpenSearch], out: Out
) -> list[_Agency]:
    """Existing clusters from the environment, or one embedded OpenSearch per agency."""
    urls = {a.id: _configured_url(a.id) for a in chosen}
    to_start = [a.id for a in chosen if urls[a.id] is None]
    if to_start:
        out(f"== starting {len(to_start)} OpenSearch engines (first run downloads OpenSearch)")
        started = time.monotonic()
        try:
            engines.extend(eo.start_many([f"cets-demo-{i}" for i in to_start]))
        except (ValueError, eo.EmbeddedOpenSearchError) as exc:
            raise DemoError(str(exc)) from None
        for agency_id, engine in zip(to_start, engines, strict=True):
            urls[agency_id] = engine.url
        out(f"   up in {time.monotonic() - started:.1f}s")
    return [_Agency(sample=a, url=str(urls[a.id])) for a in chosen]


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


def _config(agency: _Agency, card_key: bytes) -> NodeConfig:
    return NodeConfig(
        agency_id=agency.sample.id,
        opensearch_url=agency.url,
        card_key=card_key,
        listen="127.0.0.1:0",
        default_region=agency.sample.region,
        index_prefix=INDEX_PREFIX,
        grace_s=1.0,
    )


def _ingest(agency: _Agency, sample_dir: Path, card_key: bytes) -> IngestSummary:
    config = _config(agency, card_key)
    client = connect(agency.url)
    try:
        return ingest_file(
            sample_dir / f"{agency.sample.id}.ndjson",
            client=client,
            names=config.index,
            ctx=IngestContext(config.agency_id, card_key, config.default_region),
        )
    except NodeError as exc:
        raise DemoError(f"{agency.sample.id}: {exc}") from None
    finally:
        client.close()


async def _start_node(agency: _Agency, card_key: bytes) -> None:
    agency.node = NodeServer(_config(agency, card_key))
    agency.port = await agency.node.start()


async def _search(agency: _Agency, query: search_pb2.Query) -> str:
    import grpc

    try:
        async with NodeClient(agency.target) as client:
            response = await client.search(query, timeout_s=5.0)
    except grpc.aio.AioRpcError as exc:
        return f"{agency.sample.id}: {exc.code().name}: {exc.details()}"
    return format_response(response, max_hits=3)


def demo_queries(links_file: Path) -> Iterator[tuple[str, search_pb2.Query]]:
    """The searches the demo shows: free text, then one planted suspect found three ways."""
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
    phone = next((s for s in suspect["selectors"] if s.startswith("phone:")), None)
    if phone:
        yield (
            f"phone in E.164: {phone.removeprefix('phone:')}",
            build_query(selectors=[phone], limit=3),
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
