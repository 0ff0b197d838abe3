"""Ingest: read NDJSON or CSV, validate every record, bulk-index the good ones, report the rest.

Nothing is lost silently. Each line that cannot become a record — bad encoding, broken JSON or
CSV quoting, a record that breaks a rule, one OpenSearch refuses — is reported with its line
number and reason, and the rest is ingested. Record ids are stable, so running the same file
again replaces records rather than duplicating them. If OpenSearch becomes unreachable the
ingest stops with :class:`~cets.search.errors.StoreUnavailable`; what was acknowledged stays,
and re-running the same command completes the job.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty, Full, Queue
from typing import IO, Any, TypeVar

from opensearchpy import OpenSearch
from opensearchpy.helpers import streaming_bulk

from cets.core.records import IngestContext, RecordError, prepare
from cets.search.images import index_fields
from cets.search.index import IndexLayout, IndexNames, ensure_index
from cets.search.readers import Format, Item, Reject, raw_text, read_records
from cets.search.store import translate_errors
from cets.search.watches import WatchMatcher

__all__ = ["IngestSummary", "ingest_file"]

_log = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass(slots=True)
class IngestSummary:
    read: int = 0
    """Records read, good or bad (blank lines and the CSV header do not count)."""
    indexed: int = 0
    """Records OpenSearch acknowledged."""
    new: int = 0
    """Acknowledged records whose id was not in the index before."""
    replaced: int = 0
    """Acknowledged records that replaced one with the same id (re-ingest)."""
    rejected: int = 0
    duplicates: int = 0
    """Records whose id appeared earlier in the same file (the later one wins)."""
    in_index: int = 0
    """Records in the agency's index after this ingest."""
    watch_alerts: int = 0
    """Alerts raised for partners' watches by the records of this ingest."""
    watched_records: int = 0
    """Records of this ingest that carry a selector a partner watches."""
    watchers: dict[str, int] = field(default_factory=dict)
    """Alerts raised per watching agency: whom to contact about these records."""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- indexing --------------------------------------------------------------------------------


