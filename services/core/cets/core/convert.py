"""Conversion between the gRPC contract (``cets.v1``) and the domain types.

The only module that knows both sides. Enum names follow one rule each way: ``person`` ↔
``RECORD_TYPE_PERSON``, ``amber+strict`` ↔ ``HANDLING_AMBER_STRICT``, ``email`` ↔
``SELECTOR_KIND_EMAIL``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from cets.core import pdq
from cets.core.disclosure import Disclosure
from cets.core.errors import InvalidQuery
from cets.core.query import (
    DEFAULT_LIMIT,
    MAX_NAME,
    MAX_RECORD_IDS,
    MAX_RELEASE_ID,
    MAX_SELECTORS,
    MAX_TEXT,
    ImageQuery,
    SearchHit,
    SearchQuery,
    SearchResult,
)
from cets.core.records import Handling, RecordType
from cets.core.selectors import (
    Selector,
    SelectorError,
    SelectorKind,
    is_card_fingerprint,
    normalize,
    normalize_hash,
)
from cets.v1 import records_pb2, search_pb2

__all__ = [
    "MAX_SELECTOR_CHARS",
    "check_size",
    "disclosure_from_proto",
    "disclosure_to_proto",
    "handling_to_proto",
    "hit_to_proto",
    "image_from_proto",
    "image_to_proto",
    "query_from_proto",
    "record_to_proto",
    "record_type_from_proto",
    "record_type_to_proto",
    "result_to_proto",
    "selector_from_proto",
    "selector_kind_to_proto",
    "selector_to_proto",
    "selectors_from_proto",
]


def _enum_name(prefix: str, value: str) -> str:
    return prefix + value.upper().replace("+", "_")


def _numbers(enum: Any, prefix: str, members: Iterable[Any]) -> dict[Any, int]:
    """Each domain member's number in the contract, by the naming rule (an answer converts
    every hit's enums: a table, not a name built and looked up each time)."""
    return {m: enum.Value(_enum_name(prefix, m.value)) for m in members}


_RECORD_TYPES = _numbers(records_pb2.RecordType, "RECORD_TYPE_", RecordType)
_HANDLINGS = _numbers(records_pb2.Handling, "HANDLING_", Handling)
_SELECTOR_KINDS = _numbers(records_pb2.SelectorKind, "SELECTOR_KIND_", SelectorKind)


def record_type_to_proto(value: RecordType) -> records_pb2.RecordType:
    return cast(records_pb2.RecordType, _RECORD_TYPES[value])


def record_type_from_proto(number: int) -> RecordType:
    name = _checked_name(records_pb2.RecordType, number, "record type")
    return RecordType(name.removeprefix("RECORD_TYPE_").lower())


def handling_to_proto(value: Handling) -> records_pb2.Handling:
    return cast(records_pb2.Handling, _HANDLINGS[value])


def handling_from_proto(number: int) -> Handling:
    name = _checked_name(records_pb2.Handling, number, "handling code")
    return Handling(name.removeprefix("HANDLING_").lower().replace("amber_strict", "amber+strict"))


def selector_kind_to_proto(kind: SelectorKind) -> records_pb2.SelectorKind:
    return cast(records_pb2.SelectorKind, _SELECTOR_KINDS[kind])


def selector_to_proto(selector: Selector) -> records_pb2.Selector:
    return records_pb2.Selector(kind=selector_kind_to_proto(selector.kind), value=selector.value)


def selector_kind_from_proto(number: int) -> SelectorKind:
    name = _checked_name(records_pb2.SelectorKind, number, "selector kind")
    return SelectorKind(name.removeprefix("SELECTOR_KIND_").lower())


def selector_from_proto(pb: records_pb2.Selector) -> Selector:
    """A selector as released in a hit (already normalised)."""
    return Selector(selector_kind_from_proto(pb.kind), pb.value)


def _checked_name(enum: Any, number: int, what: str) -> str:
    try:
        name: str = enum.Name(number)
    except ValueError:
        raise InvalidQuery(f"unknown {what} {number}") from None
    if name.endswith("_UNSPECIFIED"):
        raise InvalidQuery(f"{what} is unspecified")
    return name


MAX_SELECTOR_CHARS = 512


