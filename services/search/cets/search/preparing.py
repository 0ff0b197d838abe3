"""The per-record work of an ingest: a line or a record read becomes its ``_bulk`` lines.

Parsing an NDJSON line, validating the record, building its document and serialising it are
pure Python; an ingest does them in worker processes for a large file. A worker imports this
module (the domain core and the reader), never the OpenSearch client and the rest of
:mod:`cets.search.ingest`: that is most of a worker's start-up time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from cets.core.records import IngestContext, RecordError, prepare
from cets.search.images import index_fields
from cets.search.readers import Reject, parse_line, raw_text

__all__ = ["Prepared", "Work", "prepare_batch", "prepare_one", "start_worker"]

Work = tuple[int, bytes | dict[str, Any] | Reject]
"""A line's number and what was read there: an NDJSON line still to parse (bytes), a record
read from CSV, or the reason the line is rejected."""


@dataclass(slots=True)
class Prepared:
    """One record validated and serialised: its ``_bulk`` lines and its selectors."""

    line: int
    record_id: str
    selectors: list[str] | None
    lines: bytes


def prepare_one(work: Work, ctx: IngestContext) -> Prepared | Reject | None:
    """A line read as a record ready to send, the reason it is rejected, or ``None`` for a
    blank line."""
    number, value = work
    if isinstance(value, bytes):
        item = parse_line(number, value)
        if item is None:
            return None
        number, value = item
    if isinstance(value, Reject):
        return value
    try:
        record = prepare(value, ctx)
    except RecordError as exc:
        return Reject(number, str(exc), _raw_record(value))
    selectors = record.document.get("selectors")
    document = record.document
    if selectors:
        document = {**document, **index_fields(selectors)}
    head = orjson.dumps({"index": {"_id": record.record_id}})
    return Prepared(number, record.record_id, selectors, head + b"\n" + _dumps(document) + b"\n")


_worker_ctx: IngestContext | None = None


def start_worker(ctx: IngestContext) -> None:
    """A worker process's initialiser: the context every record of the ingest is prepared in."""
    global _worker_ctx
    _worker_ctx = ctx


def prepare_batch(batch: list[Work]) -> list[Prepared | Reject | None]:
    """:func:`prepare_one` for a batch, in a worker started with :func:`start_worker`."""
    assert _worker_ctx is not None, "the worker was started without its context"
    return [prepare_one(item, _worker_ctx) for item in batch]


def _dumps(document: dict[str, Any]) -> bytes:
    """A document as JSON: orjson, or the standard encoder for what orjson does not write
    (integers past 64 bits)."""
    try:
        return orjson.dumps(document)
    except TypeError:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _raw_record(item: dict[str, Any]) -> str:
    """A rejected record as JSON for the rejects file (empty if it cannot be written back)."""
    try:
        return raw_text(json.dumps(item, default=str))
    except (RecursionError, ValueError):  # nested deeper than json.dumps goes
        return ""
