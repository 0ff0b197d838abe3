"""One OpenSearch node in a child process: start, health checks, stop; and many at once."""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from types import TracebackType

from cets.search.embedded_opensearch._distribution import _make_dirs, ensure_distribution
from cets.search.embedded_opensearch._errors import EmbeddedOpenSearchError, StartupError
from cets.search.embedded_opensearch._java import JavaInfo, find_java
from cets.search.embedded_opensearch._run_as import _ensure_user, _hand_over
from cets.search.embedded_opensearch._settings import (
    OpenSearchSettings,
    render_jvm_options,
    render_opensearch_yml,
)

log = logging.getLogger(__package__)

#: Talks to the local node directly, ignoring any http_proxy in the environment.
_LOCAL_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:``port`` (as Java does, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Layout:
    """Where one node keeps its files."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.config = base / "config"
        self.data = base / "data"
        self.logs = base / "logs"
        self.tmp = base / "tmp"
        self.console_log = self.logs / "console.log"


class EmbeddedOpenSearch:
    """One OpenSearch node in a child process; use it as a context manager or call stop().

    No global hooks are registered: a caller that is killed outright leaves the node running
    (it is in its own process group, so ``kill -- -PID`` ends it).
    """

    def __init__(self, settings: OpenSearchSettings) -> None:
        self.settings = settings
        self._process: subprocess.Popen[bytes] | None = None
        self._layout: _Layout | None = None
        self._owns_base_dir = False
        self._url: str | None = None

    def __repr__(self) -> str:
        return f"EmbeddedOpenSearch({self.name!r}, url={self._url!r})"

    @property
    def name(self) -> str:
        """The node's name (its cluster's, for a single node)."""
        return self.settings.node_name or self.settings.cluster_name

    @property
    def url(self) -> str:
        """Base URL of the REST API, like ``http://127.0.0.1:PORT``."""
        if self._url is None:
            raise EmbeddedOpenSearchError(f"{self!r} is not running; call start() first")
        return self._url

    @property
    def log_path(self) -> Path:
        """The node's console output (all its log lines, plus launcher and JVM errors)."""
        if self._layout is None:
            raise EmbeddedOpenSearchError(f"{self!r} has not been started")
        return self._layout.console_log

    @property
    def pid(self) -> int | None:
        """Process id of the node (the leader of its process group) while it runs."""
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> EmbeddedOpenSearch:
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
        """Start the node and wait until it is healthy; return its base URL."""
        if self._process is not None and self._process.poll() is None and self._url:
            return self._url
        self._terminate(grace_s=0)
        started = time.monotonic()
        settings = self.settings
        java = find_java()
        home = ensure_distribution(settings.version, settings.cache_dir)
        user = _ensure_user(settings.run_as_user) if os.geteuid() == 0 else None
        http_port = settings.http_port or _free_port()
        if not _port_is_free(http_port):  # else another server could answer our health checks
            raise StartupError(
                f"http_port {http_port} on 127.0.0.1 is in use (another OpenSearch still "
                "running?): stop that process, or choose another port (0 picks a free one)"
            )
        layout = self._prepare_layout()
        try:
            self._write_config(home, layout, http_port, settings.transport_port or _free_port())
            if user is not None:
                _hand_over(layout.base, [home, java.home], user)
            log.info("starting OpenSearch %r on port %d", self.name, http_port)
            self._launch(home, java, layout, user)
            self._url = f"http://127.0.0.1:{http_port}"
            self._wait_until_healthy(started + settings.startup_timeout_s)
            if not settings.clustered:
                self._configure_cluster()
        except BaseException:
            self._terminate(grace_s=5)
            if not layout.console_log.exists():
                self.stop()  # nothing ran, so there is no log worth keeping
            raise
        elapsed = time.monotonic() - started
        log.info("OpenSearch %r is up at %s after %.1f s", self.name, self._url, elapsed)
        return self._url

    def kill(self) -> None:
        """End the node at once with SIGKILL, as a crash would; its files are kept, so
        :meth:`start` brings it back with its data (for tests of losing a node)."""
        process, self._process, self._url = self._process, None, None
        if process is not None:
            _signal_group(process.pid, signal.SIGKILL)
            _wait_for_group(process, 10)

    def stop(self, grace_s: float = 20.0) -> None:
        """Stop the node: SIGTERM, then SIGKILL after ``grace_s`` seconds. Idempotent."""
        self._terminate(grace_s)
        if self._owns_base_dir and self._layout is not None:
            shutil.rmtree(self._layout.base, ignore_errors=True)
            self._owns_base_dir = False

    def _prepare_layout(self) -> _Layout:
        if self.settings.base_dir is not None:
            base = self.settings.base_dir.absolute()
            _make_dirs(base)
        elif self._owns_base_dir and self._layout is not None:
            base = self._layout.base
        else:
            prefix = f"cets-opensearch-{self.name}-"
            base = Path(tempfile.mkdtemp(prefix=prefix))
            self._owns_base_dir = True
        self._layout = _Layout(base)
        return self._layout

    def _write_config(self, home: Path, layout: _Layout, http_port: int, port: int) -> None:
        shutil.rmtree(layout.config, ignore_errors=True)
        shutil.copytree(home / "config", layout.config)
        for directory in (layout.data, layout.logs, layout.tmp):
            directory.mkdir(exist_ok=True)
        jvm_options = render_jvm_options(self.settings.heap_mb, layout.logs)
        (layout.config / "jvm.options").write_text(jvm_options)
        settings = self.settings
        node_settings: dict[str, str | int | bool | list[str]] = {
            "cluster.name": settings.cluster_name,
            "node.name": self.name,
        }
        if settings.clustered:
            node_settings["discovery.seed_hosts"] = [
                f"127.0.0.1:{seed}" for seed in settings.seed_transport_ports
            ]
            node_settings["cluster.initial_cluster_manager_nodes"] = list(
                settings.initial_cluster_managers
            )
        else:
            node_settings["discovery.type"] = "single-node"
        node_settings.update(
            {
                "network.host": "127.0.0.1",
                "http.port": http_port,
                "transport.port": port,
                "path.data": str(layout.data),
                "path.logs": str(layout.logs),
                # A nearly full disk must not make a demo node read-only.
                "cluster.routing.allocation.disk.threshold_enabled": False,
            }
        )
        (layout.config / "opensearch.yml").write_text(render_opensearch_yml(node_settings))

    def _launch(
        self, home: Path, java: JavaInfo, layout: _Layout, user: pwd.struct_passwd | None
    ) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("JAVA_TOOL_OPTIONS", "JAVA_OPTS", "OPENSEARCH_JAVA_OPTS")
        }
        env.update(
            OPENSEARCH_JAVA_HOME=str(java.home),
            OPENSEARCH_PATH_CONF=str(layout.config),
            OPENSEARCH_TMPDIR=str(layout.tmp),
        )
        groups: list[int] | None = None
        if user is not None:
            env.update(HOME=str(layout.base), USER=user.pw_name, LOGNAME=user.pw_name)
            groups = os.getgrouplist(user.pw_name, user.pw_gid)
        with layout.console_log.open("ab") as console:
            # Switching user in the child itself (not via runuser/su, which SIGKILL the
            # node 2 s after a SIGTERM) keeps the node's shutdown graceful.
            self._process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                [str(home / "bin" / "opensearch")],
                cwd=layout.base,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                extra_groups=groups,
            )

    def _wait_until_healthy(self, deadline: float) -> None:
        assert self._process is not None and self._url is not None
        health = f"{self._url}/_cluster/health?wait_for_status=yellow&timeout=1s"
        name = self.settings.cluster_name
        while True:
            code = self._process.poll()
            if code is not None:
                raise StartupError(
                    f"OpenSearch {name!r} exited with code {code} during startup; the log "
                    "below names the cause (often a port in use, too little memory for "
                    f"heap_mb={self.settings.heap_mb}, or an unreadable directory)",
                    self.log_path,
                )
            if _is_healthy(health, name):
                return
            if time.monotonic() > deadline:
                raise StartupError(
                    f"OpenSearch {name!r} was not healthy within "
                    f"{self.settings.startup_timeout_s:g} s and was stopped; if the machine is "
                    "busy, raise startup_timeout_s or start fewer nodes at once",
                    self.log_path,
                )
            time.sleep(0.25)

    def _configure_cluster(self) -> None:
        # A single node can never hold a replica; without them new indices are green.
        body = {"persistent": {"cluster.default_number_of_replicas": 0}}
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            f"{self.url}/_cluster/settings",
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        try:
            with _LOCAL_HTTP.open(request, timeout=30):
                pass
        except (OSError, ValueError) as exc:
            raise StartupError(f"configuring OpenSearch failed: {exc}", self.log_path) from exc

    def _terminate(self, grace_s: float) -> None:
        process, self._process, self._url = self._process, None, None
        if process is None:
            return
        # The launcher script may have started JVMs of its own: end the whole process group.
        _signal_group(process.pid, signal.SIGTERM)
        if not _wait_for_group(process, grace_s):
            log.warning(
                "OpenSearch %r ignored SIGTERM for %g s; killing it",
                self.settings.cluster_name,
                grace_s,
            )
            _signal_group(process.pid, signal.SIGKILL)
            _wait_for_group(process, 10)


