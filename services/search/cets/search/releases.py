"""Release requests held by this node, and its administrators' decisions on them.

One document per request in ``<prefix>-<agency>-releases``::

    {"release_id": ..., "requester": "tps", "officer": ..., "purpose": ..., "case_reference": ...,
     "record_ids": [...], "message": ..., "status": "pending" | "approved" | "denied",
     "level": "summary" | "full", "expires": ..., "reason": ..., "requested": ...,
     "decided": ..., "decided_by": ...}

A request names one record (from a summary hit) or the selectors a count-only answer matched;
the node resolves it to the records it holds that the requester's policy does not deny, and
answers a request for nothing it may release exactly as one for a record it does not hold, so
a partner cannot probe. Administrators decide with ``cets releases`` (:func:`decide`); the
requester pulls decisions, signed by the node, and then fetches the approved records with the
release id (:meth:`ReleaseStore.approved_level`) — the approval, not the policy file, governs
that fetch until it expires.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import AsyncOpenSearch, ConflictError, NotFoundError, OpenSearch

from cets.core.disclosure import Disclosure
from cets.core.errors import InvalidQuery
from cets.core.releases import MAX_APPROVAL_DAYS, MAX_REASON, ReleaseSpec
from cets.search.errors import NodeError
from cets.search.guard import PermissionDenied
from cets.search.index import IndexNames
from cets.search.policy import Plan
from cets.search.store import translate_errors
from cets.search.watches import SETTLE_S, create_index, cursor_after, iso, make_cursor

__all__ = [
    "MAX_RECORDS",
    "AlreadyDecided",
    "NoSuchRequest",
    "ReleaseNames",
    "ReleaseNotFound",
    "ReleaseStore",
    "TooManyPending",
    "decide",
    "ensure_release_index",
    "list_releases",
    "show_release",
]

MAX_RECORDS = 50
"""Records one request may cover (a count-only answer's matches)."""
_KEYWORD = {"type": "keyword"}
_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "release_id": _KEYWORD,
        "requester": _KEYWORD,
        "officer": _KEYWORD,
        "purpose": {"type": "keyword", "index": False},
        "case_reference": _KEYWORD,
        "record_ids": _KEYWORD,
        "message": {"type": "keyword", "index": False},
        "status": _KEYWORD,
        "level": _KEYWORD,
        "expires": {"type": "date"},
        "reason": {"type": "keyword", "index": False},
        "requested": {"type": "date"},
        "decided": {"type": "date"},
        "decided_by": _KEYWORD,
    },
}
_NOTHING = "no record that could be released matches this request"


class ReleaseNotFound(NodeError):
    """Nothing this node holds and may release matches; said the same whether the record is
    missing or denied outright, so nobody learns which."""


class NoSuchRequest(InvalidQuery):
    """No release request has that id here (administrators' calls)."""


class AlreadyDecided(InvalidQuery):
    """The request was decided before (or meanwhile): a decision is final."""


class TooManyPending(NodeError):
    """The requesting agency has as many pending requests here as this node allows."""


@dataclass(frozen=True, slots=True)
class ReleaseNames:
    records: IndexNames

    @property
    def releases(self) -> str:
        return f"{self.records.prefix}-{self.records.agency}-releases"


def ensure_release_index(client: OpenSearch, names: ReleaseNames) -> None:
    with translate_errors("prepare the release index"):
        create_index(client, names.releases, _MAPPING)


