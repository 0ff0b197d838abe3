"""The REST shapes of a federated answer: hits, agency statuses, links and the audit entry.

Pure translation from the contract (``cets.v1``) and the gateway's merge and link results to
the API's models; no I/O. The routes in :mod:`cets.gateway.api` call these.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from cets.core import pdq
from cets.core.convert import (
    handling_from_proto,
    record_type_from_proto,
    selector_from_proto,
    selector_kind_from_proto,
)
from cets.core.errors import InvalidQuery
from cets.gateway.linking import LinkedEntity
from cets.gateway.merge import MergedHit
from cets.gateway.models import (
    AgencyOut,
    EvidenceOut,
    HitOut,
    LinkOut,
    PivotIn,
    SearchIn,
    SearchOut,
)
from cets.gateway.tokens import Officer
from cets.v1 import federation_pb2, records_pb2, search_pb2

__all__ = [
    "ANSWERED",
    "STATUS_NAMES",
    "agency_out",
    "audit_entry",
    "has_more",
    "hit_out",
    "level_name",
    "link_out",
    "record_dict",
    "selector_keys",
]

STATUS_NAMES = {
    search_pb2.AgencyStatus.CODE_OK: "ok",
    search_pb2.AgencyStatus.CODE_TIMEOUT: "timeout",
    search_pb2.AgencyStatus.CODE_UNAVAILABLE: "unavailable",
    search_pb2.AgencyStatus.CODE_REJECTED: "rejected",
    search_pb2.AgencyStatus.CODE_ERROR: "error",
    search_pb2.AgencyStatus.CODE_PARTIAL: "partial",
}
ANSWERED = frozenset({search_pb2.AgencyStatus.CODE_OK, search_pb2.AgencyStatus.CODE_PARTIAL})
"""Statuses that come with an answer: a partial one holds real hits, perhaps not all."""


def has_more(
    response: federation_pb2.FederatedSearchResponse, shown: dict[str, int], *, cap: int
) -> bool:
    """Whether some agency that answered holds more hits (up to ``cap``) than were shown."""
    return any(
        a.status.code in ANSWERED
        and min(a.response.total_hits, cap) > shown.get(a.status.agency, 0)
        for a in response.answers
    )


def level_name(value: int) -> str:
    return search_pb2.DisclosureLevel.Name(value).removeprefix("DISCLOSURE_LEVEL_").lower()


def selector_keys(selectors: Sequence[records_pb2.Selector]) -> list[str]:
    return [selector_from_proto(s).key for s in selectors]


# The contract's enums in the API's words: "amber", "person", "email", as everywhere else in it.
_ENUM_WORDS: dict[str, Any] = {
    "cets.v1.Handling": handling_from_proto,
    "cets.v1.RecordType": record_type_from_proto,
    "cets.v1.SelectorKind": selector_kind_from_proto,
}


def record_dict(record: records_pb2.Record) -> dict[str, Any]:
    """A released record as JSON, its enum values in the API's words (``"amber"``, not
    ``"HANDLING_AMBER"``)."""
    data = json_format.MessageToDict(record, preserving_proto_field_name=True)
    _words(record, data)
    return data


def _words(message: Message, data: dict[str, Any]) -> None:
    for field in message.DESCRIPTOR.fields:
        if field.name not in data:
            continue
        value = getattr(message, field.name)
        repeated = isinstance(data[field.name], list)
        if field.enum_type is not None and field.enum_type.full_name in _ENUM_WORDS:
            word = _ENUM_WORDS[field.enum_type.full_name]
            with contextlib.suppress(InvalidQuery):  # an unspecified or unknown value stays
                data[field.name] = [str(word(v)) for v in value] if repeated else str(word(value))
        elif field.message_type is not None and not field.message_type.GetOptions().map_entry:
            items = (
                list(zip(value, data[field.name], strict=False))
                if repeated
                else [(value, data[field.name])]
            )
            for inner, inner_data in items:
                if isinstance(inner_data, dict):
                    _words(inner, inner_data)


def hit_out(merged: MergedHit, rank: int, *, query_hashes: int = 0) -> HitOut:
    """``query_hashes``: how many PDQ hashes the query held (8: the dihedral variants, so a
    hit's ``matched_pdq`` says how its copy is turned)."""
    hit = merged.hit
    distance = merged.distance
    variant = None
    if distance is not None and query_hashes == len(pdq.DIHEDRAL_NAMES):
        variant = pdq.DIHEDRAL_NAMES[min(hit.matched_pdq, len(pdq.DIHEDRAL_NAMES) - 1)]
    record: dict[str, Any] | None = None
    if hit.HasField("record"):
        record = record_dict(hit.record)
    return HitOut(
        agency=merged.agency,
        record_id=merged.record_id,
        type=records_pb2.RecordType.Name(hit.type).removeprefix("RECORD_TYPE_").lower(),
        disclosure=level_name(hit.disclosure),
        rank=rank,
        agency_rank=merged.agency_rank,
        exact=merged.exact,
        title=hit.title,
        created=hit.created.ToJsonString() if hit.HasField("created") else None,
        matched_selectors=selector_keys(hit.matched_selectors),
        selectors=selector_keys(hit.selectors),
        highlights={h.field: list(h.fragments) for h in hit.highlights},
        record=record,
        distance=distance,
        similarity=None if distance is None else round(pdq.similarity(distance), 4),
        variant=variant,
    )


def agency_out(answer: federation_pb2.AgencyAnswer) -> AgencyOut:
    status, reply = answer.status, answer.response
    return AgencyOut(
        agency=status.agency,
        status=STATUS_NAMES.get(status.code, "error"),
        reason=status.reason,
        latency_ms=status.latency_ms,
        total_hits=reply.total_hits,
        withheld_hits=reply.withheld_hits,
        disclosure=level_name(reply.disclosure) if answer.HasField("response") else "",
        contact=reply.contact,
    )


def link_out(entity: LinkedEntity) -> LinkOut:
    return LinkOut(
        id=entity.id,
        agencies=list(entity.agencies),
        records=list(entity.records),
        selectors=list(entity.selectors),
        evidence=[
            EvidenceOut(selector=e.selector, records=list(e.records)) for e in entity.evidence
        ],
    )


def audit_entry(
    who: Officer, body: SearchIn | PivotIn, query: search_pb2.Query, result: SearchOut
) -> dict[str, Any]:
    return {
        "kind": "gateway.search",
        "officer": who.id,
        "roles": sorted(who.roles),
        "purpose": body.purpose,
        "case": body.case_reference,
        "query": json_format.MessageToDict(query, preserving_proto_field_name=True),
        "targets": list(body.targets),
        "shown": [[h.agency, h.record_id] for h in result.results],
        "statuses": {a.agency: a.status for a in result.agencies},
        "links": len(result.links),
    }
