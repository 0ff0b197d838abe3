"""A throwaway PostgreSQL server for the test suite, from Debian's ``postgresql`` package.

``running_postgres()`` finds the newest ``/usr/lib/postgresql/<major>/bin``, makes a fresh
cluster with ``initdb`` in a temporary directory, starts ``postgres`` on 127.0.0.1 with a free
port (its Unix socket inside that directory too), waits until it accepts connections, creates
a database and yields a SQLAlchemy URL for it. On exit the server gets a fast shutdown
(SIGINT), is killed if that is not done in time, and the directory is removed. The system's
own cluster, if the package made one, is never used.

Authentication: the superuser gets a password generated for this one server, checked with
SCRAM-SHA-256 on TCP and on the socket alike. ``trust`` on loopback would let every local
user and process on the machine connect as superuser while the tests run; the password lets
in only whoever holds the URL, and costs nothing.

PostgreSQL refuses to run as root. As root, ``initdb`` and ``postgres`` run as the system user
``cets-postgres`` (created when missing), which owns the temporary directory; the child
switches user itself (``subprocess.Popen(user=...)``), as the OpenSearch launcher does for
``cets-opensearch``, so signals reach the server directly.

Nothing here skips: a missing PostgreSQL raises ``PostgresError`` naming the package.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import URL

POSTGRES_ROOT = Path("/usr/lib/postgresql")
RUN_AS_USER = "cets-postgres"
SUPERUSER = "cets"
INSTALL_HINT = (
    "install Debian's PostgreSQL server package as root (apt-get install postgresql), or run "
    "'make postgres' as root"
)

# Small settings for a test server; fsync stays on.
SERVER_SETTINGS: dict[str, str] = {
    "shared_buffers": "32MB",
    "max_connections": "50",
    "listen_addresses": "127.0.0.1",
    "unix_socket_permissions": "0700",
    "logging_collector": "off",
}

SHUTDOWN_GRACE_S = 30.0
"""Seconds a fast shutdown may take before the server is killed."""

_LOG_TAIL_CHARS = 4000
_BIND_FAILURE = re.compile(r"could not bind|could not create listen socket|already in use")


class PostgresError(RuntimeError):
    """PostgreSQL is missing, or the test server could not start; the message says which."""

    def __init__(self, message: str, log_path: Path | None = None) -> None:
        if log_path is not None:
            message = f"{message}\n--- end of {log_path.name} ---\n{_tail(log_path)}"
        super().__init__(message)


@dataclass(frozen=True)
class PostgresBinaries:
    """One installed PostgreSQL version's ``bin`` directory."""

    directory: Path
    major: int

    def tool(self, name: str) -> str:
        return str(self.directory / name)


@dataclass(frozen=True)
class PostgresServer:
    """A running test server and the database made for the tests."""

    url: str
    """SQLAlchemy URL, ``postgresql+psycopg://cets:<password>@127.0.0.1:<port>/<database>``."""
    host: str
    port: int
    database: str
    major: int
    started_in_s: float
    """Seconds from ``initdb`` to the database being ready."""


def find_binaries(root: Path = POSTGRES_ROOT) -> PostgresBinaries:
    """The newest ``root/<major>/bin`` holding both ``initdb`` and ``postgres``."""
    found: list[PostgresBinaries] = []
    if root.is_dir():
        for version in root.iterdir():
            bin_dir = version / "bin"
            if version.name.isdigit() and all(
                os.access(bin_dir / tool, os.X_OK) for tool in ("initdb", "postgres")
            ):
                found.append(PostgresBinaries(bin_dir, int(version.name)))
    if not found:
        raise PostgresError(
            f"The tests start their own PostgreSQL server, but no {root}/<major>/bin with "
            f"initdb and postgres exists: {INSTALL_HINT}."
        )
    return max(found, key=lambda binaries: binaries.major)


@contextmanager
def running_postgres(
    database: str = "cets_test", *, startup_timeout_s: float = 60.0, attempts: int = 3
) -> Iterator[PostgresServer]:
    """Start a fresh PostgreSQL server, yield it with ``database`` created, then remove it.

    A port taken by someone else between choosing and binding it is retried on a new one, up
    to ``attempts`` times; any other failure raises ``PostgresError`` with the server's log.
    """
    binaries = find_binaries()
    user = _ensure_user(RUN_AS_USER) if os.geteuid() == 0 else None
    for attempt in range(1, attempts + 1):
        cluster = _Cluster(binaries, user)
        try:
            started = time.monotonic()
            cluster.init()
            if not cluster.start(startup_timeout_s, port_retry=attempt < attempts):
                continue
            cluster.create_database(database)
            server = PostgresServer(
                url=cluster.url(database),
                host=cluster.host,
                port=cluster.port,
                database=database,
                major=binaries.major,
                started_in_s=time.monotonic() - started,
            )
            yield server
            return
        finally:
            cluster.remove()
    raise AssertionError("unreachable: the last attempt raises instead of retrying")