def check_size(query: search_pb2.Query) -> None:
    """Refuse oversized queries before anything costly (verifying, normalising) is done."""
    for count, limit, what in (
        (len(query.selectors), MAX_SELECTORS, "selectors"),
        (len(query.types), len(RecordType), "record types"),
        (len(query.handling), len(Handling), "handling codes"),
        (len(query.record_ids), MAX_RECORD_IDS, "record ids"),
    ):
        if count > limit:
            raise InvalidQuery(f"more than {limit} {what}")
    if len(query.text) > MAX_TEXT:
        raise InvalidQuery(f"text is longer than {MAX_TEXT} characters")
    if len(query.name) > MAX_NAME:
        raise InvalidQuery(f"name is longer than {MAX_NAME} characters")
    if len(query.release_id) > MAX_RELEASE_ID:
        raise InvalidQuery(f"a release id is longer than {MAX_RELEASE_ID} characters")
    if any(len(r) > 128 for r in query.record_ids):
        raise InvalidQuery("a record id is longer than 128 characters")
    for index, selector in enumerate(query.selectors):
        if len(selector.value) > MAX_SELECTOR_CHARS:
            raise InvalidQuery(
                f"a selector is longer than {MAX_SELECTOR_CHARS} characters: selectors[{index}]"
            )
    image = query.image
    if len(image.pdq) > pdq.MAX_QUERY_HASHES:
        raise InvalidQuery(f"image.pdq: more than {pdq.MAX_QUERY_HASHES} hashes")
    if any(len(h) > MAX_SELECTOR_CHARS for h in (*image.pdq, image.md5, image.sha1)):
        raise InvalidQuery(f"image: a hash is longer than {MAX_SELECTOR_CHARS} characters")


# --- queries ---------------------------------------------------------------------------------


def query_from_proto(
    pb: search_pb2.Query, *, default_region: str | None, card_key: bytes
) -> SearchQuery:
    """Validate and normalise a query as received.

    Raises:
        InvalidQuery: naming the field at fault (never echoing its value).
    """
    check_size(pb)
    return SearchQuery(
        text=pb.text,
        selectors=selectors_from_proto(
            pb.selectors, default_region=default_region, card_key=card_key
        ),
        name=pb.name,
        types=tuple(record_type_from_proto(t) for t in pb.types),
        created_from=_time(pb, "created_from"),
        created_to=_time(pb, "created_to"),
        handling=tuple(handling_from_proto(h) for h in pb.handling),
        limit=pb.limit or DEFAULT_LIMIT,
        record_ids=tuple(pb.record_ids),
        release_id=pb.release_id,
        image=image_from_proto(pb.image) if pb.HasField("image") else None,
    )


def image_from_proto(pb: search_pb2.ImageQuery) -> ImageQuery:
    """An image query as received, its hashes normalised.

    Raises:
        InvalidQuery: naming the field at fault (never echoing its value).
    """
    hashes: list[str] = []
    for index, raw in enumerate(pb.pdq):
        try:
            hashes.append(normalize_hash(SelectorKind.PDQ, raw))
        except SelectorError as exc:
            raise InvalidQuery(f"image.pdq[{index}]: {exc}") from None
    exact: dict[str, str] = {}
    for kind, raw in ((SelectorKind.MD5, pb.md5), (SelectorKind.SHA1, pb.sha1)):
        if raw.strip():
            try:
                exact[kind.value] = normalize_hash(kind, raw)
            except SelectorError as exc:
                raise InvalidQuery(f"image.{kind.value}: {exc}") from None
    if pb.HasField("max_distance"):
        distance = pb.max_distance
        if distance > pdq.MAX_DISTANCE:
            raise InvalidQuery(f"image.max_distance must be between 0 and {pdq.MAX_DISTANCE}")
    else:
        distance = pdq.DEFAULT_MAX_DISTANCE
    return ImageQuery(
        pdq=tuple(dict.fromkeys(hashes)),
        max_distance=distance,
        md5=exact.get("md5", ""),
        sha1=exact.get("sha1", ""),
    )


def image_to_proto(image: ImageQuery) -> search_pb2.ImageQuery:
    return search_pb2.ImageQuery(
        pdq=list(image.pdq), max_distance=image.max_distance, md5=image.md5, sha1=image.sha1
    )


def selectors_from_proto(
    selectors: Iterable[records_pb2.Selector], *, default_region: str | None, card_key: bytes
) -> tuple[Selector, ...]:
    """Selectors as typed, normalised (a card fingerprint passes as it is).

    Raises:
        InvalidQuery: naming the selector at fault (never echoing its value).
    """
    normalised = []
    for index, raw in enumerate(selectors):
        kind = selector_kind_from_proto(raw.kind)
        if kind is SelectorKind.CARD and is_card_fingerprint(raw.value):
            normalised.append(Selector(kind, raw.value))  # already a fingerprint
            continue
        try:
            normalised.append(
                normalize(kind, raw.value, default_region=default_region, card_key=card_key)
            )
        except SelectorError as exc:
            raise InvalidQuery(f"selectors[{index}] ({kind.value}): {exc}") from None
    return tuple(normalised)


