"""An agency's OpenSearch as a three-node cluster on loopback, and losing one of its nodes.

50,000 records are ingested by ``cets ingest`` (a process, as an operator runs it) into an
index with one replica; midway the data node holding the primary is killed with SIGKILL,
and brought back a little later. Meanwhile the agency's node is searched over gRPC again and
again. Afterwards every record ``cets ingest`` reported as stored is in the index (count and
ids), no search failed as an internal error, and the node recovered without a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opensearchpy import helpers as os_helpers

from cets.cli import cli
from cets.core.display import build_query
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.search.background import BackgroundNode
from cets.search.embedded_opensearch import EmbeddedCluster
from cets.search.index import describe_layout, ensure_index
from cets.search.store import connect
from cets.v1 import search_pb2_grpc
from helpers import opened, signed

pytestmark = pytest.mark.opensearch

RECORDS = 50_000
KILL_AT = 15_000
"""Records in the index when the data node holding the primary is killed."""
DOWN_S = 8.0
"""How long that node stays away."""


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    # outside pytest's private temp dir: the engine's own user must reach it when run as root
    base = Path(tempfile.mkdtemp(prefix="cets-cluster-"))
    base.chmod(0o755)
    try:
        with EmbeddedCluster("cets-cluster", nodes=3, heap_mb=256, base_dir=base) as running:
            yield running
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> LocalFederation:
    return build_local_federation(
        tmp_path_factory.mktemp("federation"),
        [AgencySpec("asker", "Asking Agency", "CA"), AgencySpec("big", "Clustered Agency", "CA")],
    )


def _records(path: Path) -> list[str]:
    ids = [f"c{n:06d}" for n in range(RECORDS)]
    with path.open("w", encoding="utf-8") as out:
        for n, record_id in enumerate(ids):
            record = {
                "id": record_id,
                "type": "tip",
                "text": f"hosting link number {n} shared in group {n % 97}",
                "created": "2025-01-01",
            }
            out.write(json.dumps(record) + "\n")
    return ids


def _primary_node(client: object, index: str) -> str:
    rows = client.cat.shards(index=index, format="json")  # type: ignore[attr-defined]
    return next(r["node"] for r in rows if r["prirep"] == "p" and r["state"] == "STARTED")


def _count(client: object, alias: str) -> int:
    try:
        return int(client.count(index=alias)["count"])  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - not there yet, or a node just went away
        return -1


def test_a_cluster_keeps_every_acknowledged_record_when_a_data_node_is_killed(
    cluster: EmbeddedCluster, fed: LocalFederation, tmp_path: Path
) -> None:
    agency = fed.agency("big")
    url = cluster.url
    config = agency.node_config(url)
    source = tmp_path / "records.ndjson"
    ids = _records(source)
    client = connect(url, timeout_s=10)
    query = build_query(text="hosting link")
    ensure_index(client, config.index, config.index_layout)  # as the node does on start
    # OpenSearch expands the replicas just after creating the index: wait until it has them
    cluster.wait_for_status("green", timeout_s=60)
    outcomes: Counter[str] = Counter()
    during_loss: Counter[str] = Counter()
    lost = threading.Event()
    stop = threading.Event()

    with (
        BackgroundNode(config) as node,
        grpc.insecure_channel(node.target) as channel,
    ):
        stub = search_pb2_grpc.SearchNodeStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        # replicas auto: OpenSearch gives the index one replica on three data nodes
        layout = describe_layout(client, config.index)
        assert (layout["shards"], layout["replicas"]) == (1, 1), layout
        assert (layout["auto_expand_replicas"], layout["data_nodes"]) == ("0-1", 3), layout
        shown = CliRunner().invoke(cli, ["node", "layout"], env=agency.node_env(url))
        assert shown.exit_code == 0, shown.output
        assert "1 shards, 1 replicas (auto 0-1" in shown.output and "3 data nodes" in shown.output

        def search_forever() -> None:
            while not stop.is_set():
                try:
                    answer = opened(
                        fed, "big", stub.Search(signed(fed, "asker", "big", query), timeout=5)
                    )
                    outcome = "partial" if answer.partial else "complete"
                except grpc.RpcError as exc:
                    outcome = exc.code().name.lower()
                outcomes[outcome] += 1
                if lost.is_set():
                    during_loss[outcome] += 1
                time.sleep(0.05)

        searcher = threading.Thread(target=search_forever, daemon=True)
        searcher.start()
        env = {**os.environ, **agency.node_env(url)}
        out_file = (tmp_path / "ingest.out").open("w")
        err_file = (tmp_path / "ingest.err").open("w")  # not a pipe: it could fill and block
        ingest = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("cets")),
                "ingest",
                str(source),
                "--json",
                "--no-progress",
            ],
            env=env,
            stdout=out_file,
            stderr=err_file,
        )
        try:
            deadline = time.monotonic() + 120
            while _count(client, config.index.alias) < KILL_AT:
                assert ingest.poll() is None, (tmp_path / "ingest.err").read_text()[-2000:]
                assert time.monotonic() < deadline, "ingest made no progress"
                time.sleep(0.1)
            victim_name = _primary_node(client, config.index.index)
            victim = next(n for n in cluster.nodes if n.name == victim_name)
            victim.kill()  # SIGKILL, mid-ingest: the primary's node is gone
            lost.set()
            time.sleep(DOWN_S)
            lost.clear()
            victim.start()  # it comes back at the same address, with its data
            ingest.wait(timeout=240)
        finally:
            if ingest.poll() is None:
                ingest.kill()
                ingest.wait(timeout=30)
            out_file.close()
            err_file.close()
            stop.set()
        out = (tmp_path / "ingest.out").read_text()
        assert ingest.returncode == 0, (tmp_path / "ingest.err").read_text()[-2000:]
        summary = json.loads(out.strip().splitlines()[-1])
        rejects = source.with_name(source.name + ".rejects.ndjson")
        rejected_lines = (
            {json.loads(line)["line"] for line in rejects.read_text().splitlines()}
            if rejects.exists()
            else set()
        )
        assert summary["read"] == RECORDS
        assert summary["indexed"] + summary["rejected"] == RECORDS
        reported_stored = {i for n, i in enumerate(ids, start=1) if n not in rejected_lines}
        assert len(reported_stored) == summary["indexed"]

        cluster.wait_for_nodes(3)
        cluster.wait_for_status("green", timeout_s=120)
        client.indices.refresh(index=config.index.alias)
        stored = {
            hit["_id"]
            for hit in os_helpers.scan(
                client, index=config.index.alias, query={"_source": False}, size=5000
            )
        }
        assert int(client.count(index=config.index.alias)["count"]) == len(stored)
        assert reported_stored <= stored  # every record reported stored is there
        assert stored <= set(ids)
        # the node recovered by itself: serving, and answering completely again
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reply = health.Check(health_pb2.HealthCheckRequest(service="cets.v1.SearchNode"))
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                break
            time.sleep(0.2)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        final = opened(fed, "big", stub.Search(signed(fed, "asker", "big", query), timeout=10))
        searcher.join(timeout=10)
    client.close()

    print(f"searches: {dict(outcomes)}; during the loss: {dict(during_loss)}; ingest: {summary}")
    assert not final.partial
    assert final.total_hits >= 10_000  # counted up to OpenSearch's track_total_hits
    assert sum(during_loss.values()) > 0
    # answered (complete or partial) or refused as unavailable: never an internal error
    assert set(outcomes) <= {"complete", "partial", "unavailable", "deadline_exceeded"}
    assert during_loss["complete"] + during_loss["partial"] > 0
