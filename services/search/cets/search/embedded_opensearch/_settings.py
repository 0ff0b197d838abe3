"""How to run one node, and the configuration files written for it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cets.search.embedded_opensearch._distribution import DEFAULT_VERSION, _check_version


@dataclass(frozen=True)
class OpenSearchSettings:
    """How to run one node. Invalid values raise :class:`ValueError` naming the setting.

    Attributes:
        cluster_name: Cluster (and node) name: 1-64 of ``a-z 0-9 _ -``, not starting with
            ``_`` or ``-``.
        http_port: REST port on 127.0.0.1; 0 picks a free one.
        transport_port: Node-to-node port on 127.0.0.1; 0 picks a free one.
        base_dir: Directory for the node's config/, data/ and logs/; data survives restarts
            there. None uses a fresh temporary directory, which ``stop()`` deletes (it is
            kept when startup fails, so that its log can be read).
        heap_mb: Java heap in MiB, 128 to 32768.
        version: OpenSearch release to run.
        cache_dir: Where distributions are unpacked; None means :func:`default_cache_dir`.
        startup_timeout_s: How long to wait for the node to report yellow or green health.
        run_as_user: System user that runs the node when started by root (created if
            missing); ignored otherwise.
        node_name: This node's name (default: the cluster name).
        seed_transport_ports: For a node of a local cluster: the transport ports (on
            127.0.0.1) of every node, its own included. Empty: a single-node cluster.
        initial_cluster_managers: For a node of a new local cluster: the names of the nodes
            that elect the first cluster manager (every node's, usually).
    """

    cluster_name: str
    http_port: int = 0
    transport_port: int = 0
    base_dir: Path | None = None
    heap_mb: int = 512
    version: str = DEFAULT_VERSION
    cache_dir: Path | None = None
    startup_timeout_s: float = 120.0
    run_as_user: str = "cets-opensearch"
    node_name: str = ""
    seed_transport_ports: tuple[int, ...] = ()
    initial_cluster_managers: tuple[str, ...] = ()

    @property
    def clustered(self) -> bool:
        """Whether this node is one of several (discovering its peers on loopback)."""
        return bool(self.seed_transport_ports)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", self.cluster_name):
            raise ValueError(
                f"cluster_name {self.cluster_name!r} is invalid: use 1-64 characters from "
                "a-z, 0-9, '_' and '-', starting with a letter or digit"
            )
        for name in ("http_port", "transport_port"):
            port = getattr(self, name)
            if port != 0 and not 1024 <= port <= 65535:
                raise ValueError(f"{name} {port} is invalid: use 0 (pick one) or 1024-65535")
        if self.http_port != 0 and self.http_port == self.transport_port:
            raise ValueError(f"http_port and transport_port are both {self.http_port}")
        if not 128 <= self.heap_mb <= 32768:
            raise ValueError(f"heap_mb {self.heap_mb} is invalid: use 128 to 32768")
        _check_version(self.version)
        if not self.startup_timeout_s > 0:
            raise ValueError(f"startup_timeout_s {self.startup_timeout_s} must be positive")
        if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", self.run_as_user):
            raise ValueError(f"run_as_user {self.run_as_user!r} is not a valid user name")
        for name in (self.node_name, *self.initial_cluster_managers):
            if name and not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name):
                raise ValueError(f"node name {name!r} is invalid: use a-z, 0-9, '_' and '-'")
        if self.seed_transport_ports:
            if self.transport_port not in self.seed_transport_ports:
                raise ValueError("a clustered node's transport_port must be one of its seeds")
            if any(not 1024 <= port <= 65535 for port in self.seed_transport_ports):
                raise ValueError("seed_transport_ports must be between 1024 and 65535")


def render_jvm_options(heap_mb: int, logs_dir: Path) -> str:
    """``jvm.options`` for a small node; every file it names is absolute or per node."""
    return "\n".join(
        [
            f"-Xms{heap_mb}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseG1GC",
            "-Djava.io.tmpdir=${OPENSEARCH_TMPDIR}",
            f"-XX:ErrorFile={logs_dir}/hs_err_pid%p.log",
            "18-:-Djava.security.manager=allow",
            "-Djava.util.concurrent.ForkJoinPool.common.threadFactory="
            "org.opensearch.secure_sm.SecuredForkJoinWorkerThreadFactory",
            "",
        ]
    )


def render_opensearch_yml(values: Mapping[str, str | int | bool | list[str]]) -> str:
    """``opensearch.yml`` with one ``key: value`` line each (JSON scalars are valid YAML)."""
    return "".join(f"{key}: {json.dumps(value)}\n" for key, value in values.items())
