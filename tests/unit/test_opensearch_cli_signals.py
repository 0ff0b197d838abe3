"""``cets opensearch start`` stops its OpenSearch on SIGTERM as on Ctrl-C.

It used to wait with ``signal.sigwait`` without blocking the signals first, so SIGTERM (and
SIGINT, when started as a background job) ended the command at once and left OpenSearch's JVM
running on its own (found while running a development cluster for the fault tests).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

# The command with a stand-in for the engine that records being stopped: no JVM needed.
# SIGINT starts ignored, as in a job started in the background.
CHILD = """
import signal
import sys
from pathlib import Path

signal.signal(signal.SIGINT, signal.SIG_IGN)

from cets.search import embedded_opensearch as eo

class Engine:
    log_path = "-"

    def __init__(self, settings):
        pass

    def start(self):
        return "http://127.0.0.1:1"

    def stop(self):
        Path(sys.argv[1]).write_text("stopped")

eo.EmbeddedOpenSearch = Engine
from cets.cli import cli

cli(["opensearch", "start", "dev"], prog_name="cets")
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_the_engine(tmp_path: Path, sig: signal.Signals) -> None:
    marker = tmp_path / "stopped"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(marker)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert "is up at" in child.stdout.readline()
        child.send_signal(sig)
        assert child.wait(10) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert marker.read_text() == "stopped"