def _time(pb: search_pb2.Query, field: str) -> datetime | None:
    if not pb.HasField(field):
        return None
    stamp: Timestamp = getattr(pb, field)
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidQuery(f"{field} is not a time between the years 1 and 9999") from None


def query_to_proto(query: SearchQuery) -> search_pb2.Query:
    """The inverse of :func:`query_from_proto` for an already-normalised query."""
    pb = search_pb2.Query(
        text=query.text,
        selectors=[selector_to_proto(s) for s in query.selectors],
        name=query.name,
        types=[record_type_to_proto(t) for t in query.types],
        handling=[handling_to_proto(h) for h in query.handling],
        limit=query.limit,
        record_ids=list(query.record_ids),
        release_id=query.release_id,
    )
    if query.image is not None:
        pb.image.CopyFrom(image_to_proto(query.image))
    if query.created_from:
        pb.created_from.FromDatetime(query.created_from)
    if query.created_to:
        pb.created_to.FromDatetime(query.created_to)
    return pb


# --- records and answers ---------------------------------------------------------------------


def record_to_proto(document: dict[str, Any]) -> records_pb2.Record:
    """A stored document as a full record."""
    record = records_pb2.Record()
    _record_into(record, document)
    return record


def _record_into(record: records_pb2.Record, document: Mapping[str, Any]) -> None:
    """Fill ``record`` (empty) from a stored document, in place: a hit's record is filled
    where it lies in the hit, not built apart and copied in."""
    record_type = RecordType(document["type"])
    envelope = record.envelope
    envelope.agency = document.get("agency", "")
    envelope.record_id = document["record_id"]
    envelope.type = record_type_to_proto(record_type)
    envelope.case_ref = document.get("case_ref", "")
    envelope.handling = handling_to_proto(Handling(document.get("handling", Handling.AMBER.value)))
    envelope.source = document.get("source", "")
    _set_time(envelope.created, document.get("created"))
    _set_time(envelope.updated, document.get("updated"))
    body = document.get("body", {})
    target = getattr(record, record_type.value)
    try:
        _fill(target, body)
    except (KeyError, TypeError, ValueError):  # not the plain form: the slow way
        target.Clear()
        json_format.ParseDict(body, target)


def _fill(message: Message, values: Mapping[str, Any]) -> None:
    """``json_format.ParseDict`` for the plain form ingest stores (field names as in the
    proto, enums by name, RFC 3339 times), several times faster: an answer converts every
    hit's stored body. Anything else raises, and the caller falls back to ``ParseDict``."""
    fields = message.DESCRIPTOR.fields_by_name
    for name, value in values.items():
        field = fields[name]
        kind = field.type
        if kind == FieldDescriptor.TYPE_MESSAGE:
            full_name = field.message_type.full_name if field.message_type else ""
            if full_name == "google.protobuf.Timestamp" and not field.is_repeated:
                _set_time(getattr(message, name), value)
            elif full_name.startswith("google.protobuf."):
                raise ValueError("another well-known type")
            elif field.is_repeated:
                repeated = getattr(message, name)
                for item in value:
                    _fill(repeated.add(), item)
            else:
                _fill(getattr(message, name), value)
        elif kind == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
            numbers = field.enum_type.values_by_name
            if field.is_repeated:
                getattr(message, name).extend(numbers[v].number for v in value)
            else:
                setattr(message, name, numbers[value].number)
        elif kind in _AS_IS:
            if field.is_repeated:
                if not isinstance(value, list) or not all(type(v) is _AS_IS[kind] for v in value):
                    raise TypeError("not a list of plain values")
                getattr(message, name).extend(value)
            elif type(value) is not _AS_IS[kind]:
                raise TypeError("not a plain value")
            else:
                setattr(message, name, value)
        else:  # 64-bit integers as text, bytes as base64, floats: ParseDict's own rules
            raise ValueError("not a plain field")


def record_from_proto(record: records_pb2.Record) -> dict[str, Any]:
    """The envelope and body of a record as plain values (for display and tests)."""
    body_field = record.WhichOneof("body")
    body = getattr(record, body_field) if body_field else None
    envelope = json_format.MessageToDict(record.envelope, preserving_proto_field_name=True)
    return {
        "envelope": envelope,
        "body": json_format.MessageToDict(body, preserving_proto_field_name=True) if body else {},
    }


