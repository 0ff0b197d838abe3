"""The cases REST API, ``/v1/cases`` and ``/v1/alerts``: thin routes over the case store.

Every route needs a verified officer token of this agency; a case is visible only to its
members (anything else is 404, never 403, so a case's existence is not disclosed). Every change
is written to the gateway's audit log. A stale update is 409 and says which version the case is
at now. Watching a case registers its selectors of interest at every partner through the
federation service; closing a case removes the watch.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from cets.common.audit import AuditLog
from cets.core.convert import MAX_SELECTOR_CHARS, check_size
from cets.core.display import build_query
from cets.core.errors import InvalidQuery
from cets.core.watches import DEFAULT_WATCH_DAYS, MAX_WATCH_DAYS
from cets.gateway.cases.store import (
    CaseConflict,
    CaseError,
    CaseNotFound,
    CaseStore,
    StaleCase,
    StoreUnavailable,
)
from cets.gateway.federation_client import FederationClient, FederationError
from cets.gateway.models import MAX_SELECTOR_KEY
from cets.gateway.present import STATUS_NAMES
from cets.gateway.tokens import Officer

__all__ = ["CaseApiError", "case_routes"]

_T = TypeVar("_T")
_REFERENCE = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"
_OFFICER = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"


class CaseApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CaseIn(_In):
    reference: str = Field(pattern=_REFERENCE, description="Your agency's case reference.")
    title: str = Field(min_length=1, max_length=300)
    members: list[Annotated[str, Field(pattern=_OFFICER)]] = Field(
        default_factory=list, max_length=49, description="Other officers of your agency."
    )


class CaseUpdate(_In):
    version: int = Field(ge=1, description="The version you read; a newer one on file is 409.")
    title: str | None = Field(default=None, min_length=1, max_length=300)
    members: list[Annotated[str, Field(pattern=_OFFICER)]] | None = Field(
        default=None, max_length=49
    )


class CloseIn(_In):
    version: int = Field(ge=1)


class LeadIn(_In):
    kind: Literal["hit", "search", "selector"]
    agency: str | None = Field(default=None, max_length=64)
    record_id: str | None = Field(default=None, max_length=128)
    selector: str | None = Field(  # its length is checked by the route: 400, naming it
        default=None, description="KIND:VALUE", json_schema_extra={"maxLength": MAX_SELECTOR_KEY}
    )
    content: dict[str, Any] = Field(
        default_factory=dict,
        description="A hit as it was released (kind hit), or the saved query (kind search).",
    )


class NoteIn(_In):
    text: str = Field(min_length=1, max_length=10_000)


class WatchIn(_In):
    purpose: str = Field(min_length=3, max_length=512, description="Why (audited everywhere).")
    days: int = Field(default=DEFAULT_WATCH_DAYS, ge=1, le=MAX_WATCH_DAYS)


def case_routes(
    *,
    store: CaseStore,
    audit: AuditLog,
    officer: Callable[..., Awaitable[Officer]],
    federation: Callable[[], FederationClient],
    timeout_s: float,
) -> APIRouter:
    router = APIRouter(tags=["cases"])
    as_officer = Depends(officer)

    async def run(call: Callable[[], _T]) -> _T:
        try:
            return await asyncio.to_thread(call)
        except StaleCase as exc:
            raise CaseApiError(409, str(exc)) from None
        except CaseConflict as exc:
            raise CaseApiError(409, str(exc)) from None
        except CaseNotFound as exc:
            raise CaseApiError(404, str(exc)) from None
        except StoreUnavailable as exc:
            raise CaseApiError(503, str(exc)) from None
        except CaseError as exc:
            raise CaseApiError(400, str(exc)) from None

    async def audited(who: Officer, action: str, reference: str, **detail: Any) -> None:
        await audit.append_async(
            {
                "kind": "gateway.case",
                "action": action,
                "officer": who.id,
                "case": reference,
                **detail,
            }
        )

    @router.post("/v1/cases", status_code=201)
    async def create(body: CaseIn, who: Officer = as_officer) -> dict[str, Any]:
        """Open a case; you are its lead officer."""
        case = await run(
            lambda: store.create(
                reference=body.reference, title=body.title, lead=who.id, members=body.members
            )
        )
        await audited(who, "created", body.reference, members=case["members"])
        return case

    @router.get("/v1/cases")
    async def mine(who: Officer = as_officer) -> list[dict[str, Any]]:
        """The cases you are a member of, most recently changed first."""
        return await run(lambda: store.mine(who.id))

    @router.get("/v1/cases/{reference}")
    async def show(reference: str, who: Officer = as_officer) -> dict[str, Any]:
        """A case with its members, leads, notes, timeline and alerts."""
        case = await run(lambda: store.show(reference, who.id))
        case["alerts"] = await run(lambda: store.alerts_for(who.id, reference))
        return case

    @router.patch("/v1/cases/{reference}")
    async def change(reference: str, body: CaseUpdate, who: Officer = as_officer) -> dict[str, Any]:
        """Change title or members, naming the version you read (409 if it changed since)."""
        case = await run(
            lambda: store.update(
                reference, who.id, version=body.version, title=body.title, members=body.members
            )
        )
        await audited(who, "updated", reference, version=case["version"])
        return case

    @router.post("/v1/cases/{reference}/leads", status_code=201)
    async def add_lead(reference: str, body: LeadIn, who: Officer = as_officer) -> dict[str, Any]:
        """Pin a hit (with what was released), save a search, or mark a selector of interest."""
        if body.kind == "hit" and not (body.agency and body.record_id):
            raise CaseApiError(400, "a hit lead needs agency and record_id")
        if body.kind == "selector":
            if not body.selector:
                raise CaseApiError(400, "a selector lead needs selector (KIND:VALUE)")
            if len(body.selector) > MAX_SELECTOR_KEY:
                raise CaseApiError(
                    400, f"selector: its value is longer than {MAX_SELECTOR_CHARS} characters"
                )
            try:  # the selector a watch would send, checked as a search's would be
                check_size(build_query(selectors=[body.selector]))
            except ValueError as exc:
                raise CaseApiError(400, str(exc)) from None
            except InvalidQuery:
                raise CaseApiError(
                    400, f"selector: its value is longer than {MAX_SELECTOR_CHARS} characters"
                ) from None
        case = await run(
            lambda: store.add_lead(
                reference,
                who.id,
                kind=body.kind,
                agency=body.agency,
                record_id=body.record_id,
                selector=body.selector,
                content=body.content,
            )
        )
        await audited(
            who,
            "lead added",
            reference,
            lead=body.kind,
            agency=body.agency,
            record=body.record_id,
            selector=body.selector,
        )
        return case

    @router.delete("/v1/cases/{reference}/leads/{lead_id}")
    async def remove_lead(
        reference: str, lead_id: int, who: Officer = as_officer
    ) -> dict[str, Any]:
        case = await run(lambda: store.remove_lead(reference, who.id, lead_id))
        await audited(who, "lead removed", reference, lead=lead_id)
        return case

    @router.post("/v1/cases/{reference}/notes", status_code=201)
    async def add_note(reference: str, body: NoteIn, who: Officer = as_officer) -> dict[str, Any]:
        case = await run(lambda: store.add_note(reference, who.id, body.text))
        await audited(who, "note added", reference, note=body.text)
        return case

    @router.post("/v1/cases/{reference}/watch")
    async def watch(reference: str, body: WatchIn, who: Officer = as_officer) -> dict[str, Any]:
        """Watch the case's selectors of interest at every partner: a partner that later
        records one of them raises an alert on this case."""
        case = await run(lambda: store.show(reference, who.id))
        if case["status"] != "open":
            raise CaseApiError(409, "the case is closed: reopen it to watch")
        selectors = sorted({lead["selector"] for lead in case["leads"] if lead["selector"]})
        if not selectors:
            raise CaseApiError(400, "the case has no selectors of interest to watch")
        return await _watch(reference, who, selectors, body.purpose, body.days)

    async def _watch(
        reference: str, who: Officer, selectors: list[str], purpose: str, days: int
    ) -> dict[str, Any]:
        try:
            query = build_query(selectors=selectors)
            answer = await federation().set_watch(
                list(query.selectors),
                officer=who.id,
                purpose=purpose,
                case_reference=reference,
                days=days,
                timeout_s=timeout_s,
            )
        except ValueError as exc:
            raise CaseApiError(400, str(exc)) from None
        except FederationError as exc:
            raise CaseApiError(exc.status, str(exc)) from None
        statuses = {
            o.status.agency: {
                "status": STATUS_NAMES.get(o.status.code, "error"),
                "reason": o.status.reason,
            }
            for o in answer.outcomes
        }
        until = datetime.now(UTC) + timedelta(days=days) if selectors else None
        detail = {"selectors": len(selectors), "agencies": statuses}
        await run(lambda: store.set_watched(reference, who.id, until, detail))
        await audited(
            who,
            "watch set" if selectors else "watch removed",
            reference,
            selectors=selectors,
            agencies=statuses,
        )
        return {
            "case": reference,
            "watched_until": until.isoformat() if until else None,
            "agencies": statuses,
        }

    @router.post("/v1/cases/{reference}/close")
    async def close(reference: str, body: CloseIn, who: Officer = as_officer) -> dict[str, Any]:
        """Close the case (naming the version you read); its watch is removed everywhere."""
        case = await run(
            lambda: store.update(reference, who.id, version=body.version, status="closed")
        )
        await audited(who, "closed", reference)
        if case["watched_until"]:
            await _watch(reference, who, [], "case closed: stop watching", DEFAULT_WATCH_DAYS)
            case = await run(lambda: store.show(reference, who.id))
        return case

    @router.get("/v1/cases/{reference}/report")
    async def report(
        reference: str,
        who: Officer = as_officer,
        format: Annotated[Literal["json", "html"], Query()] = "json",
    ) -> Any:
        """The whole case for the file: JSON export, or HTML that prints cleanly."""
        case = await run(lambda: store.show(reference, who.id))
        case["alerts"] = await run(lambda: store.alerts_for(who.id, reference))
        await audited(who, "report", reference, format=format)
        if format == "html":
            return HTMLResponse(render_report(case), headers={"Cache-Control": "no-store"})
        return case

    @router.get("/v1/alerts")
    async def alerts(
        who: Officer = as_officer, case: Annotated[str | None, Query(max_length=128)] = None
    ) -> list[dict[str, Any]]:
        """Alerts raised by partners for the cases you are a member of, newest first."""
        return await run(lambda: store.alerts_for(who.id, case))

    return router


def render_report(case: dict[str, Any]) -> str:
    """A self-contained, escaped HTML report of a case, styled for print."""
    e = html.escape

    def rows(items: list[str]) -> str:
        return "".join(f"<li>{i}</li>" for i in items) or "<li>none</li>"

    leads = [
        f"{e(lead['kind'])}: {e(lead['agency'] or '')} "
        f"{e(lead['record_id'] or lead['selector'] or '')} "
        f"<small>added by {e(lead['added_by'])}, {e(lead['added'] or '')}</small>"
        for lead in case["leads"]
    ]
    notes = [
        f"<p>{e(n['text'])}</p><small>{e(n['author'])}, {e(n['written'] or '')}</small>"
        for n in case["notes"]
    ]
    alerts = [
        f"{e(a['agency'])}: {e(a['disclosure'])} {e(a['record_id'] or '')}"
        f" <small>{e(a['received'] or '')}</small>"
        for a in case.get("alerts", [])
    ]
    events = [f"{e(t['at'] or '')} {e(t['officer'])}: {e(t['what'])}" for t in case["timeline"]]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Case {e(case["reference"])}</title>
<style>
body {{ font: 11pt/1.4 Georgia, serif; margin: 2cm; color: #000; }}
h1 {{ font-size: 16pt; margin: 0 0 .2em; }} h2 {{ font-size: 12pt; border-bottom: 1px solid #000; }}
small {{ color: #444; }} li {{ margin: .2em 0; }}
@media print {{ body {{ margin: 0; }} h2 {{ break-after: avoid; }} li {{ break-inside: avoid; }} }}
</style></head><body>
<h1>Case {e(case["reference"])}: {e(case["title"])}</h1>
<p>Status {e(case["status"])} · lead officer {e(case["lead_officer"])} · members
{e(", ".join(case["members"]))} · opened {e(case["created"] or "")} · version {case["version"]}</p>
<h2>Leads</h2><ul>{rows(leads)}</ul>
<h2>Alerts from partners</h2><ul>{rows(alerts)}</ul>
<h2>Notes</h2>{"".join(notes) or "<p>none</p>"}
<h2>Timeline</h2><ul>{rows(events)}</ul>
</body></html>
"""
