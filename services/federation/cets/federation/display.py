"""A federated answer as lines for a terminal: one block per agency, its status first."""

from __future__ import annotations

from cets.core.convert import selector_from_proto
from cets.core.display import plain_fragment, plain_text
from cets.v1 import federation_pb2, records_pb2, search_pb2

__all__ = ["format_federated"]

_CODE = {
    search_pb2.AgencyStatus.CODE_OK: "ok",
    search_pb2.AgencyStatus.CODE_TIMEOUT: "timeout",
    search_pb2.AgencyStatus.CODE_UNAVAILABLE: "unavailable",
    search_pb2.AgencyStatus.CODE_REJECTED: "rejected",
    search_pb2.AgencyStatus.CODE_ERROR: "error",
    search_pb2.AgencyStatus.CODE_PARTIAL: "partial",
}
_ANSWERED = (search_pb2.AgencyStatus.CODE_OK, search_pb2.AgencyStatus.CODE_PARTIAL)


def _level(value: int) -> str:
    return search_pb2.DisclosureLevel.Name(value).removeprefix("DISCLOSURE_LEVEL_").lower()


def format_federated(response: federation_pb2.FederatedSearchResponse, *, max_hits: int = 3) -> str:
    lines = []
    for answer in response.answers:
        status = answer.status
        code = _CODE.get(status.code, "error")
        head = f"   {status.agency:<8} {code:<11} {status.latency_ms:>5} ms"
        if status.code not in _ANSWERED:
            lines.append(f"{head}  {plain_text(status.reason)}")
            continue
        reply = answer.response
        head += f"  {_level(reply.disclosure):<7} {reply.total_hits} matches"
        if status.code == search_pb2.AgencyStatus.CODE_PARTIAL:
            head += f" (incomplete: {plain_text(status.reason)})"
        if reply.withheld_hits:
            head += f" ({reply.withheld_hits} disclosed only as a count)"
        lines.append(head)
        for rank, hit in enumerate(reply.hits[:max_hits], start=1):
            kind = records_pb2.RecordType.Name(hit.type).removeprefix("RECORD_TYPE_").lower()
            title = plain_text(hit.title or "(summary only)")
            record = plain_text(hit.record_id)
            lines.append(f"      {rank}. [{kind}] {title}  ({record}, {_level(hit.disclosure)})")
            matched = [selector_from_proto(s).key for s in hit.matched_selectors]
            if matched:
                lines.append(f"         matched: {plain_text(', '.join(matched))}")
            for highlight in hit.highlights[:1]:
                lines.append(
                    f"         {highlight.field}: {plain_fragment(highlight.fragments[0])}"
                )
        if reply.contact and (
            reply.withheld_hits or any(not h.HasField("record") for h in reply.hits)
        ):
            lines.append(f"         contact: {plain_text(reply.contact)}")
    lines.append(f"   ({len(response.answers)} agencies, {response.took_ms} ms)")
    return "\n".join(lines)  # partners' text went through plain_text: shown, never obeyed
