"""Running the node as an unprivileged system user, since OpenSearch refuses to run as root."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import stat
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from cets.search.embedded_opensearch._errors import StartupError

log = logging.getLogger(__package__)


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
