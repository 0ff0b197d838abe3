"""A local OpenSearch cluster: several nodes on loopback that find each other, for tests and
benchmarks of what a real agency cluster does (replicas, losing a node, getting it back)."""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from cets.search.embedded_opensearch._distribution import DEFAULT_VERSION, ensure_distribution
from cets.search.embedded_opensearch._errors import EmbeddedOpenSearchError, StartupError
from cets.search.embedded_opensearch._node import (
    _LOCAL_HTTP,
    EmbeddedOpenSearch,
    _free_port,
)
from cets.search.embedded_opensearch._run_as import _ensure_user
from cets.search.embedded_opensearch._settings import OpenSearchSettings

__all__ = ["EmbeddedCluster"]

log = logging.getLogger(__package__)

MAX_NODES = 9


class EmbeddedCluster:
    """``nodes`` OpenSearch nodes on 127.0.0.1 forming one cluster called ``name``.

    Every node is cluster-manager eligible and holds data, so a cluster of three keeps its
    quorum (and its records, given replicas) when any one of them is lost. Each node has
    fixed ports for its life, so a node that was killed comes back at the same address.
    Use it as a context manager or call :meth:`stop`.
    """

    def __init__(
        self,
        name: str,
        *,
        nodes: int = 3,
        heap_mb: int = 256,
        base_dir: Path | None = None,
        version: str = DEFAULT_VERSION,
        startup_timeout_s: float = 180.0,
    ) -> None:
        if not 2 <= nodes <= MAX_NODES:
            raise ValueError(f"a local cluster has 2 to {MAX_NODES} nodes, not {nodes}")
        names = [f"{name}-{i}" for i in range(1, nodes + 1)]
        transport = [_free_port() for _ in names]
        while len(set(transport)) < len(transport):  # the kernel may hand a port out twice
            transport = [_free_port() for _ in names]
        http = [_free_port() for _ in names]
        self.name = name
        self.nodes = [
            EmbeddedOpenSearch(
                OpenSearchSettings(
                    cluster_name=name,
                    node_name=node,
                    http_port=http_port,
                    transport_port=port,
                    seed_transport_ports=tuple(transport),
                    initial_cluster_managers=tuple(names),
                    heap_mb=heap_mb,
                    version=version,
                    base_dir=base_dir / node if base_dir is not None else None,
                    startup_timeout_s=startup_timeout_s,
                )
            )
            for node, port, http_port in zip(names, transport, http, strict=True)
        ]

    def __repr__(self) -> str:
        return f"EmbeddedCluster({self.name!r}, nodes={len(self.nodes)})"

    @property
    def urls(self) -> list[str]:
        """Every running node's REST URL."""
        return [node.url for node in self.nodes if node.pid is not None]

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated: what ``OPENSEARCH_URL`` takes for a cluster."""
        return ",".join(self.urls)

    def __enter__(self) -> EmbeddedCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> str:
        """Start every node at once (they elect a cluster manager among themselves) and wait
        until the cluster has them all; return :attr:`url`."""
        started = time.monotonic()
        version = self.nodes[0].settings.version
        ensure_distribution(version, self.nodes[0].settings.cache_dir)
        if os.geteuid() == 0:
            _ensure_user(self.nodes[0].settings.run_as_user)
        try:
            with ThreadPoolExecutor(len(self.nodes), thread_name_prefix="opensearch") as pool:
                failures = [f.exception() for f in [pool.submit(n.start) for n in self.nodes]]
            for failure in failures:
                if failure is not None:
                    raise failure
            self.wait_for_nodes(len(self.nodes), timeout_s=60)
        except BaseException:
            self.stop()
            raise
        log.info(
            "OpenSearch cluster %r of %d nodes is up after %.1f s",
            self.name,
            len(self.nodes),
            time.monotonic() - started,
        )
        return self.url

    def health(self, *, wait_for: str = "", timeout_s: float = 5.0) -> dict[str, object]:
        """The cluster's health, asked of the first node that answers (``wait_for``: a
        query string such as ``wait_for_status=green``)."""
        query = f"?{wait_for}&timeout={max(1, int(timeout_s))}s" if wait_for else ""
        for url in self.urls:
            try:
                with _LOCAL_HTTP.open(f"{url}/_cluster/health{query}", timeout=timeout_s + 5) as r:
                    found: dict[str, object] = json.load(r)
                    return found
            except urllib.error.HTTPError as exc:  # 408 when the wait timed out: still health
                with exc:
                    found = json.load(exc)
                    return found
            except (OSError, ValueError):
                continue
        raise EmbeddedOpenSearchError(f"no node of {self!r} answers")

    def wait_for_nodes(self, count: int, *, timeout_s: float = 120.0) -> None:
        """Wait until ``count`` nodes are in the cluster."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                health = self.health(wait_for=f"wait_for_nodes={count}", timeout_s=5)
                if health.get("number_of_nodes") == count and not health.get("timed_out"):
                    return
            except EmbeddedOpenSearchError:
                pass
            if time.monotonic() > deadline:
                raise StartupError(f"{self!r} did not have {count} nodes in {timeout_s:g} s")
            time.sleep(0.5)

    def wait_for_status(self, status: str = "green", *, timeout_s: float = 120.0) -> None:
        """Wait until the cluster's health is ``status`` (or better)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                health = self.health(wait_for=f"wait_for_status={status}", timeout_s=5)
                if not health.get("timed_out"):
                    return
            except EmbeddedOpenSearchError:
                pass
            if time.monotonic() > deadline:
                raise StartupError(f"{self!r} was not {status} within {timeout_s:g} s")
            time.sleep(0.5)

    def stop(self, grace_s: float = 20.0) -> None:
        """Stop every node (at once). Idempotent."""
        with ThreadPoolExecutor(len(self.nodes), thread_name_prefix="opensearch-stop") as pool:
            list(pool.map(lambda node: node.stop(grace_s), self.nodes))
