"""Turning command-line words into a query, and an answer into lines for a terminal."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from cets.core.convert import (
    record_type_to_proto,
    selector_from_proto,
    selector_kind_to_proto,
)
from cets.core.records import RecordType
from cets.core.selectors import SelectorKind
from cets.v1 import records_pb2, search_pb2

__all__ = ["BOLD", "build_query", "format_response", "plain_fragment", "plain_text", "visible"]

_TAG = re.compile(r"(</?mark>)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
"""Bidirectional embeddings, overrides, isolates and marks: they can make a record read
backwards (``exe.txt`` for ``txt.exe``)."""
_UNSAFE = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"  # bidirectional controls
    "\x00-\x08\x0b-\x1f\x7f-\x9f]"  # control characters (terminal escapes), not tab or newline
)
BOLD = ("\x1b[1m", "\x1b[22m")
"""Terminal bold on and off: what :func:`plain_fragment` marks matches with by default
(``click.echo`` drops them when the output is not a terminal)."""


def visible(text: str) -> str:
    """``text`` for display: every bidirectional control and every control character (which
    can move a terminal's cursor or recolour it) but tab and newline is shown as ``<U+XXXX>``
    instead of acting.

    Only what is shown changes: the stored record and its evidence keep every character.
    """
    return _UNSAFE.sub(_code_point, text)


def _code_point(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group()):04X}>"


def build_query(
    *,
    text: str = "",
    selectors: Sequence[str] = (),
    name: str = "",
    types: Sequence[str] = (),
    limit: int = 10,
    record_ids: Sequence[str] = (),
) -> search_pb2.Query:
    """A query from ``kind:value`` selectors and type names; ValueError says what is wrong."""
    query = search_pb2.Query(text=text, name=name, limit=limit, record_ids=list(record_ids))
    for item in selectors:
        kind, sep, value = item.partition(":")
        if not sep or kind not in SelectorKind.__members__.values():
            kinds = ", ".join(k.value for k in SelectorKind)
            raise ValueError(f"selector must be KIND:VALUE with KIND one of {kinds}")
        query.selectors.append(
            records_pb2.Selector(kind=selector_kind_to_proto(SelectorKind(kind)), value=value)
        )
    for name_ in types:
        try:
            query.types.append(record_type_to_proto(RecordType(name_)))
        except ValueError:
            known = ", ".join(t.value for t in RecordType)
            raise ValueError(f"unknown record type {name_!r}; choose from {known}") from None
    return query


def plain_fragment(fragment: str, marks: tuple[str, str] = BOLD) -> str:
    """A highlight fragment for a terminal: matches between ``marks`` (bold by default), HTML
    entities decoded, and no control characters from the record's text (they could drive the
    terminal; line breaks become spaces)."""
    start, end = marks
    out: list[str] = []
    inside = False
    for index, part in enumerate(_TAG.split(fragment)):
        if index % 2:  # a <mark> or </mark> the node put in
            inside = not part.startswith("</")
            out.append(start if inside else end)
        else:
            out.append(plain_text(html.unescape(part)))
    if inside:
        out.append(end)
    return "".join(out)


def plain_text(text: str) -> str:
    """A record's text for a terminal: no control characters (they could drive it; line
    breaks and tabs become spaces), bidirectional controls shown as ``<U+XXXX>``."""
    return _CONTROL.sub(_blank, _BIDI.sub(_code_point, text))


def _blank(match: re.Match[str]) -> str:
    return " " if match.group() in "\t\n\r" else ""


def format_response(response: search_pb2.SearchResponse, *, max_hits: int = 10) -> str:
    total = f"{response.total_hits}{'+' if response.total_is_lower_bound else ''}"
    lines = [f"{response.agency}: {total} matches in {response.took_ms} ms"]
    for rank, hit in enumerate(response.hits[:max_hits], start=1):
        kind = records_pb2.RecordType.Name(hit.type).removeprefix("RECORD_TYPE_").lower()
        title, record = plain_text(hit.title), plain_text(hit.record_id)
        lines.append(f"  {rank:>2}. [{kind}] {title}  ({record}, score {hit.score:.2f})")
        if hit.HasField("distance"):
            lines.append(f"      image: {hit.distance} bits apart")
        matched = [selector_from_proto(s).key for s in hit.matched_selectors]
        if matched:
            lines.append(f"      matched: {plain_text(', '.join(matched))}")
        for highlight in hit.highlights[:1]:
            lines.append(f"      {highlight.field}: {plain_fragment(highlight.fragments[0])}")
    return "\n".join(lines)  # record text went through plain_text: shown, never obeyed
