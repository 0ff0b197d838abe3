"""Collecting what partners hold for this agency: the alerts they raise for its watches, and
(with the same collector) their decisions on its release requests.

Every ``interval_s`` the collector asks the agency's federation service to pull each partner's
new alerts from the cursor this gateway last stored for that partner. The federation service
signs the pulls and checks the holders' signatures; this side keeps what must survive a crash:
each partner's batch and its next cursor are stored in one transaction
(:meth:`AlertSink.save`), and an alert already stored (same holder, same id) is not stored
again. So a crash of the gateway or of the federation service between, or during, pulls loses
nothing and repeats nothing: the next pull starts from the last stored cursor.

A partner that does not answer keeps its cursor; it is asked again at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from cets.v1 import search_pb2, watches_pb2

__all__ = ["AlertCollector", "AlertPuller", "AlertSink", "Collected", "Collector", "Sink"]

_log = logging.getLogger(__name__)
MAX_ROUNDS = 20
"""Pulls per tick while partners say more are waiting."""
_Item = TypeVar("_Item")
_In = TypeVar("_In", contravariant=True)


class AlertPuller(Protocol):
    async def pull_alerts(self, cursors: Mapping[str, str]) -> watches_pb2.FederatedAlerts: ...


class Sink(Protocol[_In]):
    async def cursors(self) -> dict[str, str]:
        """The next cursor of every partner pulled so far."""
        ...

    async def save(self, agency: str, items: Sequence[_In], next_cursor: str) -> int:
        """Store a partner's batch and its next cursor atomically; returns how many items were
        new (an item stored before is skipped)."""
        ...


AlertSink = Sink[watches_pb2.Alert]


@dataclass(frozen=True, slots=True)
class Collected:
    new: int
    """Items stored for the first time in this tick."""
    failed: tuple[str, ...]
    """Partners that did not answer (asked again next tick)."""
    reasons: Mapping[str, str] = field(default_factory=dict)
    """Why each partner that failed did."""


class Collector(Generic[_Item]):
    """Pulls every partner's batches after its stored cursor and stores them (see the module's
    description); :class:`AlertCollector` for alerts, the release decisions' collector for
    decisions."""

    what = "items"

    def __init__(
        self,
        pull: Callable[[Mapping[str, str]], Awaitable[Any]],
        sink: Sink[_Item],
        *,
        interval_s: float,
        items: Callable[[Any], Sequence[_Item]],
        owner: Callable[[_Item], str],
        collected: Callable[[Collected], Awaitable[None]] | None = None,
    ) -> None:
        self._pull = pull
        self._sink = sink
        self._items = items
        self._owner = owner
        self._collected = collected
        self.interval_s = interval_s

    async def collect(self) -> Collected:
        """One tick: pull until no partner says more are waiting (bounded)."""
        new = 0
        failed: dict[str, str] = {}
        for _ in range(MAX_ROUNDS):
            cursors = await self._sink.cursors()
            answer = await self._pull(cursors)
            more = False
            for part in answer.answers:
                agency = part.status.agency
                if part.status.code != search_pb2.AgencyStatus.CODE_OK:
                    failed[agency] = part.status.reason
                    continue
                batch = part.batch
                items = list(self._items(batch))
                if any(self._owner(i) != agency for i in items):
                    # the federation checked this; never trust it twice
                    failed[agency] = "answer speaks for another agency"
                    continue
                if items or batch.next_cursor != cursors.get(agency, ""):
                    new += await self._sink.save(agency, items, batch.next_cursor)
                more = more or batch.more
            if not more:
                break
        if new:
            _log.info(f"{self.what} collected", extra={"new": new})
        done = Collected(new=new, failed=tuple(sorted(failed)), reasons=failed)
        if self._collected is not None:
            await self._collected(done)
        return done

    async def run(self) -> None:
        """Collect every ``interval_s`` until cancelled; a failed tick is logged and retried."""
        while True:
            try:
                await self.collect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next tick tries again
                _log.warning(f"{self.what} collection failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self.interval_s)


class AlertCollector(Collector[watches_pb2.Alert]):
    what = "alerts"

    def __init__(self, puller: AlertPuller, sink: AlertSink, *, interval_s: float) -> None:
        super().__init__(
            puller.pull_alerts,
            sink,
            interval_s=interval_s,
            items=lambda batch: batch.alerts,
            owner=_alert_owner,
        )


def _alert_owner(alert: watches_pb2.Alert) -> str:
    if alert.HasField("hit") and alert.hit.agency != alert.agency:
        return alert.hit.agency
    return alert.agency
