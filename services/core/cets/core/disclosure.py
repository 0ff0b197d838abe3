"""How much of a record an agency releases to a requester, most to least.

    full      the whole record
    summary   type, dates, the selectors that matched, and whom to contact
    hit       only that there are matches, and how many
    deny      nothing

Each node decides the level from its own sharing policy (``cets.search.policy``); every other
side only reads it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Disclosure"]


class Disclosure(StrEnum):
    FULL = "full"
    SUMMARY = "summary"
    HIT = "hit"
    DENY = "deny"

    @property
    def rank(self) -> int:
        """Higher releases more."""
        return {"deny": 0, "hit": 1, "summary": 2, "full": 3}[self.value]
