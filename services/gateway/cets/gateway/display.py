"""A gateway answer (its JSON) as a table for a terminal: results, agencies, links."""

from __future__ import annotations

from typing import Any

from cets.core.display import plain_fragment, plain_text

__all__ = ["card_digits", "format_page", "selector_label"]


def format_page(page: dict[str, Any], *, width: int = 60) -> str:
    lines = ["  #  agency   type              disclosure  record / title"]
    digits = card_digits(page.get("results", []))
    for hit in page.get("results", []):
        mark = "*" if hit["exact"] else " "
        title = plain_text(hit["title"] or "(summary only)")[:width]
        lines.append(
            f"{hit['rank']:>3}{mark} {hit['agency']:<8} {hit['type']:<17} {hit['disclosure']:<11} "
            f"{plain_text(hit['record_id'])}  {title}"
        )
        if hit.get("distance") is not None:
            turned = f", {hit['variant']}" if hit.get("variant") not in (None, "original") else ""
            lines.append(
                f"        image: {hit['distance']} bits apart "
                f"({hit['similarity']:.0%} similar{turned})"
            )
        if hit["matched_selectors"]:
            matched = ", ".join(selector_label(s, digits) for s in hit["matched_selectors"])
            lines.append(f"        matched: {plain_text(matched)}")
        for field, fragments in list(hit["highlights"].items())[:1]:
            lines.append(f"        {field}: {plain_fragment(fragments[0])[: width * 2]}")
    if not page.get("results"):
        lines.append("  (no records released)")
    elif any(hit["exact"] for hit in page["results"]):
        lines.append("  * holds an identifier you searched for (an exact match)")
    lines.append("")
    lines.append("  agency   status       ms   matches  withheld  level")
    for agency in page.get("agencies", []):
        detail = agency["reason"] if agency["status"] != "ok" else agency["contact"]
        lines.append(
            f"  {agency['agency']:<8} {agency['status']:<11} {agency['latency_ms']:>5} "
            f"{agency['total_hits']:>8} {agency['withheld_hits']:>9}  {agency['disclosure']:<8} "
            f"{plain_text(detail or '')}"
        )
    links = page.get("links", [])
    lines.append("")
    lines.append(f"  {len(links)} cross-agency links" + (":" if links else ""))
    for entity in links:
        records = ", ".join(f"{a}/{r}" for a, r in entity["records"])
        lines.append(f"  - {plain_text(', '.join(entity['selectors']))}")
        lines.append(f"      across {', '.join(entity['agencies'])}: {plain_text(records)}")
    if page.get("next_cursor"):
        lines.append(f"\n  more results: search again with --cursor {page['next_cursor']}")
    return "\n".join(lines)


def card_digits(hits: list[dict[str, Any]]) -> dict[str, str]:
    """Card fingerprint -> last four digits, from the records released in ``hits``."""
    digits: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            fingerprint, last4 = value.get("card_fingerprint"), value.get("card_last4")
            if isinstance(fingerprint, str) and isinstance(last4, str):
                digits[fingerprint] = last4
            for inner in value.values():
                walk(inner)

    for hit in hits:
        walk(hit.get("record"))
    return digits


def selector_label(key: str, digits: dict[str, str]) -> str:
    """A selector as an officer reads it: a card (a keyed fingerprint of its number, never the
    number) by its last four digits when a released record gives them."""
    if not key.startswith("card:"):
        return key
    fingerprint = key.removeprefix("card:")
    if fingerprint in digits:
        return f"card ending {digits[fingerprint]}"
    return f"card (fingerprint {fingerprint[:8]}…)"
