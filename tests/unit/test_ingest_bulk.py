"""Ingest's bulk sending, without OpenSearch: requests in flight, their order, retries, the
index settings during the bulk, and the reader's JSON parsing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opensearchpy import ConnectionError, TransportError

from cets.search import ingest, preparing
from cets.search.readers import Reject, _loads


class FakeClient:
    """Answers bulk requests after ``delay`` seconds; records what was sent, and when."""

    def __init__(self, delay: float = 0.0, busy: int = 0) -> None:
        self.delay = delay
        self.busy = busy  # the first ``busy`` items sent are refused with 429
        self.sent: list[list[str]] = []
        self.live = 0
        self.most_live = 0
        self.overlaps: list[tuple[set[str], set[str]]] = []
        self._in_flight: list[set[str]] = []
        self._lock = threading.Lock()
        self.indices = FakeIndices()
        self.copies = ""  # the wait_for_active_shards of the last bulk request

    def bulk(
        self, body: bytes, index: str, filter_path: str, wait_for_active_shards: str
    ) -> dict[str, Any]:
        self.copies = wait_for_active_shards
        lines = body.splitlines()
        ids = [orjson.loads(head)["index"]["_id"] for head in lines[0::2]]
        with self._lock:
            for other in self._in_flight:
                if other & set(ids):
                    self.overlaps.append((other, set(ids)))
            self._in_flight.append(set(ids))
            self.sent.append(ids)
            self.live += 1
            self.most_live = max(self.most_live, self.live)
        time.sleep(self.delay)
        items = []
        with self._lock:
            for record_id in ids:
                if self.busy > 0:
                    self.busy -= 1
                    items.append({"index": {"_id": record_id, "status": 429}})
                else:
                    items.append({"index": {"_id": record_id, "status": 201, "result": "created"}})
            self.live -= 1
            self._in_flight.remove(set(ids))
        return {"items": items}


class FakeIndices:
    def __init__(self, fail_put: bool = False) -> None:
        self.settings: dict[str, Any] = {"index.refresh_interval": "5s"}
        self.puts: list[dict[str, Any]] = []
        self.fail_put = fail_put

    def get_settings(self, index: str, name: str, flat_settings: bool) -> dict[str, Any]:
        return {index: {"settings": dict(self.settings)}}

    def put_settings(self, index: str, body: dict[str, Any]) -> None:
        if self.fail_put:
            raise TransportError(403, "cluster_block_exception", {})
        self.puts.append(body)
        self.settings.update(body)


def _chunks(*ids: list[str]) -> list[list[ingest._Action]]:
    def action(record_id: str) -> ingest._Action:
        head = orjson.dumps({"index": {"_id": record_id}})
        return ingest._Action(record_id, head + b'\n{"x":1}\n')

    return [[action(i) for i in chunk] for chunk in ids]


def _tracker() -> tuple[ingest._Tracker, ingest.IngestSummary, list[Reject]]:
    summary = ingest.IngestSummary()
    rejects: list[Reject] = []
    return ingest._Tracker(summary, rejects.append), summary, rejects


def _send(
    client: FakeClient, chunks: list[list[ingest._Action]], in_flight: int, copies: str = "1"
) -> Any:
    tracker, summary, rejects = _tracker()
    line = 0
    for chunk in chunks:
        for action in chunk:
            line += 1
            tracker.submitted(action.record_id, line)
    ingest._send_all(  # type: ignore[arg-type]
        client, "idx", iter(chunks), tracker, in_flight, wait_for_active_shards=copies
    )
    return summary, rejects


def test_requests_go_in_flight_together_and_every_record_is_acknowledged() -> None:
    client = FakeClient(delay=0.05)
    chunks = _chunks(*[[f"r{c}-{i}" for i in range(3)] for c in range(6)])
    summary, rejects = _send(client, chunks, in_flight=2, copies="all")
    assert client.most_live == 2
    assert client.copies == "all"  # every bulk request waits for the configured copies
    assert (summary.indexed, summary.new, rejects) == (18, 18, [])


def test_a_repeated_id_is_never_in_flight_twice_so_the_later_line_wins() -> None:
    client = FakeClient(delay=0.05)
    chunks = _chunks(["a", "b"], ["c", "a"], ["d"], ["a", "e"])
    summary, _ = _send(client, chunks, in_flight=3)
    assert client.overlaps == []
    assert client.sent == [["a", "b"], ["c", "a"], ["d"], ["a", "e"]]
    assert (summary.indexed, summary.duplicates) == (7, 2)


def test_records_refused_for_load_are_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest.time, "sleep", lambda _: None)
    client = FakeClient(busy=2)
    summary, rejects = _send(client, _chunks(["a", "b", "c"]), in_flight=1)
    assert client.sent == [["a", "b", "c"], ["a", "b"]]  # a and b refused once, c was not
    assert (summary.indexed, rejects) == (3, [])


def test_records_still_refused_after_the_retries_are_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ingest.time, "sleep", lambda _: None)
    client = FakeClient(busy=1000)
    summary, rejects = _send(client, _chunks(["a"], ["b"]), in_flight=2)
    assert summary.indexed == 0
    assert [(r.line, r.reason) for r in rejects] == [
        (1, "refused by OpenSearch: error"),
        (2, "refused by OpenSearch: error"),
    ]


def test_a_failed_request_stops_the_ingest() -> None:
    class Down(FakeClient):
        def bulk(
            self, body: bytes, index: str, filter_path: str, wait_for_active_shards: str
        ) -> dict[str, Any]:
            raise ConnectionError("N/A", "refused", None)

    with pytest.raises(ConnectionError):
        _send(Down(), _chunks(["a"], ["b"], ["c"]), in_flight=2)


def test_refresh_is_off_during_the_bulk_and_restored_after_also_on_failure() -> None:
    client = FakeClient()
    with ingest._bulk_settings(client, "idx", drop_replicas=False):  # type: ignore[arg-type]
        assert client.indices.settings["index.refresh_interval"] == "-1"
    assert client.indices.settings["index.refresh_interval"] == "5s"
    with (
        pytest.raises(RuntimeError),
        ingest._bulk_settings(client, "idx", drop_replicas=True),  # type: ignore[arg-type]
    ):
        assert client.indices.settings["index.number_of_replicas"] == 0
        raise RuntimeError("the bulk failed")
    assert client.indices.settings["index.refresh_interval"] == "5s"
    assert client.indices.settings["index.number_of_replicas"] is None


def test_an_interrupted_ingest_s_setting_is_put_back_to_the_default() -> None:
    client = FakeClient()
    client.indices.settings["index.refresh_interval"] = "-1"
    with ingest._bulk_settings(client, "idx", drop_replicas=False):  # type: ignore[arg-type]
        pass
    assert client.indices.settings["index.refresh_interval"] is None


def test_an_index_whose_settings_cannot_change_is_still_sent_to() -> None:
    client = FakeClient()
    client.indices.fail_put = True
    ran = []
    with ingest._bulk_settings(client, "idx", drop_replicas=False):  # type: ignore[arg-type]
        ran.append(True)
    assert ran == [True]


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(deadline=None)
@given(value=_JSON)
def test_the_reader_reads_what_the_standard_parser_reads(value: Any) -> None:
    text = json.dumps(value)
    assert _loads(text) == json.loads(text)
    assert repr(_loads(text)) == repr(json.loads(text))  # ints stay ints, -0.0 stays -0.0


def test_documents_serialise_as_the_standard_encoder_would() -> None:
    document = {"a": "é\u2028", "n": 2**70, "l": [1, 2.5, None, True]}
    assert json.loads(preparing._dumps(document)) == document
    assert json.loads(preparing._dumps({"a": 1})) == {"a": 1}


def test_a_worker_process_imports_no_client_of_opensearch_or_the_network() -> None:
    """What a worker imports to prepare records is what its start-up costs: the domain core
    and the reader, not the OpenSearch client, gRPC or the web stack."""
    probe = (
        "import sys, cets.search.preparing; "
        "print(sorted(m for m in ('opensearchpy', 'grpc', 'fastapi', 'requests', 'aiohttp')"
        " if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "[]"
