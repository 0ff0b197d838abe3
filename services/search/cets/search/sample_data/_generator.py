"""Streams of records per agency: ordinary cases, with the planted ones slotted in between."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from cets.search.sample_data._agencies import SampleAgency
from cets.search.sample_data._case_writer import _CaseWriter
from cets.search.sample_data._cast import _pools
from cets.search.sample_data._identifiers import _rng
from cets.search.sample_data._links import LinkPlan, PlantedAppearance, PlantedIdentity
from cets.search.sample_data._record_types import (
    _CASE_START_DAYS,
    _CUM_WEIGHTS,
    _FIRST_DAY,
    _SLUGS,
    _STAGE,
    _TYPES,
    Record,
)


class _Stream:
    """One agency's cases, numbered per year, with planted cases slotted in between."""

    def __init__(self, agency: SampleAgency, seed: int) -> None:
        self.agency = agency
        self.pools = _pools(agency, seed)
        self.rng = _rng(seed, agency.id, "records")
        self.writer = _CaseWriter(agency, self.pools, self.rng)
        self._last_number: dict[int, int] = {}

    def case_size(self) -> int:
        return self.rng.randint(8, 40)

    def ordinary(self, size: int, first_number: int) -> Iterator[Record]:
        rng = self.rng
        start = self._start(rng)
        case = self.writer.ordinary_case(self._case_ref(start), start)
        drawn = rng.choices(_TYPES, cum_weights=_CUM_WEIGHTS, k=size)
        types = sorted(drawn, key=_STAGE.__getitem__)
        ids = [f"{self.agency.id}-{_SLUGS[t]}-{first_number + i:07d}" for i, t in enumerate(types)]
        return self.writer.records(case, types, ids)

    def planted(
        self, identity: PlantedIdentity, appearance: PlantedAppearance, plan_seed: int
    ) -> Iterator[Record]:
        rng = _rng(plan_seed, identity.link_id, self.agency.id)
        writer = _CaseWriter(self.agency, self.pools, rng)
        start = self._start(rng)
        case = writer.planted_case(self._case_ref(start), start, identity, appearance)
        return writer.records(case, appearance.record_types, appearance.record_ids)

    def _start(self, rng: random.Random) -> datetime:
        return _FIRST_DAY + timedelta(
            days=rng.randrange(_CASE_START_DAYS), seconds=rng.randrange(86_400)
        )

    def _case_ref(self, start: datetime) -> str:
        number = self._last_number.get(start.year, 0) + 1
        self._last_number[start.year] = number
        return f"{self.agency.id.upper()}-{start.year}-{number:05d}"


def iter_records(
    agency: SampleAgency, count: int, *, seed: int, links: LinkPlan
) -> Iterator[Record]:
    """Yield ``count`` input records of one agency, planted ones included.

    Records are flat, JSON-serialisable mappings as :func:`cets.core.records.prepare`
    takes them, without an ``agency`` key (the ingesting node supplies it). Ids are
    ``<agency>-<type>-<number>``, each number below ``count`` used once. Only the current
    case is held in memory.

    Raises:
        ValueError: ``count`` is negative or smaller than the agency's planted records.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    planted = links.appearances_at(agency.id)
    reserved = sum(len(appearance.record_ids) for _, appearance in planted)
    if reserved > count:
        raise ValueError(
            f"{agency.id}: {count} records cannot hold the {reserved} planted "
            "ones; plant fewer links"
        )
    stream = _Stream(agency, seed)
    ordinary = count - reserved
    done, next_planted = 0, 0
    while done < ordinary or next_planted < len(planted):
        due = (next_planted + 1) * ordinary // (len(planted) + 1)
        if next_planted < len(planted) and done >= due:
            identity, appearance = planted[next_planted]
            next_planted += 1
            yield from stream.planted(identity, appearance, links.seed)
            continue
        size = min(stream.case_size(), ordinary - done)
        yield from stream.ordinary(size, reserved + done)
        done += size