def _wait_for_group(process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    """Wait until the process group led by ``process`` is empty; False if it is not in time."""
    deadline = time.monotonic() + timeout_s
    while True:
        process.poll()  # reaps the leader, since a zombie still counts as a member
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _is_healthy(url: str, cluster_name: str) -> bool:
    try:
        with _LOCAL_HTTP.open(url, timeout=5) as response:
            health = json.load(response)
    except urllib.error.HTTPError as exc:
        exc.close()
        return False
    except (OSError, ValueError):
        return False
    ours = isinstance(health, dict) and health.get("cluster_name") == cluster_name
    return ours and health.get("status") in ("yellow", "green")


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def start_many(
    names: Sequence[str], heap_mb: int = 512, base_dir: Path | None = None
) -> list[EmbeddedOpenSearch]:
    """Start one node per cluster name, concurrently; all start or none are left running.

    With ``base_dir``, node ``name`` keeps its files in ``base_dir / name``.
    """
    if len(set(names)) != len(names):
        raise ValueError(f"names must be distinct: {list(names)}")
    nodes = [
        EmbeddedOpenSearch(
            OpenSearchSettings(
                cluster_name=name,
                heap_mb=heap_mb,
                base_dir=base_dir / name if base_dir is not None else None,
            )
        )
        for name in names
    ]
    if not nodes:
        return []
    ensure_distribution()
    if os.geteuid() == 0:
        _ensure_user(nodes[0].settings.run_as_user)
    try:
        with ThreadPoolExecutor(max_workers=len(nodes), thread_name_prefix="opensearch") as pool:
            failures = [f.exception() for f in [pool.submit(n.start) for n in nodes]]
    except BaseException:
        _stop_all(nodes)
        raise
    for failure in failures:
        if failure is not None:
            _stop_all(nodes)
            raise failure
    return nodes


def _stop_all(nodes: Sequence[EmbeddedOpenSearch]) -> None:
    for node in nodes:
        node.stop()