class ReleaseStore:
    """What the serving node reads and writes of release requests."""

    def __init__(self, client: AsyncOpenSearch, names: ReleaseNames) -> None:
        self._client = client
        self.names = names

    async def file(
        self,
        *,
        requester: str,
        officer: str,
        purpose: str,
        case_reference: str,
        spec: ReleaseSpec,
        plan: Plan,
        max_pending: int,
        now: datetime,
    ) -> tuple[str, list[str]]:
        """File a pending request; its id and the records it covers."""
        records = await self._resolve(spec, plan)
        with translate_errors("store the release request"):
            pending = await self._client.count(
                index=self.names.releases,
                body={"query": _of(requester, status="pending")},
            )
            if int(pending["count"]) >= max_pending:
                raise TooManyPending(
                    f"agency {requester!r} already has {max_pending} release requests waiting "
                    "here, the most this node keeps; wait for decisions"
                )
            release_id = secrets.token_hex(16)
            await self._client.index(
                index=self.names.releases,
                id=release_id,
                body={
                    "release_id": release_id,
                    "requester": requester,
                    "officer": officer,
                    "purpose": purpose,
                    "case_reference": case_reference,
                    "record_ids": records,
                    "message": spec.message,
                    "status": "pending",
                    "requested": iso(now),
                },
                refresh="wait_for",
            )
        return release_id, records

    async def _resolve(self, spec: ReleaseSpec, plan: Plan) -> list[str]:
        denied = plan.os_filter_for(Disclosure.DENY)
        clauses: list[dict[str, Any]] = (
            [{"term": {"record_id": spec.record_id}}]
            if spec.record_id
            else [{"terms": {"selectors": sorted(s.key for s in spec.selectors)}}]
        )
        body = {
            "size": MAX_RECORDS,
            "_source": False,
            "query": {"bool": {"filter": clauses, "must_not": [denied]}},
            "sort": [{"record_id": "asc"}],
        }
        with translate_errors("find the records asked for"):
            raw = await self._client.search(index=self.names.records.alias, body=body)
        found = [h["_id"] for h in raw["hits"]["hits"]]
        if not found:
            raise ReleaseNotFound(_NOTHING)
        return found

    async def pull(
        self, *, requester: str, cursor: str, limit: int, now: datetime
    ) -> tuple[list[dict[str, Any]], str, bool]:
        """Decisions on ``requester``'s requests made after ``cursor``, oldest first."""
        body: dict[str, Any] = {
            "size": limit + 1,
            "query": {
                "bool": {
                    "filter": [
                        {"term": {"requester": requester}},
                        {"terms": {"status": ["approved", "denied"]}},
                        {"range": {"decided": {"lte": iso(now - timedelta(seconds=SETTLE_S))}}},
                    ]
                }
            },
            "sort": [{"decided": "asc"}, {"release_id": "asc"}],
        }
        after = cursor_after(cursor)
        if after is not None:
            body["search_after"] = after
        with translate_errors("read decisions"):
            raw = await self._client.search(index=self.names.releases, body=body)
        hits = [h["_source"] for h in raw["hits"]["hits"]]
        page = hits[:limit]
        next_cursor = make_cursor(page[-1]["decided"], page[-1]["release_id"]) if page else cursor
        return page, next_cursor, len(hits) > limit

    async def approved_level(
        self, *, requester: str, release_id: str, record_ids: Iterable[str], now: datetime
    ) -> Disclosure:
        """The level ``release_id`` approved ``record_ids`` at for ``requester``;
        :class:`PermissionDenied` unless every record is covered and it has not expired."""
        refusal = PermissionDenied(
            f"release {release_id[:64]!r} does not cover these records for this agency, or "
            "has expired"
        )
        with translate_errors("check the release"):
            try:
                found = await self._client.get(index=self.names.releases, id=release_id)
            except NotFoundError:
                raise refusal from None
        doc = found["_source"]
        expires = doc.get("expires")
        if (
            doc["requester"] != requester
            or doc["status"] != "approved"
            or not expires
            or datetime.fromisoformat(expires.replace("Z", "+00:00")) <= now
            or not set(record_ids) <= set(doc["record_ids"])
        ):
            raise refusal
        return Disclosure(doc["level"])


def _of(requester: str | None, *, status: str | None = None) -> dict[str, Any]:
    filters: list[dict[str, Any]] = []
    if requester is not None:
        filters.append({"term": {"requester": requester}})
    if status is not None:
        filters.append({"term": {"status": status}})
    return {"bool": {"filter": filters}}


def list_releases(
    client: OpenSearch, names: ReleaseNames, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Requests newest first (administrators' view; the message is the requester's own)."""
    with translate_errors("list release requests"):
        if not client.indices.exists(index=names.releases):
            return []
        raw = client.search(
            index=names.releases,
            body={
                "size": limit,
                "query": _of(None, status=status),
                "sort": [{"requested": "desc"}],
            },
        )
    return [h["_source"] for h in raw["hits"]["hits"]]


def show_release(client: OpenSearch, names: ReleaseNames, release_id: str) -> dict[str, Any]:
    with translate_errors("read the release request"):
        try:
            found = client.get(index=names.releases, id=release_id)
        except NotFoundError:
            raise NoSuchRequest(f"no release request {release_id[:64]!r}") from None
    source: dict[str, Any] = found["_source"]
    return source


def decide(
    client: OpenSearch,
    names: ReleaseNames,
    release_id: str,
    *,
    approve: bool,
    by: str,
    level: Disclosure = Disclosure.SUMMARY,
    days: int = 30,
    reason: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Approve (at ``level``, for ``days``) or deny (with ``reason``) a pending request."""
    now = now or datetime.now(UTC)
    with translate_errors("read the release request"):
        try:
            found = client.get(index=names.releases, id=release_id)
        except NotFoundError:
            raise NoSuchRequest(f"no release request {release_id[:64]!r}") from None
    doc = found["_source"]
    if doc["status"] != "pending":
        raise AlreadyDecided(f"release {release_id!r} was already {doc['status']}")
    update: dict[str, Any] = {"decided": iso(now), "decided_by": by}
    if approve:
        if level not in (Disclosure.FULL, Disclosure.SUMMARY):
            raise InvalidQuery("an approval releases full records or summaries")
        if not 1 <= days <= MAX_APPROVAL_DAYS:
            raise InvalidQuery(f"an approval lasts 1 to {MAX_APPROVAL_DAYS} days")
        update.update(status="approved", level=level.value, expires=iso(now + timedelta(days=days)))
    else:
        if not reason.strip():
            raise InvalidQuery("a denial needs a reason (it is sent to the requester)")
        if len(reason) > MAX_REASON:
            raise InvalidQuery(f"the reason is longer than {MAX_REASON} characters")
        update.update(status="denied", reason=reason.strip())
    with translate_errors("record the decision"):
        try:  # only if nobody decided it meanwhile
            client.update(
                index=names.releases,
                id=release_id,
                body={"doc": update},
                refresh="wait_for",
                if_seq_no=found["_seq_no"],
                if_primary_term=found["_primary_term"],
            )
        except ConflictError:
            raise AlreadyDecided(f"release {release_id!r} was decided meanwhile") from None
    return {**doc, **update}
