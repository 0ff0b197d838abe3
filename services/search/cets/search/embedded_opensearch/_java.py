"""Finding a JDK of a version OpenSearch supports, and reading its version."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cets.search.embedded_opensearch._errors import JavaNotFoundError

log = logging.getLogger(__package__)

#: OpenSearch 2.x runs on Java 11 to 23; Java 24 removed the security manager it installs.
MIN_JAVA_MAJOR = 11
MAX_JAVA_MAJOR = 23


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
