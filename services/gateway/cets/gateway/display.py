"""A gateway answer (its JSON) as a table for a terminal: results, agencies, links."""

from __future__ import annotations

from typing import Any

from cets.core.display import plain_fragment, visible

__all__ = ["format_page"]


def format_page(page: dict[str, Any], *, width: int = 60) -> str:
    lines = ["  #  agency   type              disclosure  record / title"]
    for hit in page.get("results", []):
        mark = "*" if hit["exact"] else " "
        title = (hit["title"] or "(summary only)")[:width]
        lines.append(
            f"{hit['rank']:>3}{mark} {hit['agency']:<8} {hit['type']:<17} {hit['disclosure']:<11} "
            f"{hit['record_id']}  {title}"
        )
        if hit.get("distance") is not None:
            turned = f", {hit['variant']}" if hit.get("variant") not in (None, "original") else ""
            lines.append(
                f"        image: {hit['distance']} bits apart "
                f"({hit['similarity']:.0%} similar{turned})"
            )
        if hit["matched_selectors"]:
            lines.append(f"        matched: {', '.join(hit['matched_selectors'])}")
        for field, fragments in list(hit["highlights"].items())[:1]:
            lines.append(f"        {field}: {plain_fragment(fragments[0])[: width * 2]}")
    if not page.get("results"):
        lines.append("  (no records released)")
    lines.append("")
    lines.append("  agency   status       ms   matches  withheld  level")
    for agency in page.get("agencies", []):
        detail = agency["reason"] if agency["status"] != "ok" else agency["contact"]
        lines.append(
            f"  {agency['agency']:<8} {agency['status']:<11} {agency['latency_ms']:>5} "
            f"{agency['total_hits']:>8} {agency['withheld_hits']:>9}  {agency['disclosure']:<8} "
            f"{detail}"
        )
    links = page.get("links", [])
    lines.append("")
    lines.append(f"  {len(links)} cross-agency links" + (":" if links else ""))
    for entity in links:
        records = ", ".join(f"{a}/{r}" for a, r in entity["records"])
        lines.append(f"  - {', '.join(entity['selectors'])}")
        lines.append(f"      across {', '.join(entity['agencies'])}: {records}")
    if page.get("next_cursor"):
        lines.append("\n  more results: pass the cursor to see the next page")
    return visible("\n".join(lines))  # shown, not acted on: bidi and control characters
