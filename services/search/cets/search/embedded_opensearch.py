"""Start a genuine single-node OpenSearch engine on this machine, for the demo and for tests.

:func:`ensure_distribution` fetches the official minimal OpenSearch distribution (and the
``analysis-common`` module it lacks, which provides ``asciifolding`` and the language
analyzers) from Maven Central once, and unpacks it into a shared cache directory.
:class:`EmbeddedOpenSearch` then runs one node from it with its own config, data and logs
directories, bound to 127.0.0.1 only, with no authentication: it is meant for a demo or a
test on one machine, never for real records on a shared network. :func:`start_many` starts
several nodes at once, one per agency.

OpenSearch refuses to run as root; when started by root, the node runs as an unprivileged
system user (``cets-opensearch`` by default), created on first use.

Every failure raises a subclass of :class:`EmbeddedOpenSearchError` whose message says what
to do about it:

- :class:`JavaNotFoundError`: no usable JDK was found.
- :class:`MavenNotFoundError`: the distribution is not cached and Maven is not installed.
- :class:`DistributionError`: downloading, verifying or unpacking the distribution failed.
- :class:`StartupError`: the node could not be launched, died, or was not healthy in time;
  when it ran, the message carries the tail of its log and the log's path.

Invalid :class:`OpenSearchSettings` raise :class:`ValueError` naming the setting.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

DEFAULT_VERSION = "2.19.1"
#: OpenSearch 2.x runs on Java 11 to 23; Java 24 removed the security manager it installs.
MIN_JAVA_MAJOR = 11
MAX_JAVA_MAJOR = 23
_LOG_TAIL_LINES = 20
_STACK_FRAME = re.compile(r"\s+(at |\.\.\. \d+ more)")
_DISTRIBUTION = ("org.opensearch.distribution.integ-test-zip", "opensearch", "zip")
_ANALYSIS_MODULE = ("org.opensearch.plugin", "analysis-common", "jar")
#: Talks to the local node directly, ignoring any http_proxy in the environment.
_LOCAL_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmbeddedOpenSearchError(Exception):
    """Root of every error raised by this module."""


class JavaNotFoundError(EmbeddedOpenSearchError):
    """No JDK of a version OpenSearch supports was found."""


class MavenNotFoundError(EmbeddedOpenSearchError):
    """The distribution must be downloaded, but Maven (``mvn``) is not installed."""


class DistributionError(EmbeddedOpenSearchError):
    """Downloading, verifying or unpacking the OpenSearch distribution failed."""


class StartupError(EmbeddedOpenSearchError):
    """The node could not be launched, died during startup, or was not healthy in time."""

    def __init__(self, message: str, log_path: Path | None = None) -> None:
        self.log_path = log_path
        if log_path is not None:
            message = (
                f"{message}\n--- last {_LOG_TAIL_LINES} lines of {log_path}, without Java "
                f"stack frames ---\n{_tail(log_path, _LOG_TAIL_LINES)}\n"
                f"--- full log: {log_path} ---"
            )
        super().__init__(message)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(log unreadable: {exc})"
    kept = [line for line in text.splitlines() if not _STACK_FRAME.match(line)]
    return "\n".join(kept[-lines:]) or "(log is empty)"


# --- Java -------------------------------------------------------------------------------


@dataclass(frozen=True)
class JavaInfo:
    """A JDK: its home directory (the one holding ``bin/java``) and its major version."""

    home: Path
    major: int


_JAVA_VERSION_RE = re.compile(r'version "(\d+)(?:\.(\d+))?')


def parse_java_major(version_output: str) -> int:
    """Return the major version from ``java -version`` output ("1.8.0_292" is 8)."""
    match = _JAVA_VERSION_RE.search(version_output)
    if match is None:
        raise ValueError(f"no Java version found in {version_output[:200]!r}")
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        major = int(match.group(2))
    return major


def _probe_java(home: Path) -> JavaInfo:
    java = home / "bin" / "java"
    if not os.access(java, os.X_OK):
        raise JavaNotFoundError(f"{java} does not exist or is not executable")
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
        return JavaInfo(home, parse_java_major(result.stderr + result.stdout))
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise JavaNotFoundError(f"{java} -version failed: {exc}") from exc


def find_java() -> JavaInfo:
    """Find a JDK for OpenSearch: ``$OPENSEARCH_JAVA_HOME``, ``$JAVA_HOME``, then ``java`` on PATH.

    The first candidate of a supported version wins; the error lists why each was rejected.
    """
    candidates: list[tuple[str, Path]] = []
    problems: list[str] = []
    for variable in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME"):
        if value := os.environ.get(variable):
            candidates.append((f"${variable}", Path(value)))
    if on_path := shutil.which("java"):
        candidates.append(("java on PATH", Path(on_path).resolve().parent.parent))
    else:
        problems.append("no 'java' on PATH")
    for source, home in candidates:
        try:
            info = _probe_java(home)
        except JavaNotFoundError as exc:
            problems.append(f"{source}: {exc}")
            continue
        if MIN_JAVA_MAJOR <= info.major <= MAX_JAVA_MAJOR:
            if problems:
                log.warning(
                    "using Java %d in %s; skipped: %s", info.major, home, "; ".join(problems)
                )
            return info
        problems.append(f"{source}: {home} is Java {info.major}")
    raise JavaNotFoundError(
        f"no usable Java found ({'; '.join(problems)}). OpenSearch needs Java "
        f"{MIN_JAVA_MAJOR} to {MAX_JAVA_MAJOR}: install a JDK 17 or 21 (for example the "
        "openjdk-17-jdk-headless package) or set JAVA_HOME or OPENSEARCH_JAVA_HOME to one."
    )


# --- Distribution -----------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Where distributions are unpacked: ``$CETS_CACHE_DIR``, else a per-user cache.

    Root gets ``/var/cache/cets``, readable by the unprivileged user that runs the nodes.
    """
    if configured := os.environ.get("CETS_CACHE_DIR"):
        return Path(configured).expanduser()
    if os.geteuid() == 0:
        return Path("/var/cache/cets")
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "cets"


