"""The watcher's side killed between alert pulls: real ``cets gateway serve`` and ``cets
federation serve`` processes of tps (which collect the alerts partners raise for tps's
watches), sent SIGKILL after a pull, while partners go on recording matching records. After
the restart on the same case store and audit logs, every alert is on the case exactly once:
none lost, none repeated. The cursors and alerts are durable in the case store, so the first
pull after the restart starts where the last one before the kill ended, and the partners'
nodes release each alert once."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_faults import Cets, _verify, _wait_serving

from cets.common.audit import read_entries
from cets.common.keys import load_private_key
from cets.gateway.tokens import issue_token
from stacks import SPECS, Stack, local_stack, suspect_records

pytestmark = [pytest.mark.opensearch, pytest.mark.timeout(240)]

CASE = "TPS-2026-0321"
WATCHED = "email:darkangel77@gmail.com"
POLL_S = 5.0


def _tip(record_id: str, email: str) -> dict[str, Any]:
    return {
        "id": record_id,
        "type": "tip",
        "created": "2026-12-01",
        "text": "New report on the same mailbox",
        "emails": [email],
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _until(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def stack(tmp_path: Path, opensearch_url: str, agency_id: str) -> Iterator[Stack]:
    with local_stack(
        opensearch_url, tmp_path, SPECS, index_prefix=agency_id, drop_indices=True
    ) as running:
        running.ingest({a.id: suspect_records(a.id) for a in running.fed.agencies})
        running.start_nodes()
        yield running


def _pulls(stack: Stack, agency: str) -> list[dict[str, Any]]:
    """The alert pulls ``agency``'s node answered, in order."""
    log = stack.fed.agency(agency).directory / "audit" / "node.log"
    return [
        e.event
        for e in read_entries(log)
        if e.event.get("kind") == "node.alerts" and e.event.get("outcome") == "ok"
    ]


def test_the_watchers_processes_killed_between_pulls_lose_and_repeat_no_alert(
    stack: Stack, tmp_path: Path
) -> None:
    tps = stack.fed.agency("tps")
    port = _free_port()
    gateway_settings = {
        "CETS_AGENCY_ID": "tps",
        "CETS_OFFICER_KEY_FILE": str(tps.directory / "officer.pub"),
        "CETS_GATEWAY_AUDIT_LOG": str(tmp_path / "gateway" / "gateway.log"),
        "CETS_GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'cases.db'}",
        "CETS_FEDERATION_TARGET": tps.federation_target,
        "CETS_GATEWAY_PORT": str(port),
        "CETS_GATEWAY_ALERT_POLL_S": str(POLL_S),
    }
    (tmp_path / "gateway").mkdir()
    token = issue_token(
        load_private_key(tps.directory / "officer.key"), officer="det-1", agency="tps"
    )
    me = {"Authorization": f"Bearer {token}"}
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=me, timeout=30)

    def start() -> tuple[Cets, Cets]:
        federation = stack.enter_context(
            Cets(["federation", "serve"], tps.federation_env(), tmp_path / "federation.log")
        )
        _wait_serving(tps.federation_target, federation)
        gateway = stack.enter_context(
            Cets(["gateway", "serve"], gateway_settings, tmp_path / "gateway.err")
        )

        def answering() -> bool:
            assert gateway.process.poll() is None, gateway.output()
            try:
                return http.get("/v1/cases").status_code == 200
            except httpx.TransportError:
                return False

        _until(answering, 30, "the gateway to answer")
        return federation, gateway

    def alerts() -> list[dict[str, Any]]:
        reply = http.get("/v1/alerts")
        assert reply.status_code == 200, reply.text
        return list(reply.json())

    federation, gateway = start()
    for call in (
        lambda: http.post("/v1/cases", json={"reference": CASE, "title": "Dale Angelo"}),
        lambda: http.post(
            f"/v1/cases/{CASE}/leads", json={"kind": "selector", "selector": WATCHED}
        ),
        lambda: http.post(f"/v1/cases/{CASE}/watch", json={"purpose": "new reports"}),
    ):
        reply = call()
        assert reply.status_code in (200, 201), reply.text

    # a first alert arrives; right after the pull that brought it, both processes are killed
    assert stack.ingest_watched("rcmp", [_tip("rcmp-late-1", "Dark.Angel.77+a@gmail.com")], "1")
    [first] = _until(alerts, 30, "the first alert")
    pulls_before = len(_pulls(stack, "rcmp"))
    gateway.kill()
    federation.kill()
    assert len(_pulls(stack, "rcmp")) == pulls_before  # killed between pulls, not during one
    cursor_before = _pulls(stack, "rcmp")[-1]["next_cursor"]
    assert cursor_before

    # partners go on recording matching records while the watcher is down
    stack.ingest_watched("rcmp", [_tip("rcmp-late-2", "DARKANGEL77@googlemail.com")], "2")
    stack.ingest_watched("nca", [_tip("nca-late-3", "dark.angel77+b@gmail.com")], "3")

    federation, gateway = start()
    after = _until(lambda: len(alerts()) >= 3 and alerts(), 45, "the alerts raised meanwhile")
    time.sleep(2.5 * POLL_S)  # two more pulls: nothing comes again
    final = alerts()
    assert len(final) == 3, final
    assert len({(a["agency"], a["alert_id"]) for a in final}) == 3
    assert first["alert_id"] in {a["alert_id"] for a in final}
    assert {(a["agency"], a["record_id"], a["disclosure"]) for a in final} == {
        ("rcmp", "rcmp-late-1", "summary"),  # rcmp releases a summary to members
        ("rcmp", "rcmp-late-2", "summary"),
        ("nca", None, "hit"),  # nca only says it holds something: ask nca
    }
    assert {a["alert_id"] for a in after} == {a["alert_id"] for a in final}
    case = http.get(f"/v1/cases/{CASE}").json()
    on_case = sorted(e["detail"]["agency"] for e in case["timeline"] if e["what"] == "alert")
    assert on_case == ["nca", "rcmp", "rcmp"]  # once each on the case's timeline too

    # the cursor was durable: the first pull after the restart went on from the stored one,
    # and each partner's node released every alert exactly once
    resumed = _pulls(stack, "rcmp")[pulls_before]
    assert resumed["cursor"] == cursor_before[:128]
    for agency in ("rcmp", "nca"):
        released = [r["alert"] for p in _pulls(stack, agency) for r in p.get("released", [])]
        assert len(released) == len(set(released)), (agency, released)
    assert {r["record"] for p in _pulls(stack, "rcmp") for r in p.get("released", [])} == {
        "rcmp-late-1",
        "rcmp-late-2",
    }

    # uvicorn stops gracefully on SIGTERM, then ends by that signal
    assert gateway.stop() in (0, -signal.SIGTERM), gateway.output()
    assert federation.stop() == 0, federation.output()
    http.close()
    _verify(tps.directory / "audit" / "federation.log")
    _verify(tmp_path / "gateway" / "gateway.log")
