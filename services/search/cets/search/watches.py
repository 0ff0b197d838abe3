"""Watches this node holds for partners, and the alerts they raise, in the agency's OpenSearch.

Two indices beside the records (names from :class:`WatchIndexNames`):

``<prefix>-<agency>-watches`` — one document per watcher agency and case::

    {"watcher": "tps", "case_reference": "TPS-2026-001", "officer": ..., "purpose": ...,
     "digests": ["<64 hex>", ...], "selectors": 3, "created": ..., "expires": ...}

  The selectors are kept only as keyed digests (HMAC-SHA256 under a key derived from this
  agency's private key, :func:`watch_key`), so an index dump or a backup does not show what
  partners are interested in. Its id is a digest of watcher and case: one watch per case,
  renewed or replaced by the next request for the same case.

``<prefix>-<agency>-alerts`` — one document per (watch, record)::

    {"watcher": "tps", "watch_id": ..., "case_reference": ..., "record_id": "...",
     "matched": ["email:..."], "raised": ...}

  The id is a digest of watch and record, so ingesting a record again never raises a second
  alert. What an alert releases is decided when it is pulled, from the sharing policy then in
  force (:mod:`cets.search.alerts`).

Matching happens at ingest (:class:`WatchMatcher`), batched: the selectors of every few
thousand acknowledged records are digested and looked up in one query. Pulls read alerts in
the order they were raised, after a cursor, and only those raised a few seconds ago or more
(:data:`SETTLE_S`), so an alert that is being written while a pull runs is never skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from opensearchpy import AsyncOpenSearch, NotFoundError, OpenSearch
from opensearchpy.helpers import bulk

from cets.core.errors import InvalidQuery
from cets.core.selectors import Selector
from cets.core.watches import WatchSpec
from cets.search.errors import NodeError
from cets.search.index import IndexNames
from cets.search.store import translate_errors

__all__ = [
    "SETTLE_S",
    "AlertPage",
    "MatchReport",
    "TooManyWatches",
    "WatchIndexNames",
    "WatchMatcher",
    "WatchStore",
    "WatcherSummary",
    "create_index",
    "cursor_after",
    "iso",
    "make_cursor",
    "watch_key",
]

_log = logging.getLogger(__name__)

SETTLE_S = 3.0
"""Alerts are handed out only once they are this old, so none raised during a pull is skipped
(an alert is searchable within a second of being written: it is written with wait_for)."""
MATCH_BATCH = 2000
"""Acknowledged records per watch lookup during ingest."""
MAX_PULL = 500
DEFAULT_PULL = 100

_KEYWORD = {"type": "keyword"}
_WATCH_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "watcher": _KEYWORD,
        "case_reference": _KEYWORD,
        "officer": _KEYWORD,
        "purpose": {"type": "keyword", "index": False},
        "digests": _KEYWORD,
        "selectors": {"type": "integer"},
        "created": {"type": "date"},
        "expires": {"type": "date"},
    },
}
_ALERT_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "watcher": _KEYWORD,
        "alert_id": _KEYWORD,
        "watch_id": _KEYWORD,
        "case_reference": _KEYWORD,
        "record_id": _KEYWORD,
        "matched": _KEYWORD,
        "raised": {"type": "date"},
    },
}


class TooManyWatches(NodeError):
    """The watcher holds as many watches here as this node allows."""


@dataclass(frozen=True, slots=True)
class WatchIndexNames:
    records: IndexNames

    @property
    def watches(self) -> str:
        return f"{self.records.prefix}-{self.records.agency}-watches"

    @property
    def alerts(self) -> str:
        return f"{self.records.prefix}-{self.records.agency}-alerts"


def watch_key(private_key: Ed25519PrivateKey) -> bytes:
    """The digest key for watched selectors, derived from this agency's private key (so no
    second secret needs keeping, and no partner can compute the digests)."""
    raw = private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cets watch digests").derive(
        raw
    )


def digest(key: bytes, selector_key: str) -> str:
    return hmac.new(key, selector_key.encode("utf-8"), hashlib.sha256).hexdigest()


def watch_id(watcher: str, case_reference: str) -> str:
    return hashlib.sha256(f"{watcher}\n{case_reference}".encode()).hexdigest()[:32]


def alert_id(watch: str, record_id: str) -> str:
    return hashlib.sha256(f"{watch}\n{record_id}".encode()).hexdigest()[:32]


def iso(moment: datetime) -> str:
    """A time as stored: RFC 3339 UTC with milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_index(client: OpenSearch, name: str, mapping: dict[str, Any]) -> None:
    """Create a small single-shard index of the node's own when missing (safe from several
    processes at once), with a replica as soon as the cluster has a second data node."""
    if not client.indices.exists(index=name):
        try:
            client.indices.create(
                index=name,
                body={
                    "settings": {
                        "number_of_shards": 1,
                        "number_of_replicas": 0,
                        "auto_expand_replicas": "0-1",
                    },
                    "mappings": mapping,
                },
            )
        except Exception as exc:
            if "resource_already_exists" not in str(getattr(exc, "error", "")):
                raise