def default_m2_repo() -> Path:
    """The local Maven repository: ``$CETS_M2_REPO``, else ``~/.m2/repository``."""
    if configured := os.environ.get("CETS_M2_REPO"):
        return Path(configured).expanduser()
    return Path.home() / ".m2" / "repository"


def plugin_descriptor(version: str) -> str:
    """The ``plugin-descriptor.properties`` that makes OpenSearch load analysis-common."""
    return (
        'description=Adds "built in" analyzers to OpenSearch.\n'
        f"version={version}\n"
        "name=analysis-common\n"
        "classname=org.opensearch.analysis.common.CommonAnalysisPlugin\n"
        "java.version=11\n"
        f"opensearch.version={version}\n"
        "extended.plugins=\n"
        "has.native.controller=false\n"
    )


def ensure_distribution(
    version: str = DEFAULT_VERSION, cache_dir: Path | None = None, m2_repo: Path | None = None
) -> Path:
    """Return the home of OpenSearch ``version``, downloading and unpacking it on first use.

    Artifacts already in the local Maven repository (``m2_repo``, see :func:`default_m2_repo`)
    are used without Maven. A lock file makes concurrent callers, in any process, wait for
    one of them to do the work; the unpacked tree appears atomically, by a rename.
    """
    _check_version(version)
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    home = cache / f"opensearch-{version}"
    if home.is_dir():
        return home
    _make_dirs(cache)
    with _file_lock(cache / f".opensearch-{version}.lock"):
        if home.is_dir():
            return home
        for stale in cache.glob(f".opensearch-{version}-*"):  # left by an interrupted unpack
            shutil.rmtree(stale, ignore_errors=True)
        repo = m2_repo if m2_repo is not None else default_m2_repo()
        archive = _fetch(repo, version, *_DISTRIBUTION)
        module_jar = _fetch(repo, version, *_ANALYSIS_MODULE)
        log.info("unpacking OpenSearch %s into %s", version, home)
        _install(archive, module_jar, version, home)
    return home