class _Cluster:
    """One data directory and the server running on it, all inside one temporary directory."""

    host = "127.0.0.1"

    def __init__(self, binaries: PostgresBinaries, user: pwd.struct_passwd | None) -> None:
        self.binaries = binaries
        self.user = user
        self.password = secrets.token_urlsafe(24)
        self.port = _free_port()
        self.base = Path(tempfile.mkdtemp(prefix="cets-postgres-"))
        self.data = self.base / "data"
        self.socket_dir = self.base / "socket"
        self.log_path = self.base / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None
        # A small environment for initdb and postgres; as root, the user to switch to.
        self._env = {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C"}
        self._env["HOME"] = str(self.base)
        self._uid: int | None = None
        self._gid: int | None = None
        self._groups: list[int] | None = None
        self.socket_dir.mkdir(mode=0o700)
        if user is not None:
            self._env.update(USER=user.pw_name, LOGNAME=user.pw_name)
            self._uid, self._gid = user.pw_uid, user.pw_gid
            self._groups = os.getgrouplist(user.pw_name, user.pw_gid)
            _hand_over(self.base, user)

    def url(self, database: str) -> str:
        url = URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            password=self.password,
            host=self.host,
            port=self.port,
            database=database,
        )
        return url.render_as_string(hide_password=False)

    def init(self) -> None:
        password_file = self.base / "password"
        password_file.write_text(self.password + "\n")
        password_file.chmod(0o600)
        if self.user is not None:
            os.chown(password_file, self.user.pw_uid, self.user.pw_gid)
        command = [
            self.binaries.tool("initdb"),
            f"--pgdata={self.data}",
            f"--username={SUPERUSER}",
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",  # a throwaway cluster: no need to flush it to disk
        ]
        if self.binaries.major >= 14:
            command.append("--no-instructions")
        try:
            result = self._run(command)
        finally:
            password_file.unlink()
        if result.returncode != 0:
            raise PostgresError(
                f"initdb ({self.binaries.directory}) exited with {result.returncode}:\n"
                f"{result.stdout.decode(errors='replace')[-_LOG_TAIL_CHARS:]}"
            )

    def start(self, timeout_s: float, *, port_retry: bool) -> bool:
        """Start the server and wait until it answers; False if its port was taken."""
        command = [
            self.binaries.tool("postgres"),
            "-D",
            str(self.data),
            "-c",
            f"port={self.port}",
            "-c",
            f"unix_socket_directories={self.socket_dir}",
        ]
        for name, value in SERVER_SETTINGS.items():
            command += ["-c", f"{name}={value}"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.base,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self._uid,
                group=self._gid,
                extra_groups=self._groups,
            )
        deadline = time.monotonic() + timeout_s
        while True:
            code = self.process.poll()
            if code is not None:
                if port_retry and _BIND_FAILURE.search(_tail(self.log_path)):
                    return False
                raise PostgresError(
                    f"PostgreSQL ({self.binaries.directory}/postgres) exited with code {code} "
                    "during startup",
                    self.log_path,
                )
            if self._accepts_connections():
                return True
            if time.monotonic() > deadline:
                raise PostgresError(
                    f"PostgreSQL did not accept connections within {timeout_s:g} s",
                    self.log_path,
                )
            time.sleep(0.05)

    def create_database(self, database: str) -> None:
        with self._connect("postgres", autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))

    def remove(self) -> None:
        """Fast shutdown (SIGINT); SIGKILL to the server and its children if it lingers."""
        process, self.process = self.process, None
        if process is not None:
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            try:
                process.wait(SHUTDOWN_GRACE_S)
            except subprocess.TimeoutExpired:
                # Each server process leads a process group of its own, so they are found
                # as the postmaster's children rather than killed as one group; the
                # postmaster goes first, so it cannot start new ones.
                children = _children(process.pid)
                process.kill()
                process.wait(10)
                _kill(children)
        shutil.rmtree(self.base)

    def _accepts_connections(self) -> bool:
        try:
            with self._connect("postgres", connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _connect(
        self, dbname: str, *, autocommit: bool = False, connect_timeout: int = 10
    ) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=SUPERUSER,
            password=self.password,
            dbname=dbname,
            autocommit=autocommit,
            connect_timeout=connect_timeout,
        )

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
            cwd=self.base,
            env=self._env,
            user=self._uid,
            group=self._gid,
            extra_groups=self._groups,
        )


def _ensure_user(name: str) -> pwd.struct_passwd:
    """System user ``name``, created when missing (tolerates concurrent creators)."""
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
        result = subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", shell, name],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            problem = result.stderr.strip() or f"useradd exited with {result.returncode}"
            time.sleep(0.2 * (attempt + 1))
    raise PostgresError(
        f"PostgreSQL refuses to run as root, and creating system user {name!r} failed "
        f"({problem}). Create it with 'useradd --system --no-create-home --shell "
        f"/usr/sbin/nologin {name}', or run the tests as a non-root user."
    )


def _hand_over(base: Path, user: pwd.struct_passwd) -> None:
    """Give ``user`` the directory tree at ``base``; check it can reach ``base`` at all."""
    for folder, _, files in os.walk(base):
        for name in (folder, *(os.path.join(folder, f) for f in files)):
            os.chown(name, user.pw_uid, user.pw_gid, follow_symlinks=False)
    gids = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for directory in base.parents:
        info = directory.stat()
        if info.st_uid == user.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in gids:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            raise PostgresError(
                f"PostgreSQL runs as user {user.pw_name!r} (it refuses to run as root), which "
                f"cannot enter {directory} ({stat.filemode(info.st_mode)}), the parent of its "
                f"temporary directory {base}. Point TMPDIR at a directory it can enter, or "
                f"allow it in: chmod o+x {directory}"
            )


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    children = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            # The command name, in parentheses, may hold spaces: the fields after it are fixed.
            fields = stat_file.read_text().rpartition(")")[2].split()
            if int(fields[1]) == pid:
                children.append(int(stat_file.parent.name))
    return children


def _kill(pids: list[int], timeout_s: float = 10) -> None:
    """SIGKILL ``pids`` and wait (bounded) until they are gone."""
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)


def _free_port() -> int:
    """A loopback port free right now; ``running_postgres`` retries if it is taken later."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-_LOG_TAIL_CHARS:]
    except OSError as exc:
        return f"(no log: {exc})"
