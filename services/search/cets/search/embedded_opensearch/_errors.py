"""The launcher's exceptions: each message says what to do about the failure."""

from __future__ import annotations

import re
from pathlib import Path

_LOG_TAIL_LINES = 20
_STACK_FRAME = re.compile(r"\s+(at |\.\.\. \d+ more)")


class EmbeddedOpenSearchError(Exception):
    """Root of every error raised by this package."""


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
