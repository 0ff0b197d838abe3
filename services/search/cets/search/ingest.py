"""Ingest: read NDJSON or CSV, validate every record, bulk-index the good ones, report the rest.

Nothing is lost silently. Each line that cannot become a record — bad encoding, broken JSON or
CSV quoting, a record that breaks a rule, one OpenSearch refuses — is reported with its line
number and reason, and the rest is ingested. Record ids are stable, so running the same file
again replaces records rather than duplicating them. If OpenSearch becomes unreachable the
ingest stops with :class:`~cets.search.errors.StoreUnavailable`; what was acknowledged stays,
and re-running the same command completes the job.

Speed: records are read, validated and serialised (orjson) in one thread — in worker
processes for files of :data:`PARALLEL_FROM_BYTES` or more (an NDJSON line travels to its
worker as bytes and is parsed there), results taken in the file's order — while bulk
requests of :data:`BULK_RECORDS` records, :data:`BULK_IN_FLIGHT` at a time, are sent from
the other.
The index refreshes only at the end of the ingest (its ``refresh_interval`` is ``-1`` while it
runs and restored after, also on failure); its replicas are dropped during the bulk only when
asked (``drop_replicas``: an acknowledged record then lives on one copy until the replicas
are rebuilt). Requests in flight never hold two copies of one id, so the later line of a
repeated id always wins, as with one request at a time.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty, Full, Queue
from typing import IO, Any, TypeVar

from opensearchpy import ConnectionError, OpenSearch, TransportError

from cets.core.records import IngestContext
from cets.search.errors import IngestError
from cets.search.index import IndexLayout, IndexNames, ensure_index
from cets.search.preparing import Prepared, Work, prepare_batch, prepare_one, start_worker
from cets.search.readers import Format, Reject, read_lines, read_records
from cets.search.store import translate_errors
from cets.search.watches import WatchMatcher

__all__ = [
    "BULK_BYTES",
    "BULK_IN_FLIGHT",
    "BULK_RECORDS",
    "IngestSummary",
    "ingest_file",
    "workers_for",
]

BULK_RECORDS = 1000
"""Records per bulk request."""
BULK_BYTES = 8 * 1024 * 1024
"""A bulk request is sent once it holds this many bytes, even with fewer records."""
BULK_IN_FLIGHT = 2
"""Bulk requests sent and not yet answered: OpenSearch indexes one while the next travels."""
PARALLEL_FROM_BYTES = 4 * 1024 * 1024
"""Files at least this large are prepared by worker processes (:func:`workers_for`)."""
MAX_WORKERS = 4
_RETRIES = 5
"""Times a record OpenSearch refuses for load (429) is sent again, with a growing pause."""

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
    batch_size: int = BULK_RECORDS,
    in_flight: int = BULK_IN_FLIGHT,
    drop_replicas: bool = False,
    on_reject: Callable[[Reject], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    watches: WatchMatcher | None = None,
    layout: IndexLayout | None = None,
    wait_for_active_shards: str = "1",
    workers: int | None = None,
) -> IngestSummary:
    """Ingest one file into the agency's index and return the counts.

    ``on_reject`` sees every rejected line; ``on_progress`` gets the bytes read so far;
    ``watches`` matches every acknowledged record against partners' watches (in batches) and
    raises their alerts. ``layout``: the index's shards and replicas, if it is created here.
    ``wait_for_active_shards``: copies of the shard that must be active before each bulk
    request is written (a number or ``all``); OpenSearch acknowledges a record only once
    every active copy holds it. ``workers``: processes that validate and serialise records
    (default :func:`workers_for` the file); results are the same with any number.
    """
    fmt = fmt or Format.for_path(path)
    workers = workers_for(path) if workers is None else max(1, workers)
    ensure_index(client, names, layout)
    summary = IngestSummary()
    started = time.monotonic()
    with path.open("rb") as stream:
        tracker = _Tracker(summary, on_reject, watches if watches and watches.enabled else None)
        # NDJSON lines are parsed where they are prepared (in the workers, if any): only
        # their bytes travel to a worker, not the record read from them.
        work = read_lines(stream) if fmt is Format.NDJSON else read_records(stream, fmt)
        actions = _actions(work, ctx, tracker, stream, on_progress, workers)
        with (
            translate_errors("index records"),
            _bulk_settings(client, names.index, drop_replicas=drop_replicas),
            _prefetched(_chunks(actions, batch_size, BULK_BYTES), depth=4) as chunks,
        ):
            _send_all(
                client,
                names.index,
                chunks,
                tracker,
                max(1, in_flight),
                wait_for_active_shards=wait_for_active_shards,
            )
            if tracker.watches is not None:
                tracker.watches.finish()
                report = tracker.watches.report
                summary.watch_alerts = report.alerts
                summary.watched_records = report.records
                summary.watchers = dict(report.watchers)
        with translate_errors("index records"):
            client.indices.refresh(index=names.alias)
            summary.in_index = int(client.count(index=names.alias)["count"])
    summary.seconds = round(time.monotonic() - started, 3)
    _log.info("ingest finished", extra=summary.as_dict())
    return summary


def workers_for(path: Path) -> int:
    """Processes to prepare the records of ``path``: one per core (at most
    :data:`MAX_WORKERS`) for a file of :data:`PARALLEL_FROM_BYTES` or more, else none beyond
    this one (starting processes costs more than a small file takes)."""
    if path.stat().st_size < PARALLEL_FROM_BYTES:
        return 1
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


@dataclass(slots=True)
class _Action:
    """One record ready to send: its id, and its two ``_bulk`` lines as bytes."""

    record_id: str
    lines: bytes


_Chunk = list[_Action]


def _chunks(actions: Iterator[_Action], records: int, limit: int) -> Iterator[_Chunk]:
    """Bulk requests' worth of actions: ``records`` at most, or about ``limit`` bytes."""
    chunk: _Chunk = []
    size = 0
    for action in actions:
        if chunk and (len(chunk) >= records or size + len(action.lines) > limit):
            yield chunk
            chunk, size = [], 0
        chunk.append(action)
        size += len(action.lines)
    if chunk:
        yield chunk


