"""Linking records held by different agencies that share an identifier.

Two records are linked when they hold the same normalised selector (an e-mail address, a
username, a phone number, a card fingerprint, an IP address...); links chain, so records
linked directly or through other records form one *entity*. Only entities whose records come
from at least two agencies are reported: that is what the federation is for -- telling an
officer that a partner holds something on the same person or account.

A hit's selectors are what its owner released: every selector of the record at full
disclosure (``selectors``), and at least the query's selectors the record holds
(``matched_selectors``), which is all a summary carries. Both are used.

The module is pure: no I/O, no logging.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Final

from cets.common.canonical import canonical_json
from cets.core.convert import selector_from_proto
from cets.core.errors import InvalidQuery
from cets.v1 import records_pb2, search_pb2

__all__ = ["MAX_LINK_HITS", "Evidence", "LinkedEntity", "entity_id", "link", "selector_key"]

MAX_LINK_HITS: Final = 5000
"""The most hits :func:`link` accepts at once."""

Record = tuple[str, str]
"""(agency, record_id)"""


@dataclass(frozen=True)
class Evidence:
    """One selector that ties records of an entity together."""

    selector: str
    """The selector's key, ``"<kind>:<value>"``, e.g. ``"email:a@example.org"``."""
    records: tuple[Record, ...]
    """The records that hold it, sorted; always two or more."""


@dataclass(frozen=True)
class LinkedEntity:
    """Records, held by two or more agencies, connected by shared selectors."""

    id: str
    """Stable: the hex SHA-256 (first 32 digits) of the canonical JSON of :attr:`selectors`."""
    selectors: tuple[str, ...]
    """The keys of the selectors held by two or more of its records, sorted."""
    records: tuple[Record, ...]
    agencies: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    """One per entry of :attr:`selectors`, in the same order."""


def link(hits: Iterable[search_pb2.Hit]) -> list[LinkedEntity]:
    """The cross-agency entities among ``hits``.

    A record seen in several hits (say, on several pages) counts once, with the selectors of
    all its hits. Hits without an agency or a record id, and selectors of no known kind or
    with an empty value, are ignored.

    Returns:
        The entities spanning two or more agencies: most agencies first, then most records,
        then by id.

    Raises:
        ValueError: more than :data:`MAX_LINK_HITS` hits.
    """
    batch = list(islice(hits, MAX_LINK_HITS + 1))
    if len(batch) > MAX_LINK_HITS:
        raise ValueError(f"at most {MAX_LINK_HITS} hits can be linked at once")

    holders: dict[str, set[Record]] = defaultdict(set)
    for hit in batch:
        if not hit.agency or not hit.record_id:
            continue
        record = (hit.agency, hit.record_id)
        for selector in (*hit.selectors, *hit.matched_selectors):
            key = selector_key(selector)
            if key is not None:
                holders[key].add(record)

    shared = {key: records for key, records in holders.items() if len(records) > 1}
    groups = _DisjointSets()
    for holding in shared.values():
        first, *rest = sorted(holding)
        for other in rest:
            groups.union(first, other)

    by_root: dict[Record, list[str]] = defaultdict(list)
    for key in sorted(shared):
        by_root[groups.find(min(shared[key]))].append(key)

    entities: list[LinkedEntity] = []
    for keys in by_root.values():
        members = sorted(set[Record]().union(*(shared[key] for key in keys)))
        agencies = sorted({agency for agency, _ in members})
        if len(agencies) < 2:
            continue
        entities.append(
            LinkedEntity(
                id=entity_id(keys),
                selectors=tuple(keys),
                records=tuple(members),
                agencies=tuple(agencies),
                evidence=tuple(Evidence(key, tuple(sorted(shared[key]))) for key in keys),
            )
        )
    entities.sort(key=lambda e: (-len(e.agencies), -len(e.records), e.id))
    return entities


def selector_key(selector: records_pb2.Selector) -> str | None:
    """``"<kind>:<value>"`` for a released (already normalised) selector; ``None`` if unusable."""
    if not selector.value:
        return None
    try:
        return selector_from_proto(selector).key
    except InvalidQuery:  # unspecified or unknown kind
        return None


def entity_id(selector_keys: Iterable[str]) -> str:
    """The id of the entity tied together by ``selector_keys`` (in any order)."""
    return hashlib.sha256(canonical_json(sorted(set(selector_keys)))).hexdigest()[:32]


class _DisjointSets:
    """Union-find over records, with path halving and union by size."""

    def __init__(self) -> None:
        self._parent: dict[Record, Record] = {}
        self._size: dict[Record, int] = {}

    def find(self, item: Record) -> Record:
        parent = self._parent.setdefault(item, item)
        while parent != item:
            grandparent = self._parent[parent]
            self._parent[item] = grandparent
            item, parent = parent, grandparent
        return item

    def union(self, a: Record, b: Record) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return
        if self._size.get(root_a, 1) < self._size.get(root_b, 1):
            root_a, root_b = root_b, root_a
        self._parent[root_b] = root_a
        self._size[root_a] = self._size.get(root_a, 1) + self._size.get(root_b, 1)
