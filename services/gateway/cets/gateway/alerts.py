"""Collecting the alerts partners raise for this agency's watches.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from cets.v1 import search_pb2, watches_pb2

__all__ = ["AlertCollector", "AlertPuller", "AlertSink", "Collected"]

_log = logging.getLogger(__name__)
MAX_ROUNDS = 20
"""Pulls per tick while partners say more alerts are waiting."""


class AlertPuller(Protocol):
    async def pull_alerts(self, cursors: Mapping[str, str]) -> watches_pb2.FederatedAlerts: ...


class AlertSink(Protocol):
    async def cursors(self) -> dict[str, str]:
        """The next cursor of every partner pulled so far."""
        ...

    async def save(self, agency: str, alerts: Sequence[watches_pb2.Alert], next_cursor: str) -> int:
        """Store a partner's batch and its next cursor atomically; returns how many alerts were
        new (an alert stored before is skipped)."""
        ...


@dataclass(frozen=True, slots=True)
class Collected:
    new: int
    """Alerts stored for the first time in this tick."""
    failed: tuple[str, ...]
    """Partners that did not answer (asked again next tick)."""


class AlertCollector:
    def __init__(self, puller: AlertPuller, sink: AlertSink, *, interval_s: float) -> None:
        self._puller = puller
        self._sink = sink
        self.interval_s = interval_s

    async def collect(self) -> Collected:
        """One tick: pull until no partner says more are waiting (bounded)."""
        new = 0
        failed: set[str] = set()
        for _ in range(MAX_ROUNDS):
            cursors = await self._sink.cursors()
            answer = await self._puller.pull_alerts(cursors)
            more = False
            for part in answer.answers:
                agency = part.status.agency
                if part.status.code != search_pb2.AgencyStatus.CODE_OK:
                    failed.add(agency)
                    continue
                batch = part.batch
                if any(a.agency != agency for a in batch.alerts):
                    failed.add(agency)  # the federation checked this; never trust it twice
                    continue
                if batch.alerts or batch.next_cursor != cursors.get(agency, ""):
                    new += await self._sink.save(agency, list(batch.alerts), batch.next_cursor)
                more = more or batch.more
            if not more:
                break
        if new:
            _log.info("alerts collected", extra={"new": new})
        return Collected(new=new, failed=tuple(sorted(failed)))

    async def run(self) -> None:
        """Collect every ``interval_s`` until cancelled; a failed tick is logged and retried."""
        while True:
            try:
                await self.collect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next tick tries again
                _log.warning("alert collection failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self.interval_s)