def _set_time(stamp: Timestamp, value: str | None) -> None:
    if not value:
        return
    if not isinstance(value, str):
        raise TypeError("a time is RFC 3339 text")
    if _PLAIN_TIME.fullmatch(value):  # what ingest stores: whole microseconds at most
        since = datetime.fromisoformat(value) - _EPOCH  # exact: whole days, seconds, µs
        stamp.seconds = since.days * 86_400 + since.seconds
        stamp.nanos = since.microseconds * 1000
    else:
        stamp.FromJsonString(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PLAIN_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_AS_IS: dict[int, type] = {  # fields set as they are, from exactly this Python type
    FieldDescriptor.TYPE_STRING: str,
    FieldDescriptor.TYPE_BOOL: bool,
    FieldDescriptor.TYPE_INT32: int,
    FieldDescriptor.TYPE_UINT32: int,
    FieldDescriptor.TYPE_SINT32: int,
    FieldDescriptor.TYPE_FIXED32: int,
    FieldDescriptor.TYPE_SFIXED32: int,
}


_DISCLOSURE = {
    Disclosure.FULL: search_pb2.DISCLOSURE_LEVEL_FULL,
    Disclosure.SUMMARY: search_pb2.DISCLOSURE_LEVEL_SUMMARY,
    Disclosure.HIT: search_pb2.DISCLOSURE_LEVEL_HIT,
    Disclosure.DENY: search_pb2.DISCLOSURE_LEVEL_DENY,
}


def disclosure_to_proto(level: Disclosure) -> search_pb2.DisclosureLevel:
    return _DISCLOSURE[level]


def disclosure_from_proto(number: int) -> Disclosure:
    for level, value in _DISCLOSURE.items():
        if value == number:
            return level
    raise InvalidQuery(f"unknown disclosure level {number}")


def hit_to_proto(agency: str, hit: SearchHit, *, level: Disclosure) -> search_pb2.Hit:
    """One hit as released at ``level`` (full or summary).

    A summary carries the record's id, type, dates, score and the selectors the requester
    asked about — nothing written in the record itself.
    """
    pb = search_pb2.Hit(
        agency=agency,
        record_id=hit.record_id,
        type=record_type_to_proto(hit.type),
        score=hit.score,
        matched_selectors=_selectors(hit.matched_selectors),
        disclosure=disclosure_to_proto(level),
    )
    if hit.distance is not None:
        pb.distance = hit.distance
        pb.matched_pdq = hit.matched_pdq
    _set_time(pb.created, hit.created)
    if level is Disclosure.FULL:
        pb.title = hit.title
        pb.highlights.extend(
            search_pb2.Highlight(field=name, fragments=fragments)
            for name, fragments in sorted(hit.highlights.items())
        )
        pb.selectors.extend(_selectors(hit.selectors))
        _record_into(pb.record, hit.document)
    return pb


def _selectors(selectors: Iterable[Selector]) -> list[records_pb2.Selector]:
    return [selector_to_proto(s) for s in selectors]


def result_to_proto(
    agency: str,
    result: SearchResult,
    *,
    level_for: Callable[[dict[str, Any]], Disclosure] = lambda _: Disclosure.FULL,
    applied: Disclosure = Disclosure.FULL,
    contact: str = "",
) -> search_pb2.SearchResponse:
    """An answer releasing each hit at the level ``level_for`` gives its record.

    ``applied`` is the most the policy releases to this requester, stated in the answer.

    Hits at ``hit`` or ``deny`` level are never included (the query's scope should already
    have kept them out; this is the last line of defence): a hit-level record is counted in
    ``withheld_hits``, a denied one not at all.
    """
    hits: list[search_pb2.Hit] = []
    withheld = result.withheld
    for hit in result.hits:
        level = level_for(hit.document)
        if level in (Disclosure.FULL, Disclosure.SUMMARY):
            hits.append(hit_to_proto(agency, hit, level=level))
        elif level is Disclosure.HIT:
            withheld += 1
    released = len(hits)
    return search_pb2.SearchResponse(
        agency=agency,
        hits=hits,
        total_hits=released + (result.total - len(result.hits)) + withheld,
        total_is_lower_bound=result.total_is_lower_bound,
        disclosure=disclosure_to_proto(applied),
        took_ms=result.took_ms,
        withheld_hits=withheld,
        contact=contact,
        partial=bool(result.partial),
        partial_reason=result.partial[:200],
    )
