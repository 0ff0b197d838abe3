"""The launcher against a genuine OpenSearch engine: nothing here is mocked."""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cets.search.embedded_opensearch import (
    DEFAULT_VERSION,
    EmbeddedOpenSearch,
    EmbeddedOpenSearchError,
    OpenSearchSettings,
    StartupError,
    start_many,
)

pytestmark = pytest.mark.opensearch

_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(base_url: str, method: str, path: str, body: object | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with _HTTP.open(request, timeout=30) as response:
        return json.load(response)


def port_is_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[EmbeddedOpenSearch, EmbeddedOpenSearch]]:
    """Two nodes, started together as the demo does, shared by the tests of this module."""
    first, second = start_many(["cets-it-a", "cets-it-b"], heap_mb=256)
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


@pytest.fixture(scope="module")
def node(pair: tuple[EmbeddedOpenSearch, EmbeddedOpenSearch]) -> EmbeddedOpenSearch:
    return pair[0]


def test_reports_version_and_name(node: EmbeddedOpenSearch) -> None:
    info = call(node.url, "GET", "/")
    assert info["version"]["number"] == DEFAULT_VERSION == "2.19.1"
    assert info["cluster_name"] == "cets-it-a"
    assert node.url.startswith("http://127.0.0.1:")


def test_analysis_common_module_is_loaded(node: EmbeddedOpenSearch) -> None:
    nodes = call(node.url, "GET", "/_nodes/plugins")["nodes"]
    (only,) = nodes.values()
    assert "analysis-common" in {module["name"] for module in only["modules"]}
    folded = call(
        node.url,
        "POST",
        "/_analyze",
        {"tokenizer": "standard", "filter": ["asciifolding"], "text": "Jôn"},
    )
    assert [t["token"] for t in folded["tokens"]] == ["Jon"]
    english = call(node.url, "POST", "/_analyze", {"analyzer": "english", "text": "running"})
    assert [t["token"] for t in english["tokens"]] == ["run"]


def test_painless_module_is_loaded(node: EmbeddedOpenSearch) -> None:
    nodes = call(node.url, "GET", "/_nodes/plugins")["nodes"]
    (only,) = nodes.values()
    assert "lang-painless" in {module["name"] for module in only["modules"]}
    call(node.url, "PUT", "/it-painless/_doc/p1?refresh=true", {"bits": 0b1011})
    script = {"source": "Long.bitCount(doc['bits'].value ^ params.q)", "params": {"q": 0b0001}}
    body = {"query": {"script_score": {"query": {"match_all": {}}, "script": script}}}
    (hit,) = call(node.url, "POST", "/it-painless/_search", body)["hits"]["hits"]
    assert hit["_score"] == 2.0


def test_index_and_fetch_document(node: EmbeddedOpenSearch) -> None:
    record = {"name": "Jôn Smith", "case_ref": "C-1"}
    created = call(node.url, "PUT", "/it-records/_doc/r1?refresh=true", record)
    assert created["result"] == "created"
    assert call(node.url, "GET", "/it-records/_doc/r1")["_source"] == record
    query = {"query": {"match": {"name": "smith"}}}
    hits = call(node.url, "POST", "/it-records/_search", query)["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == ["r1"]
    # A single node holds no replicas, so its indices are green.
    health = call(node.url, "GET", "/_cluster/health/it-records?wait_for_status=green&timeout=10s")
    assert health["status"] == "green"


def test_two_nodes_side_by_side(pair: tuple[EmbeddedOpenSearch, EmbeddedOpenSearch]) -> None:
    first, second = pair
    assert first.url != second.url
    assert first.pid != second.pid
    assert call(second.url, "GET", "/")["cluster_name"] == "cets-it-b"
    call(second.url, "PUT", "/only-in-b/_doc/1?refresh=true", {"agency": "b"})
    with pytest.raises(urllib.error.HTTPError) as missing:
        call(first.url, "GET", "/only-in-b/_doc/1")
    missing.value.close()
    assert missing.value.code == 404
    assert first.log_path.parent != second.log_path.parent


def test_stop_ends_process_and_frees_port() -> None:
    with EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-it-stop", heap_mb=256)) as node:
        pid, port, base = node.pid, int(node.url.rsplit(":", 1)[1]), node.log_path.parents[1]
        assert pid is not None and process_exists(pid) and port_is_open(port)
        assert call(node.url, "GET", "/_cluster/health")["status"] in ("green", "yellow")
    assert not process_exists(pid)
    assert not port_is_open(port)
    assert not base.exists()  # its own temporary directory is gone
    node.stop()  # idempotent
    assert node.pid is None


def listening_socket() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def test_exit_during_startup_reports_the_cause_from_the_log() -> None:
    with listening_socket() as taken:
        port = taken.getsockname()[1]
        node = EmbeddedOpenSearch(
            OpenSearchSettings(cluster_name="cets-it-clash", transport_port=port, heap_mb=256)
        )
        try:
            with pytest.raises(StartupError, match="exited with code") as caught:
                node.start()
            message = str(caught.value)
            assert "BindTransportException" in message
            assert "Address already in use" in message
            assert f"full log: {node.log_path}" in message
            assert node.log_path.is_file()  # kept for reading after a failed start
            assert node.pid is None
        finally:
            node.stop()
    assert not node.log_path.exists()


def test_http_port_in_use_is_refused_before_launch() -> None:
    with listening_socket() as taken:
        port = taken.getsockname()[1]
        node = EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-it-busy", http_port=port))
        with pytest.raises(StartupError, match=f"http_port {port} on 127.0.0.1 is in use"):
            node.start()
    assert node.pid is None
    with pytest.raises(EmbeddedOpenSearchError):
        _ = node.log_path  # nothing was created


def test_timeout_stops_the_whole_process_group() -> None:
    node = EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-it-slow", startup_timeout_s=1))
    try:
        with pytest.raises(StartupError, match="not healthy within 1 s"):
            node.start()
        assert node.pid is None
        # The launcher script and the JVMs it runs all shared the node's process group.
        assert _processes_using(node.log_path.parents[1] / "config") == []
    finally:
        node.stop()


def _processes_using(config_dir: Path) -> list[int]:
    """Ids of live processes whose command line or environment names ``config_dir``."""
    needle = str(config_dir).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            blobs = [(entry / "cmdline").read_bytes(), (entry / "environ").read_bytes()]
        except OSError:
            continue
        if any(needle in blob for blob in blobs):
            found.append(int(entry.name))
    return found