def _check_version(version: str) -> None:
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ValueError(f"version {version!r} is invalid: expected a release like '2.19.1'")


def _make_dirs(path: Path) -> None:
    """Create ``path`` and missing parents, each new one mode 0755 whatever the umask."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        directory.chmod(0o755)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fetch(repo: Path, version: str, group: str, artifact: str, extension: str) -> Path:
    path = repo.joinpath(*group.split("."), artifact, version, f"{artifact}-{version}.{extension}")
    coordinates = f"{group}:{artifact}:{version}:{extension}"
    if not path.is_file():
        _maven_download(coordinates, repo, path)
    _verify_sha1(path)
    return path


def _maven_download(coordinates: str, repo: Path, expected: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenNotFoundError(
            f"{expected.name} is not in the local Maven repository {repo} and Maven ('mvn') "
            "is not on PATH: install Maven (for example the 'maven' package), or put the "
            f"file into {expected.parent} yourself (artifact {coordinates} on Maven Central)."
        )
    log.info("downloading %s with Maven (once; later starts reuse it)", coordinates)
    command = [mvn, "-q", "-B", "dependency:get", f"-Dartifact={coordinates}"]
    command += ["-Dtransitive=false", f"-Dmaven.repo.local={repo}"]
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            command, capture_output=True, text=True, timeout=1800, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DistributionError(f"running Maven to download {coordinates} failed: {exc}") from exc
    if result.returncode != 0 or not expected.is_file():
        output = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise DistributionError(
            f"Maven could not download {coordinates} (exit {result.returncode}); check access "
            f"to Maven Central or the mirrors in ~/.m2/settings.xml. Maven said:\n{output}"
        )


def _verify_sha1(path: Path) -> None:
    checksum_file = path.with_name(path.name + ".sha1")
    if not checksum_file.is_file():
        log.warning("no %s; cannot verify %s", checksum_file.name, path)
        return
    expected = checksum_file.read_text(encoding="ascii", errors="replace").split()[:1]
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if [digest.hexdigest()] != [e.lower() for e in expected]:
        raise DistributionError(
            f"{path} does not match its checksum in {checksum_file.name} (corrupt or "
            "incomplete download): delete both files and try again."
        )


def _install(archive: Path, module_jar: Path, version: str, home: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".opensearch-{version}-", dir=home.parent))
    try:
        try:
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(staging)
                executables = {
                    info.filename.rstrip("/")
                    for info in zipped.infolist()
                    if not info.is_dir() and (info.external_attr >> 16) & 0o111
                }
        except (zipfile.BadZipFile, OSError) as exc:
            raise DistributionError(f"cannot unpack {archive}: {exc}; delete it and retry") from exc
        unpacked = staging / f"opensearch-{version}"
        if not (unpacked / "bin" / "opensearch").is_file():
            raise DistributionError(f"{archive} does not hold opensearch-{version}/bin/opensearch")
        module_dir = unpacked / "modules" / "analysis-common"
        module_dir.mkdir()
        shutil.copyfile(module_jar, module_dir / module_jar.name)
        (module_dir / "plugin-descriptor.properties").write_text(plugin_descriptor(version))
        _make_world_readable(staging, executables)
        unpacked.rename(home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _make_world_readable(root: Path, executables: set[str]) -> None:
    """Directories 0755; files 0644, or 0755 when executable in the archive or under bin/."""
    for directory, _, files in os.walk(root):
        Path(directory).chmod(0o755)
        for name in files:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            in_bin = path.parent.name == "bin" and not path.suffix
            path.chmod(0o755 if relative in executables or in_bin else 0o644)


# --- Settings and node ------------------------------------------------------------------


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


def render_opensearch_yml(values: Mapping[str, str | int | bool]) -> str:
    """``opensearch.yml`` with one ``key: value`` line each (JSON scalars are valid YAML)."""
    return "".join(f"{key}: {json.dumps(value)}\n" for key, value in values.items())


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


def _blocked_directory(path: Path, uid: int, gids: set[int]) -> Path | None:
    """The first of ``path`` and its parents that ``uid`` may not enter, if any."""
    for directory in (path, *path.parents):
        info = directory.stat()
        if info.st_uid == uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in gids:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return directory
    return None


def _ensure_user(name: str) -> pwd.struct_passwd:
    """Return system user ``name``, creating it if missing (tolerates concurrent creators)."""
    problem = "useradd is not installed"
    for attempt in range(5):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
        useradd = shutil.which("useradd") or shutil.which("useradd", path="/usr/sbin:/sbin")
        if useradd is None:
            break
        shell = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
        command = [useradd, "--system", "--no-create-home", "--shell", shell, name]
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            command, capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            log.info("created system user %r to run OpenSearch", name)
        else:
            problem = result.stderr.strip() or f"useradd exited with {result.returncode}"
            time.sleep(0.2 * (attempt + 1))
    raise StartupError(
        f"OpenSearch refuses to run as root, and creating system user {name!r} failed "
        f"({problem}). Create it with 'useradd --system --no-create-home --shell "
        f"/usr/sbin/nologin {name}', set run_as_user to an existing unprivileged user, or "
        "start as a non-root user."
    )


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
        return f"EmbeddedOpenSearch({self.settings.cluster_name!r}, url={self._url!r})"

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
            log.info("starting OpenSearch %r on port %d", settings.cluster_name, http_port)
            self._launch(home, java, layout, user)
            self._url = f"http://127.0.0.1:{http_port}"
            self._wait_until_healthy(started + settings.startup_timeout_s)
            self._configure_cluster()
        except BaseException:
            self._terminate(grace_s=5)
            if not layout.console_log.exists():
                self.stop()  # nothing ran, so there is no log worth keeping
            raise
        elapsed = time.monotonic() - started
        log.info(
            "OpenSearch %r is up at %s after %.1f s", settings.cluster_name, self._url, elapsed
        )
        return self._url

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
            prefix = f"cets-opensearch-{self.settings.cluster_name}-"
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
        name = self.settings.cluster_name
        node_settings: dict[str, str | int | bool] = {
            "cluster.name": name,
            "node.name": name,
            "discovery.type": "single-node",
            "network.host": "127.0.0.1",
            "http.port": http_port,
            "transport.port": port,
            "path.data": str(layout.data),
            "path.logs": str(layout.logs),
            # A nearly full disk must not make a demo node read-only.
            "cluster.routing.allocation.disk.threshold_enabled": False,
        }
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


def _hand_over(base: Path, read_only: Sequence[Path], user: pwd.struct_passwd) -> None:
    """Give ``user`` the node's directory tree; check it can reach the read-only ones."""
    for directory, _, files in os.walk(base):
        for name in (directory, *(os.path.join(directory, f) for f in files)):
            os.chown(name, user.pw_uid, user.pw_gid, follow_symlinks=False)
    gids = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for path in (base, *read_only):
        blocked = _blocked_directory(path, user.pw_uid, gids)
        if blocked is not None:
            mode = stat.filemode(blocked.stat().st_mode)
            raise StartupError(
                f"OpenSearch runs as user {user.pw_name!r} (it refuses to run as root), which "
                f"cannot enter {blocked} ({mode}) to reach {path}. Use a base_dir or cache "
                "directory (CETS_CACHE_DIR) outside it, such as under /var/lib or /tmp, or "
                f"allow it in: chmod o+x {blocked}"
            )


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
