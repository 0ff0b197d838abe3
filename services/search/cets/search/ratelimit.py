"""How often each partner agency may search this node.

Searches are counted per requesting agency, in a moving window (a :class:`Quota`), and only
once the guard has accepted the request (authentic, fresh, addressed here, not replayed): a
forger, or someone replaying captured requests, cannot spend a real agency's allowance. An
agency over its limit gets ``RESOURCE_EXHAUSTED`` naming the limit, and the refusal is audited
like any other.

The count is kept in this process's memory: replicas of a node each allow the full rate.
"""

from __future__ import annotations

from cets.common.quota import Quota
from cets.common.settings import check_rate_limit
from cets.search.errors import RateLimited

__all__ = ["PeerRateLimit", "check_rate_limit"]


class PeerRateLimit:
    """Admits each agency's searches up to ``limit`` (e.g. ``600/minute``)."""

    def __init__(self, limit: str) -> None:
        check_rate_limit(limit)
        self.limit = limit.strip()
        self._quota = Quota(self.limit)

    def admit(self, agency: str, *, kind: str = "searches") -> None:
        """Count one request of ``kind`` by ``agency`` (each kind has its own window);
        :class:`RateLimited` if it is over the limit."""
        if self._quota.take((kind, agency)) is None:
            raise RateLimited(
                f"too many {kind} from agency {agency!r}: this node answers at most "
                f"{self.limit} per agency; retry later"
            )