def ensure_watch_indices(client: OpenSearch, names: WatchIndexNames) -> None:
    """Create the watch and alert indices when missing (safe from several processes)."""
    with translate_errors("prepare the watch indices"):
        create_index(client, names.watches, _WATCH_MAPPING)
        create_index(client, names.alerts, _ALERT_MAPPING)


@dataclass(frozen=True, slots=True)
class WatcherSummary:
    """What an administrator may see of one partner's watches here: how many, not what."""

    watcher: str
    watches: int
    selectors: int
    earliest_expiry: str
    latest_expiry: str


@dataclass(frozen=True, slots=True)
class AlertPage:
    alerts: tuple[dict[str, Any], ...]
    """Alert documents, oldest first."""
    next_cursor: str
    more: bool


def make_cursor(moment: str, item: str) -> str:
    """A pull cursor: the time and id of the last item handed out."""
    return f"{moment}|{item}"


def cursor_after(cursor: str) -> list[Any] | None:
    """The ``search_after`` values of a cursor from :func:`make_cursor` (None: the start)."""
    if not cursor:
        return None
    raised, sep, alert = cursor.partition("|")
    if not sep or len(alert) != 32 or len(raised) > 40:
        raise InvalidQuery("the cursor is not one this node gave out")
    try:
        moment = datetime.fromisoformat(raised.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidQuery("the cursor is not one this node gave out") from None
    return [int(moment.timestamp() * 1000), alert]


class WatchStore:
    """The watches and alerts the serving node reads and writes."""

    def __init__(self, client: AsyncOpenSearch, names: WatchIndexNames, key: bytes) -> None:
        self._client = client
        self.names = names
        self._key = key

    def digests(self, spec: WatchSpec) -> list[str]:
        return sorted({digest(self._key, s.key) for s in spec.selectors})

    async def set(
        self,
        *,
        watcher: str,
        case_reference: str,
        officer: str,
        purpose: str,
        spec: WatchSpec,
        max_watches: int,
        now: datetime,
    ) -> datetime | None:
        """Register, renew or (no selectors) remove a watch; returns its expiry (None when
        removed). :class:`TooManyWatches` when a new watch would exceed ``max_watches``."""
        wid = watch_id(watcher, case_reference)
        with translate_errors("store the watch"):
            if spec.removes:
                with contextlib.suppress(NotFoundError):
                    await self._client.delete(index=self.names.watches, id=wid, refresh="wait_for")
                return None
            exists = await self._client.exists(index=self.names.watches, id=wid)
            if not exists and await self._active(watcher, now) >= max_watches:
                raise TooManyWatches(
                    f"agency {watcher!r} already holds {max_watches} watches here, the most "
                    "this node keeps per agency; remove one (close its case) first"
                )
            expires = now + timedelta(days=spec.days)
            await self._client.index(
                index=self.names.watches,
                id=wid,
                body={
                    "watcher": watcher,
                    "case_reference": case_reference,
                    "officer": officer,
                    "purpose": purpose,
                    "digests": self.digests(spec),
                    "selectors": len(spec.selectors),
                    "created": iso(now),
                    "expires": iso(expires),
                },
                refresh="wait_for",
            )
        return expires

    async def _active(self, watcher: str, now: datetime) -> int:
        found = await self._client.count(
            index=self.names.watches, body={"query": _active_of(watcher, now)}
        )
        return int(found["count"])

    async def pull(self, *, watcher: str, cursor: str, limit: int, now: datetime) -> AlertPage:
        """``watcher``'s alerts raised after ``cursor``, oldest first."""
        after = cursor_after(cursor)
        settled = iso(now - timedelta(seconds=SETTLE_S))
        body: dict[str, Any] = {
            "size": limit + 1,
            "query": {
                "bool": {
                    "filter": [
                        {"term": {"watcher": watcher}},
                        {"range": {"raised": {"lte": settled}}},
                    ]
                }
            },
            "sort": [{"raised": "asc"}, {"alert_id": "asc"}],
        }
        if after is not None:
            body["search_after"] = after
        with translate_errors("read alerts"):
            raw = await self._client.search(index=self.names.alerts, body=body)
        hits = raw.get("hits", {}).get("hits", [])
        page = hits[:limit]
        alerts = tuple(h["_source"] for h in page)
        next_cursor = (
            make_cursor(alerts[-1]["raised"], alerts[-1]["alert_id"]) if alerts else cursor
        )
        return AlertPage(alerts=alerts, next_cursor=next_cursor, more=len(hits) > limit)

    async def drop_watchers(self, keep: Iterable[str], *, now: datetime) -> int:
        """Remove the watches (and pending alerts) of every agency not in ``keep``, and every
        watch that has expired."""
        query = {"bool": {"must_not": [{"terms": {"watcher": sorted(keep)}}]}}
        expired = {"range": {"expires": {"lte": iso(now)}}}
        with translate_errors("drop watches of former members"):
            dropped = await self._delete_matching(self.names.watches, query)
            await self._delete_matching(self.names.alerts, query)
            await self._delete_matching(self.names.watches, expired)
        return dropped

    async def _delete_matching(self, index: str, query: dict[str, Any]) -> int:
        # by search and bulk delete: delete_by_query needs OpenSearch's reindex module, which
        # a minimal distribution lacks
        deleted = 0
        while True:
            await self._client.indices.refresh(index=index)
            raw = await self._client.search(
                index=index, body={"size": 1000, "_source": False, "query": query}
            )
            ids = [h["_id"] for h in raw["hits"]["hits"]]
            if not ids:
                return deleted
            body = [{"delete": {"_index": index, "_id": i}} for i in ids]
            await self._client.bulk(body=body, refresh=True)
            deleted += len(ids)


def _active_of(watcher: str | None, now: datetime) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [{"range": {"expires": {"gt": iso(now)}}}]
    if watcher is not None:
        filters.append({"term": {"watcher": watcher}})
    return {"bool": {"filter": filters}}


def list_watchers(
    client: OpenSearch, names: WatchIndexNames, *, now: datetime
) -> list[WatcherSummary]:
    """Who watches how many selectors here, until when — never which selectors."""
    body = {
        "size": 0,
        "query": _active_of(None, now),
        "aggs": {
            "by": {
                "terms": {"field": "watcher", "size": 1000},
                "aggs": {
                    "selectors": {"sum": {"field": "selectors"}},
                    "first": {"min": {"field": "expires"}},
                    "last": {"max": {"field": "expires"}},
                },
            }
        },
    }
    with translate_errors("list watches"):
        if not client.indices.exists(index=names.watches):
            return []
        raw = client.search(index=names.watches, body=body)
    return [
        WatcherSummary(
            watcher=b["key"],
            watches=int(b["doc_count"]),
            selectors=int(b["selectors"]["value"]),
            earliest_expiry=str(b["first"].get("value_as_string", "")),
            latest_expiry=str(b["last"].get("value_as_string", "")),
        )
        for b in raw["aggregations"]["by"]["buckets"]
    ]


@dataclass(slots=True)
class MatchReport:
    """What an ingest's records raised: alerts per watcher agency."""

    alerts: int = 0
    records: int = 0
    """Records that matched at least one partner's watch."""
    watchers: dict[str, int] = field(default_factory=dict)
    """Alerts raised per watching agency: whom the ingesting agency may want to contact."""


class WatchMatcher:
    """Matches records acknowledged by an ingest against the active watches, in batches."""

    def __init__(self, client: OpenSearch, names: WatchIndexNames, key: bytes) -> None:
        self._client = client
        self._names = names
        self._key = key
        self._pending: list[tuple[str, list[str]]] = []
        self._matched: set[str] = set()
        self._watchers: Counter[str] = Counter()
        self.report = MatchReport()
        with translate_errors("read the watches"):
            ensure_watch_indices(client, names)
            found = client.count(
                index=names.watches, body={"query": _active_of(None, datetime.now(UTC))}
            )
        self.enabled = int(found["count"]) > 0
        """False when no partner watches anything here: ingest then pays nothing."""

    def add(self, record_id: str, selector_keys: list[str]) -> None:
        if not self.enabled or not selector_keys:
            return
        self._pending.append((record_id, selector_keys))
        if len(self._pending) >= MATCH_BATCH:
            self.flush()

    def finish(self) -> None:
        """Match what is pending, then make every alert of this ingest visible to pulls."""
        self.flush()
        if self.report.alerts:
            with translate_errors("make the alerts visible"):
                self._client.indices.refresh(index=self._names.alerts)

    def flush(self) -> None:
        """Look the pending records' selectors up and write their alerts: durable once
        written, visible to pulls at the alerts index's next refresh (within a second) or at
        :meth:`finish` — the ingest does not wait for a refresh at every batch."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        by_digest: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for record_id, keys in pending:
            for key in keys:
                by_digest[digest(self._key, key)].append((record_id, key))
        now = datetime.now(UTC)
        actions = []
        with translate_errors("match records against watches"):
            for watch in self._watches_for(sorted(by_digest), now):
                hits: dict[str, list[str]] = defaultdict(list)
                for d in watch["_source"]["digests"]:
                    for record_id, key in by_digest.get(d, ()):
                        hits[record_id].append(key)
                for record_id, keys in hits.items():
                    actions.append(self._alert(watch, record_id, keys, now))
            if actions:
                _, errors = bulk(self._client, actions, raise_on_error=False)
                duplicates = sum(1 for e in errors if _is_conflict(e))
                failed = len(errors) - duplicates
                if failed:
                    _log.error("alerts could not be written", extra={"failed": failed})
                for action in actions:
                    self._matched.add(action["_source"]["record_id"])
                    self._watchers[action["_source"]["watcher"]] += 1
                self.report.alerts += len(actions) - len(errors)
        self.report.records = len(self._matched)
        self.report.watchers = dict(sorted(self._watchers.items()))

    def _watches_for(self, digests: list[str], now: datetime) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(digests), 10_000):  # within OpenSearch's terms limit
            body = {
                "size": 10_000,
                "query": {
                    "bool": {
                        "filter": [
                            {"terms": {"digests": digests[start : start + 10_000]}},
                            {"range": {"expires": {"gt": iso(now)}}},
                        ]
                    }
                },
            }
            raw = self._client.search(index=self._names.watches, body=body)
            found.extend(raw["hits"]["hits"])
        return found

    def _alert(
        self, watch: Mapping[str, Any], record_id: str, keys: list[str], now: datetime
    ) -> dict[str, Any]:
        source = watch["_source"]
        aid = alert_id(watch["_id"], record_id)
        return {
            "_op_type": "create",  # a second ingest of the record raises no second alert
            "_index": self._names.alerts,
            "_id": aid,
            "_source": {
                "alert_id": aid,
                "watcher": source["watcher"],
                "watch_id": watch["_id"],
                "case_reference": source["case_reference"],
                "record_id": record_id,
                "matched": sorted(set(keys)),
                "raised": iso(now),
            },
        }


def _is_conflict(error: Mapping[str, Any]) -> bool:
    result: Any = next(iter(error.values()), {})
    return isinstance(result, Mapping) and result.get("status") == 409


def matched_selectors(alert: Mapping[str, Any]) -> tuple[Selector, ...]:
    return tuple(Selector.from_key(k) for k in alert.get("matched", ()))
