"""The alert collector's bookkeeping: cursors advance only with what was stored, partners that
fail keep theirs, and a partner with more waiting is pulled again in the same tick."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from cets.gateway.alerts import AlertCollector
from cets.v1 import search_pb2, watches_pb2

OK = search_pb2.AgencyStatus.CODE_OK
DOWN = search_pb2.AgencyStatus.CODE_UNAVAILABLE


class Sink:
    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], watches_pb2.Alert] = {}
        self.next: dict[str, str] = {}

    async def cursors(self) -> dict[str, str]:
        return dict(self.next)

    async def save(self, agency: str, alerts: Sequence[watches_pb2.Alert], next_cursor: str) -> int:
        new = [a for a in alerts if (agency, a.alert_id) not in self.stored]
        for a in new:
            self.stored[(agency, a.alert_id)] = a
        self.next[agency] = next_cursor
        return len(new)


class Partners:
    """Each agency's alerts in order; a page of ``size`` per pull from the cursor given."""

    def __init__(self, alerts: dict[str, list[str]], *, size: int, down: set[str]) -> None:
        self.alerts, self.size, self.down = alerts, size, down
        self.seen: list[dict[str, str]] = []

    async def pull_alerts(self, cursors: Mapping[str, str]) -> watches_pb2.FederatedAlerts:
        self.seen.append(dict(cursors))
        answers = []
        for agency, ids in self.alerts.items():
            status = search_pb2.AgencyStatus(
                agency=agency, code=DOWN if agency in self.down else OK
            )
            if agency in self.down:
                answers.append(watches_pb2.AlertsFrom(status=status))
                continue
            start = int(cursors.get(agency) or 0)
            page = ids[start : start + self.size]
            batch = watches_pb2.AlertBatch(
                agency=agency,
                alerts=[watches_pb2.Alert(alert_id=i, agency=agency) for i in page],
                next_cursor=str(start + len(page)),
                more=start + len(page) < len(ids),
            )
            answers.append(watches_pb2.AlertsFrom(status=status, batch=batch))
        return watches_pb2.FederatedAlerts(answers=answers)


def test_cursors_advance_and_pages_are_drained_in_one_tick() -> None:
    sink = Sink()
    partners = Partners({"rcmp": ["a", "b", "c", "d", "e"], "nca": ["x"]}, size=2, down={"fbi"})
    done = asyncio.run(AlertCollector(partners, sink, interval_s=5).collect())
    assert done.new == 6 and done.failed == ()
    assert sink.next == {"rcmp": "5", "nca": "1"}
    assert len(partners.seen) == 3  # rcmp had more twice


def test_a_partner_that_fails_keeps_its_cursor_and_a_repeat_stores_nothing_twice() -> None:
    sink = Sink()
    partners = Partners({"rcmp": ["a", "b"], "nca": ["x"]}, size=10, down={"nca"})
    first = asyncio.run(AlertCollector(partners, sink, interval_s=5).collect())
    assert (first.new, first.failed) == (2, ("nca",))
    assert "nca" not in sink.next
    partners.down = set()
    sink.next["rcmp"] = ""  # as if the cursor's write had been lost: the batch comes again
    second = asyncio.run(AlertCollector(partners, sink, interval_s=5).collect())
    assert second.new == 1  # only nca's; rcmp's two were already stored
    assert sorted(sink.stored) == [("nca", "x"), ("rcmp", "a"), ("rcmp", "b")]


def test_alerts_that_name_another_agency_are_refused() -> None:
    sink = Sink()

    class Lying(Partners):
        async def pull_alerts(self, cursors: Mapping[str, str]) -> watches_pb2.FederatedAlerts:
            answer = await super().pull_alerts(cursors)
            answer.answers[0].batch.alerts[0].agency = "tps"
            return answer

    done = asyncio.run(
        AlertCollector(Lying({"rcmp": ["a"]}, size=5, down=set()), sink, interval_s=5).collect()
    )
    assert (done.new, done.failed, sink.stored) == (0, ("rcmp",), {})
