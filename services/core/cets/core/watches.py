"""Watches: standing queries one agency registers at a partner for one of its cases.

A watch is selectors only — normalised identifiers, never free text or names — with a time it
stands for. The holder keeps it under the watcher's case reference, raises an alert when it
ingests a record carrying one of the selectors, and releases each alert as its sharing policy
allows the watcher. Pure types and rules, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from cets.core.convert import MAX_SELECTOR_CHARS, selectors_from_proto
from cets.core.errors import InvalidQuery
from cets.core.query import MAX_SELECTORS
from cets.core.selectors import Selector
from cets.v1 import watches_pb2

__all__ = [
    "DEFAULT_WATCH_DAYS",
    "MAX_WATCH_DAYS",
    "MAX_WATCH_SELECTORS",
    "WatchSpec",
    "check_watch_size",
    "watch_from_proto",
]

DEFAULT_WATCH_DAYS = 90
"""How long a watch stands unless the watcher asks for less (renewing extends it)."""
MAX_WATCH_DAYS = 365
MAX_WATCH_SELECTORS = MAX_SELECTORS


@dataclass(frozen=True, slots=True)
class WatchSpec:
    """A watch as the holder keeps it: normalised selectors (none: remove) and its days."""

    selectors: tuple[Selector, ...]
    days: int

    @property
    def removes(self) -> bool:
        return not self.selectors


def check_watch_size(watch: watches_pb2.Watch) -> None:
    """Refuse an oversized watch before anything costly (verifying, normalising) is done."""
    if len(watch.selectors) > MAX_WATCH_SELECTORS:
        raise InvalidQuery(f"more than {MAX_WATCH_SELECTORS} selectors in a watch")
    if any(len(s.value) > MAX_SELECTOR_CHARS for s in watch.selectors):
        raise InvalidQuery(f"a selector is longer than {MAX_SELECTOR_CHARS} characters")


def watch_from_proto(
    watch: watches_pb2.Watch,
    *,
    default_region: str | None,
    card_key: bytes,
    max_selectors: int = MAX_WATCH_SELECTORS,
) -> WatchSpec:
    """The watch normalised; :class:`InvalidQuery` names what is wrong (never a value)."""
    check_watch_size(watch)
    if len(watch.selectors) > max_selectors:
        raise InvalidQuery(f"more than {max_selectors} selectors in a watch")
    if watch.days > MAX_WATCH_DAYS:
        raise InvalidQuery(f"a watch stands at most {MAX_WATCH_DAYS} days")
    selectors = selectors_from_proto(
        watch.selectors, default_region=default_region, card_key=card_key
    )
    return WatchSpec(selectors=tuple(sorted(set(selectors))), days=watch.days or DEFAULT_WATCH_DAYS)
