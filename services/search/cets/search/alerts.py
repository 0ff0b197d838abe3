"""What an alert releases: the sharing policy applied to each alert when the watcher pulls it.

Pure: alert documents and the records they name in, ``cets.v1`` alerts out. The level is the
policy's for the watcher and that record *now* (a policy tightened since the alert was raised
applies to it):

    full     the record, as a search would release it in full, with the watched selectors
    summary  type, created date, the watched selectors it carries, and whom to contact
    hit      only that this agency has a new record matching the case's watch, and whom to
             contact: no record id, type, date or selector
    deny     nothing: the alert is not handed out (and counts as delivered)

An alert whose record has since been deleted is not handed out either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cets.core.convert import disclosure_to_proto, hit_to_proto
from cets.core.disclosure import Disclosure
from cets.core.query import SearchHit
from cets.core.records import RecordType
from cets.core.selectors import Selector
from cets.search.policy import Plan
from cets.v1 import watches_pb2

__all__ = ["released_alerts"]


def released_alerts(
    agency: str,
    alerts: Sequence[Mapping[str, Any]],
    records: Mapping[str, Mapping[str, Any]],
    plan: Plan,
) -> list[tuple[watches_pb2.Alert, Disclosure]]:
    """Each alert as ``plan`` releases it, with its level; denied and orphaned ones left out."""
    released: list[tuple[watches_pb2.Alert, Disclosure]] = []
    for alert in alerts:
        document = records.get(alert["record_id"])
        if document is None:
            continue
        level = plan.level_for(document)
        if level is Disclosure.DENY:
            continue
        pb = watches_pb2.Alert(
            alert_id=alert["alert_id"],
            agency=agency,
            case_reference=alert["case_reference"],
            disclosure=disclosure_to_proto(level),
        )
        if level in (Disclosure.FULL, Disclosure.SUMMARY):
            pb.hit.CopyFrom(hit_to_proto(agency, _hit(alert, document), level=level))
            pb.raised.FromJsonString(alert["raised"])
        released.append((pb, level))
    return released


def _hit(alert: Mapping[str, Any], document: Mapping[str, Any]) -> SearchHit:
    keys = document.get("selectors", [])
    return SearchHit(
        record_id=alert["record_id"],
        type=RecordType(document["type"]),
        score=0.0,
        title=document.get("title", ""),
        created=document.get("created"),
        highlights={},
        matched_selectors=tuple(Selector.from_key(k) for k in alert.get("matched", ())),
        selectors=tuple(Selector.from_key(k) for k in keys),
        document=dict(document),
    )