def ingest_file(
    path: Path,
    *,
    client: OpenSearch,
    names: IndexNames,
    ctx: IngestContext,
    fmt: Format | None = None,
    batch_size: int = 500,
    on_reject: Callable[[Reject], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    watches: WatchMatcher | None = None,
    layout: IndexLayout | None = None,
    wait_for_active_shards: str = "1",
) -> IngestSummary:
    """Ingest one file into the agency's index and return the counts.

    ``on_reject`` sees every rejected line; ``on_progress`` gets the bytes read so far;
    ``watches`` matches every acknowledged record against partners' watches (in batches) and
    raises their alerts. ``layout``: the index's shards and replicas, if it is created here.
    ``wait_for_active_shards``: copies of the shard that must be active before each bulk
    request is written (a number or ``all``); OpenSearch acknowledges a record only once
    every active copy holds it.
    """
    fmt = fmt or Format.for_path(path)
    ensure_index(client, names, layout)
    summary = IngestSummary()
    started = time.monotonic()
    with path.open("rb") as stream:
        tracker = _Tracker(summary, on_reject, watches if watches and watches.enabled else None)
        actions = _actions(read_records(stream, fmt), names, ctx, tracker, stream, on_progress)
        with translate_errors("index records"), _prefetched(actions) as prepared:
            for ok, item in streaming_bulk(
                client,
                prepared,
                chunk_size=batch_size,
                max_chunk_bytes=10 * 1024 * 1024,
                max_retries=5,
                initial_backoff=1,
                raise_on_error=False,
                wait_for_active_shards=wait_for_active_shards,
            ):
                tracker.acknowledge(ok, item)
            if tracker.watches is not None:
                tracker.watches.flush()
                report = tracker.watches.report
                summary.watch_alerts = report.alerts
                summary.watched_records = report.records
                summary.watchers = dict(report.watchers)
            client.indices.refresh(index=names.alias)
            summary.in_index = int(client.count(index=names.alias)["count"])
    summary.seconds = round(time.monotonic() - started, 3)
    _log.info("ingest finished", extra=summary.as_dict())
    return summary


@contextmanager
def _prefetched(items: Iterator[_T], depth: int = 2000) -> Iterator[Iterator[_T]]:
    """Run ``items`` in a thread, ``depth`` ahead of the consumer.

    Records are validated in one thread while bulk requests wait on OpenSearch in the other,
    so the node's Python and OpenSearch's JVM work at the same time. An error in ``items`` is
    raised in the consumer; a consumer that stops early stops the producer.
    """
    done = object()
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put(item, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            failure.append(exc)
        queue.put(done)

    def consume() -> Iterator[_T]:
        while (item := queue.get()) is not done:
            yield item
        if failure:
            raise failure[0]

    thread = threading.Thread(target=produce, name="ingest-prepare", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with suppress(Empty):
                queue.get(timeout=0.1)


class _Tracker:
    """Counts what was read, rejected and acknowledged; maps bulk items back to lines.

    Used from the preparing thread and the indexing thread at once, hence the lock.
    """

    def __init__(
        self,
        summary: IngestSummary,
        on_reject: Callable[[Reject], None] | None,
        watches: WatchMatcher | None = None,
    ) -> None:
        self.summary = summary
        self._on_reject = on_reject
        self.watches = watches
        self._selectors: dict[str, list[str]] = {}
        """Selectors of the records in flight, for the watch matcher (only with one)."""
        self._seen: set[str] = set()
        self._lines: dict[str, deque[int]] = {}
        """Line numbers of the records sent and not yet acknowledged, by id: one id may be
        in flight from several lines, and OpenSearch answers in the order it was sent."""
        self._lock = threading.Lock()

    def reject(self, reject: Reject) -> None:
        with self._lock:
            self.summary.rejected += 1
            if self._on_reject:
                self._on_reject(reject)

    def submitted(self, record_id: str, line: int, selectors: list[str] | None = None) -> None:
        with self._lock:
            if record_id in self._seen:
                self.summary.duplicates += 1
            self._seen.add(record_id)
            self._lines.setdefault(record_id, deque()).append(line)
            if self.watches is not None and selectors:
                self._selectors[record_id] = selectors

    def acknowledge(self, ok: bool, item: dict[str, Any]) -> None:
        result = next(iter(item.values()))
        record_id = str(result.get("_id", ""))
        with self._lock:
            lines = self._lines.get(record_id)
            line = lines.popleft() if lines else 0
            last = lines is not None and not lines  # the last copy of this id in flight
            if last:
                del self._lines[record_id]
            selectors = (self._selectors.pop if last else self._selectors.get)(record_id, None)
            if ok:
                self.summary.indexed += 1
                if result.get("result") == "created":
                    self.summary.new += 1
                else:
                    self.summary.replaced += 1
                if selectors and self.watches is not None:
                    self.watches.add(record_id, selectors)
                return
        error = result.get("error", {})
        kind = error.get("type", "error") if isinstance(error, dict) else "error"
        self.reject(Reject(line, f"refused by OpenSearch: {kind}"))


def _actions(
    items: Iterator[Item],
    names: IndexNames,
    ctx: IngestContext,
    tracker: _Tracker,
    stream: IO[bytes],
    on_progress: Callable[[int], None] | None,
) -> Iterator[dict[str, Any]]:
    for count, (number, item) in enumerate(items, start=1):
        if on_progress and count % 500 == 0:
            on_progress(stream.tell())
        tracker.summary.read += 1
        if isinstance(item, Reject):
            tracker.reject(item)
            continue
        try:
            record = prepare(item, ctx)
        except RecordError as exc:
            tracker.reject(Reject(number, str(exc), _raw_record(item)))
            continue
        tracker.submitted(record.record_id, number, record.document.get("selectors"))
        document = {**record.document, **index_fields(record.document.get("selectors", []))}
        yield {"_index": names.index, "_id": record.record_id, "_source": document}
    if on_progress:
        on_progress(stream.tell())


def _raw_record(item: dict[str, Any]) -> str:
    """A rejected record as JSON for the rejects file (empty if it cannot be written back)."""
    try:
        return raw_text(json.dumps(item, default=str))
    except (RecursionError, ValueError):  # nested deeper than json.dumps goes
        return ""