def _send_all(
    client: OpenSearch,
    index: str,
    chunks: Iterator[_Chunk],
    tracker: _Tracker,
    in_flight: int,
    *,
    wait_for_active_shards: str = "1",
) -> None:
    """Send every chunk, ``in_flight`` at a time, acknowledging their records in file order.

    A chunk holding an id that a chunk still in flight holds waits until every chunk in
    flight is answered: OpenSearch applies concurrent requests in any order, and the later
    line must win.
    """
    pending: deque[tuple[Future[list[tuple[bool, dict[str, Any]]]], set[str]]] = deque()

    def settle_oldest() -> None:
        future, _ = pending.popleft()
        for ok, item in future.result():
            tracker.acknowledge(ok, item)

    with ThreadPoolExecutor(in_flight, thread_name_prefix="ingest-bulk") as pool:
        try:
            for chunk in chunks:
                ids = {action.record_id for action in chunk}
                if any(not ids.isdisjoint(held) for _, held in pending):
                    while pending:
                        settle_oldest()
                while len(pending) >= in_flight:
                    settle_oldest()
                bulk = pool.submit(_bulk, client, index, chunk, wait_for_active_shards)
                pending.append((bulk, ids))
            while pending:
                settle_oldest()
        finally:
            for future, _ in pending:
                future.cancel()


def _bulk(
    client: OpenSearch, index: str, chunk: _Chunk, wait_for_active_shards: str = "1"
) -> list[tuple[bool, dict[str, Any]]]:
    """One bulk request; records refused for load (429) are sent again, up to ``_RETRIES``
    times. Returns ``(ok, item)`` for every record of the chunk, in its order."""
    results: list[tuple[bool, dict[str, Any]] | None] = [None] * len(chunk)
    todo = list(range(len(chunk)))
    for attempt in range(_RETRIES + 1):
        last = attempt == _RETRIES
        if attempt:
            time.sleep(min(2 ** (attempt - 1), 30))
        body = b"".join(chunk[i].lines for i in todo)
        try:
            answer = client.bulk(
                body=body,
                index=index,
                filter_path=_BULK_FILTER,
                wait_for_active_shards=wait_for_active_shards,
            )
        except TransportError as exc:
            if exc.status_code == 429 and not last:
                continue
            raise
        again = []
        for i, item in zip(todo, answer["items"], strict=True):
            status = int(next(iter(item.values())).get("status", 0))
            if status == 429 and not last:
                again.append(i)
            else:
                results[i] = (200 <= status < 300, item)
        if not again:
            break
        todo = again
    return [r for r in results if r is not None]


