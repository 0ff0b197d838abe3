"""A federated answer as lines for a terminal: one block per agency, its status first."""

from __future__ import annotations

from cets.core.convert import selector_from_proto
from cets.core.display import plain_fragment, visible
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
            lines.append(f"{head}  {status.reason}")
            continue
        reply = answer.response
        head += f"  {_level(reply.disclosure):<7} {reply.total_hits} matches"
        if status.code == search_pb2.AgencyStatus.CODE_PARTIAL:
            head += f" (incomplete: {status.reason})"
        if reply.withheld_hits:
            head += f" ({reply.withheld_hits} disclosed only as a count)"
        lines.append(head)
        for rank, hit in enumerate(reply.hits[:max_hits], start=1):
            kind = records_pb2.RecordType.Name(hit.type).removeprefix("RECORD_TYPE_").lower()
            title = hit.title or "(summary only)"
            lines.append(
                f"      {rank}. [{kind}] {title}  ({hit.record_id}, {_level(hit.disclosure)})"
            )
            matched = [selector_from_proto(s).key for s in hit.matched_selectors]
            if matched:
                lines.append(f"         matched: {', '.join(matched)}")
            for highlight in hit.highlights[:1]:
                lines.append(
                    f"         {highlight.field}: {plain_fragment(highlight.fragments[0])}"
                )
        if reply.contact and (
            reply.withheld_hits or any(not h.HasField("record") for h in reply.hits)
        ):
            lines.append(f"         contact: {reply.contact}")
    lines.append(f"   ({len(response.answers)} agencies, {response.took_ms} ms)")
    return visible("\n".join(lines))  # shown, not acted on: bidi and control characters