_BULK_FILTER = "items.*._id,items.*.result,items.*.status,items.*.error.type"


@contextmanager
def _bulk_settings(client: OpenSearch, index: str, *, drop_replicas: bool) -> Iterator[None]:
    """No refresh (and with ``drop_replicas``, no replicas) while the block runs; the index's
    own settings are put back after, also when the block fails.

    An index found with ``refresh_interval: -1`` (an ingest that was killed before it could
    restore it) gets OpenSearch's default back. When the settings cannot be changed (a
    read-only index), records are sent anyway and OpenSearch reports each one it refuses.
    """
    wanted: dict[str, Any] = {"index.refresh_interval": "-1"}
    if drop_replicas:
        wanted["index.number_of_replicas"] = 0
    try:
        found = client.indices.get_settings(index=index, name=",".join(wanted), flat_settings=True)
        current: dict[str, Any] = {}
        for entry in found.values():
            current = entry.get("settings", {})
        restore = {key: current.get(key) for key in wanted}
        if restore["index.refresh_interval"] == "-1":
            restore["index.refresh_interval"] = None
        client.indices.put_settings(index=index, body=wanted)
    except (TransportError, ConnectionError) as exc:
        _log.warning("ingest without bulk settings: %s", type(exc).__name__)
        yield
        return
    try:
        yield
    finally:
        try:
            client.indices.put_settings(index=index, body=restore)
        except (TransportError, ConnectionError) as exc:  # the ingest's own error goes on
            _log.error(
                "could not restore the index's settings after ingest (%s): the next "
                "ingest restores them",
                type(exc).__name__,
            )


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
    work: Iterator[Work],
    ctx: IngestContext,
    tracker: _Tracker,
    stream: IO[bytes],
    on_progress: Callable[[int], None] | None,
    workers: int = 1,
) -> Iterator[_Action]:
    reported = _reported(work, stream, on_progress)
    prepared = (
        (prepare_one(item, ctx) for item in reported)
        if workers <= 1
        else _prepared_in_processes(reported, ctx, workers)
    )
    for result in prepared:
        if result is None:  # a blank line
            continue
        tracker.summary.read += 1
        if isinstance(result, Reject):
            tracker.reject(result)
            continue
        tracker.submitted(result.record_id, result.line, result.selectors)
        yield _Action(result.record_id, result.lines)
    if on_progress:
        on_progress(stream.tell())


def _reported(
    work: Iterator[Work], stream: IO[bytes], on_progress: Callable[[int], None] | None
) -> Iterator[Work]:
    """``work``, telling ``on_progress`` the bytes read every 500 lines or records."""
    if on_progress is None:
        yield from work
        return
    for count, item in enumerate(work, start=1):
        if count % 500 == 0:
            on_progress(stream.tell())
        yield item


_BATCH = 250
"""Records per batch handed to a worker process."""


def _prepared_in_processes(
    work: Iterator[Work], ctx: IngestContext, workers: int
) -> Iterator[Prepared | Reject | None]:
    """:func:`~cets.search.preparing.prepare_one` for every item in ``workers`` processes,
    in the file's order.

    Validation and serialisation are pure Python and hold the interpreter's lock: processes
    are what lets them use more than one core (OpenSearch runs beside them meanwhile).
    """
    context = multiprocessing.get_context("spawn")  # no copy of this process's threads
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=start_worker, initargs=(ctx,)
    ) as pool:
        pending: deque[Future[list[Prepared | Reject | None]]] = deque()
        try:
            for batch in _batched(work, _BATCH):
                pending.append(pool.submit(prepare_batch, batch))
                while len(pending) > workers * 2:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        except BrokenProcessPool:
            raise IngestError(
                "a record-preparing worker process stopped; the records acknowledged so far "
                "are stored, and running the same ingest again completes it"
            ) from None
        finally:
            for future in pending:
                future.cancel()


def _batched(items: Iterator[_T], size: int) -> Iterator[list[_T]]:
    batch: list[_T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
