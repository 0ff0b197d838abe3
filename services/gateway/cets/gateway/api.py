"""The officers' REST API: search every partner at once, page through one merged list, see
which records at different agencies share an identifier.

Every search needs an officer token, a purpose and a case reference. The gateway asks its
agency's federation service (which signs, fans out and verifies), merges the per-agency lists
(:mod:`cets.gateway.merge`), pages them with a cursor (:mod:`cets.gateway.pagination`), links
records across agencies (:mod:`cets.gateway.linking`) and records the search in its own audit
log before answering. Errors are JSON ``{"error": "..."}`` with a 4xx status saying what is
wrong; nothing an officer types produces a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import mimetypes
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from google.protobuf import json_format
from opentelemetry import trace
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from cets.common import tracing
from cets.common.audit import AuditLog
from cets.common.imagehash import ImageError, hash_image
from cets.common.quota import Place, Quota
from cets.common.tls import ClientTls
from cets.core import pdq
from cets.core.convert import check_size
from cets.core.display import build_query
from cets.core.errors import InvalidQuery
from cets.gateway.alerts import AlertCollector, Collector
from cets.gateway.bodies import BodyLimit
from cets.gateway.cases.routes import CaseApiError, case_routes
from cets.gateway.cases.store import CaseError, CaseStore
from cets.gateway.federation_client import FederationClient, FederationError
from cets.gateway.linking import link
from cets.gateway.merge import MergedHit, Method, merge
from cets.gateway.models import (
    ErrorOut,
    HitOut,
    ImageHashOut,
    PivotIn,
    QueryIn,
    SearchIn,
    SearchOut,
)
from cets.gateway.node_client import NodeAdminClient
from cets.gateway.pagination import (
    BadCursor,
    decode_cursor,
    encode_cursor,
    page,
    query_digest,
    wanted,
)
from cets.gateway.present import (
    ANSWERED,
    STATUS_NAMES,
    agency_out,
    audit_entry,
    has_more,
    hit_out,
    link_out,
)
from cets.gateway.release_routes import DecisionSink, release_routes
from cets.gateway.releases import ReleaseBook, ReleaseNotFound
from cets.gateway.tokens import Officer, TokenError, verify_token
from cets.v1 import search_pb2

__all__ = ["ApiError", "Gateway", "create_app"]

_log = logging.getLogger(__name__)
MAX_PER_AGENCY = 100
MAX_IMAGE_BYTES = 32 * 1024 * 1024
"""The largest image hashed (POST /v1/images/hash); it is held in memory only."""
_DETAIL_STATUS = {  # a record's owner did not answer: why, in HTTP terms
    search_pb2.AgencyStatus.CODE_REJECTED: 403,
    search_pb2.AgencyStatus.CODE_UNAVAILABLE: 503,
    search_pb2.AgencyStatus.CODE_TIMEOUT: 504,
}
_STATIC = Path(__file__).parent / "static"
# The page's ES modules must come as JavaScript: Python 3.11 calls .js application/javascript
# unless the system's mime.types says otherwise (slim images have none); say text/javascript.
mimetypes.add_type("text/javascript", ".js")
_SEARCH_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 413, 422, 429, 502, 503, 504)
}
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


@dataclass
class Gateway:
    """What the API needs. The federation client is opened on the app's own event loop."""

    agency_id: str
    officer_key: Ed25519PublicKey
    federation_target: str
    audit: AuditLog
    cursor_key: bytes
    federation_tls: ClientTls | None = None
    rate_limit: str = "30/minute"
    timeout_s: float = 5.0
    cases: CaseStore | None = None
    """The case store; none: no cases or alerts at this gateway."""
    alert_poll_s: float = 60.0
    """How often partners' alerts, and their decisions on release requests, are collected
    (with a case store)."""
    node_target: str = ""
    """The agency's own node, for its administrators' decisions on release requests; empty:
    they decide with ``cets releases`` only."""
    node_tls: ClientTls | None = None
    metrics_token: str | None = None
    """Who may read ``/metrics``: a caller with ``Authorization: Bearer <this>``; None: nobody."""


def _outcome(status: int) -> str:
    """The ``outcome`` label of a search answered with HTTP ``status``."""
    if status == 429:
        return "limited"
    if status < 500:
        return "refused"  # the search as asked cannot run: the officer's to fix
    return {503: "unavailable", 504: "timeout"}.get(status, "failed")


def create_app(gateway: Gateway) -> FastAPI:
    registry = CollectorRegistry()
    searches = Counter(
        "cets_gateway_searches",
        "Searches and record fetches, by outcome: ok; refused (4xx: invalid, not allowed, too "
        "large); limited (429); failed (502), unavailable (503) or timeout (504)",
        ["outcome"],
        registry=registry,
    )
    latency = Histogram("cets_gateway_search_seconds", "Search latency", registry=registry)
    quota = Quota(gateway.rate_limit)

    clients: list[FederationClient] = []
    nodes: list[NodeAdminClient] = []
    book = ReleaseBook(gateway.cases.engine, gateway.cases) if gateway.cases is not None else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        clients.append(FederationClient(gateway.federation_target, gateway.federation_tls))
        if gateway.node_target:
            nodes.append(NodeAdminClient(gateway.node_target, gateway.node_tls))
        collecting: list[asyncio.Task[None]] = []
        if gateway.cases is not None and book is not None:
            alerts = AlertCollector(clients[0], gateway.cases, interval_s=gateway.alert_poll_s)
            sink = DecisionSink(book, gateway.audit)
            decisions: Collector[Any] = Collector(
                clients[0].pull_decisions,
                sink,
                interval_s=gateway.alert_poll_s,
                items=lambda batch: batch.decisions,
                owner=lambda decision: decision.agency,
                collected=sink.collected,
            )
            decisions.what = "decisions"
            collecting = [asyncio.create_task(c.run()) for c in (alerts, decisions)]
        yield
        for task in collecting:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await clients.pop().close()
        if nodes:
            await nodes.pop().close()

    app = FastAPI(
        title="cets gateway",
        version="1",
        description="Federated search across partner agencies, for officers.",
        lifespan=lifespan,
    )
    # every body is a small JSON object, but an image to hash: that endpoint caps its own
    app.add_middleware(BodyLimit, own_limit={"/v1/images/hash"})

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(CaseApiError)
    async def case_error(_: Request, exc: CaseApiError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        # the framework's own refusals (a body that is no JSON, an unknown path or method)
        # answer like every other error, not with its {"detail": ...}
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        for e in exc.errors():
            if e.get("type") == "json_invalid":
                where = e["loc"][-1] if len(e["loc"]) > 1 else 0
                reason = (e.get("ctx") or {}).get("error", "it does not parse")
                return JSONResponse(
                    {"error": f"the request body is not valid JSON: {reason} at character {where}"},
                    status_code=400,
                )
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors()
        ]
        return JSONResponse(
            {"error": "; ".join(problems[:10]) or "invalid request"}, status_code=422
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        _log.error("unexpected failure", extra={"error": type(exc).__name__}, exc_info=exc)
        return JSONResponse({"error": "the gateway failed; the failure is logged"}, status_code=500)

    async def token_officer(authorization: Annotated[str | None, Header()] = None) -> Officer:
        """A verified officer (verifying spends nothing: searches take a place in the quota
        once checked, and the case routes take none)."""
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(
                401,
                "an officer token is required (Authorization: Bearer ...)",
                {"WWW-Authenticate": "Bearer"},
            )
        try:
            return verify_token(
                authorization.removeprefix("Bearer ").strip(),
                gateway.officer_key,
                agency=gateway.agency_id,
            )
        except TokenError as exc:
            raise ApiError(401, str(exc), {"WWW-Authenticate": "Bearer"}) from None

    # every search endpoint needs a verified officer; a search takes its place in the officer's
    # quota only once the gateway has checked it (take_place)
    as_officer = Depends(token_officer)

    if gateway.cases is not None:
        app.include_router(
            case_routes(
                store=gateway.cases,
                audit=gateway.audit,
                officer=token_officer,
                federation=lambda: clients[0],
                timeout_s=gateway.timeout_s,
            )
        )
        assert book is not None
        app.include_router(
            release_routes(
                book=book,
                cases=gateway.cases,
                audit=gateway.audit,
                officer=token_officer,
                federation=lambda: clients[0],
                node=lambda: nodes[0] if nodes else None,
                timeout_s=gateway.timeout_s,
            )
        )

    def take_place(who: Officer) -> Place:
        """A place in the officer's quota, for a search the gateway has checked."""
        place = quota.take(who.id)
        if place is None:
            searches.labels(outcome="limited").inc()
            raise ApiError(
                429,
                f"too many searches: the limit is {gateway.rate_limit} per officer",
                {"Retry-After": str(quota.retry_after_s(who.id))},
            )
        return place

    async def federated(
        query: search_pb2.Query,
        place: Place,
        *,
        who: Officer,
        purpose: str,
        case_reference: str,
        targets: list[str],
        wait_for_all: bool = False,
    ) -> Any:
        """The federation service's answer; its refusals become ApiErrors, counted by outcome."""
        try:
            with latency.time():
                return await clients[0].search(
                    query,
                    officer=who.id,
                    purpose=purpose,
                    case_reference=case_reference,
                    targets=targets,
                    timeout_s=gateway.timeout_s,
                    wait_for_all=wait_for_all,
                )
        except FederationError as exc:
            if exc.status in (400, 413):  # invalid, or too large: nothing ran, nothing spent
                quota.give_back(place)
            searches.labels(outcome=_outcome(exc.status)).inc()
            raise ApiError(exc.status, str(exc)) from None

    app.mount("/static", StaticFiles(directory=_STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def officers_page() -> FileResponse:
        """The officers' web page (it calls the endpoints below)."""
        return FileResponse(_STATIC / "index.html", headers=_PAGE_HEADERS)

    @app.get("/v1/health", tags=["operations"])
    async def health() -> dict[str, str]:
        """The gateway is running."""
        return {"status": "ok"}

    @app.get("/v1/ready", tags=["operations"], responses={503: {"model": ErrorOut}})
    async def ready() -> dict[str, str]:
        """The gateway can search: its federation service answers."""
        if not await clients[0].ready():
            raise ApiError(503, "the federation service is not serving")
        return {"status": "ready"}

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
        """Prometheus metrics, for a scraper holding the metrics token only."""
        if gateway.metrics_token is None:
            raise ApiError(
                403, "metrics are off: set CETS_GATEWAY_METRICS_TOKEN_FILE to serve them"
            )
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not (
            authorization
            and authorization.startswith("Bearer ")
            and hmac.compare_digest(given.encode(), gateway.metrics_token.encode())
        ):
            raise ApiError(
                401,
                "the metrics token is required (Authorization: Bearer ...)",
                {"WWW-Authenticate": "Bearer"},
            )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/search", response_model=SearchOut, tags=["search"], responses=_SEARCH_ERRORS)
    async def search(body: SearchIn, who: Officer = as_officer) -> SearchOut:
        """Search every partner agency (or ``targets``) at once."""
        return await run(checked(body.query), body, who)

    @app.post(
        "/v1/images/hash",
        response_model=ImageHashOut,
        tags=["search"],
        responses={**_SEARCH_ERRORS, 413: {"model": ErrorOut}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    async def image_hash(request: Request, who: Officer = as_officer) -> ImageHashOut:
        """An image's MD5, SHA-1 and PDQ hashes (and its 8 dihedral PDQ hashes), for an image
        query. Send the file's bytes as the body (JPEG, PNG, GIF, WebP, BMP or TIFF, up to 32
        MiB). The image is hashed in memory at this gateway and discarded: it is never stored,
        logged, or sent to any agency; only its hashes are, when you search with them."""
        place = take_place(who)  # hashing counts against the search rate limit
        try:
            data = await _read_capped(request, MAX_IMAGE_BYTES)
            try:
                hashes = await asyncio.to_thread(hash_image, data, dihedral=True)
            finally:
                del data
        except ImageError as exc:  # not an image: the officer's quota is not spent
            quota.give_back(place)
            raise ApiError(400, f"image: {exc}") from None
        except ApiError as exc:  # no body, or one too large: likewise
            if exc.status < 500:
                quota.give_back(place)
            raise
        return ImageHashOut(
            md5=hashes.md5,
            sha1=hashes.sha1,
            pdq=hashes.pdq,
            quality=hashes.quality,
            low_quality=hashes.low_quality,
            width=hashes.width,
            height=hashes.height,
            format=hashes.format,
            dihedral=list(hashes.dihedral),
            dihedral_names=list(pdq.DIHEDRAL_NAMES),
        )

    @app.post("/v1/pivot", response_model=SearchOut, tags=["search"], responses=_SEARCH_ERRORS)
    async def pivot(body: PivotIn, who: Officer = as_officer) -> SearchOut:
        """Search every partner for the identifiers of one record (one hop out)."""
        return await run(checked(QueryIn(selectors=body.selectors)), body, who)

    @app.get(
        "/v1/records/{agency}/{record_id}",
        response_model=HitOut,
        tags=["search"],
        responses=_SEARCH_ERRORS,
    )
    async def record(
        agency: str,
        record_id: str,
        purpose: Annotated[str, Query(min_length=3, max_length=512)],
        case_reference: Annotated[str, Query(min_length=1, max_length=128)],
        who: Officer = as_officer,
        release_id: Annotated[
            str | None,
            Query(
                max_length=64,
                description="An approved release of yours that covers the record: fetched at "
                "the approved level, checked by the owner against its approval.",
            ),
        ] = None,
    ) -> HitOut:
        """One record, fetched from the agency that holds it, as far as its policy allows (or,
        with ``release_id``, as far as the owner's approval allows)."""
        if len(record_id) > 128:
            raise ApiError(400, "record_id is longer than 128 characters")
        query = build_query(record_ids=[record_id], limit=1)
        if release_id:
            await _under_release(who, agency, record_id, release_id, purpose, case_reference)
            query.release_id = release_id
        try:  # checked like a search body: surrounding blanks stripped, then the lengths
            body = SearchIn(
                query=QueryIn(), purpose=purpose, case_reference=case_reference, targets=[agency]
            )
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
            ) from None
        place = take_place(who)
        response = await federated(
            query,
            place,
            who=who,
            purpose=body.purpose,
            case_reference=body.case_reference,
            targets=[agency],
        )
        (answer,) = response.answers
        if answer.status.code not in ANSWERED:
            http = _DETAIL_STATUS.get(answer.status.code, 502)
            state = STATUS_NAMES.get(answer.status.code, "error")
            if release_id:  # the owner refused a fetch under its approval: on the record
                await gateway.audit.append_async(
                    _release_fetch(who, agency, record_id, release_id, purpose, case_reference)
                    | {"outcome": "refused by the owner", "reason": answer.status.reason}
                )
            searches.labels(outcome=_outcome(http)).inc()
            raise ApiError(http, f"{agency}: {state}: {answer.status.reason}")
        hits = [h for h in answer.response.hits if h.record_id == record_id]
        result = SearchOut(
            results=[],
            agencies=[agency_out(answer)],
            links=[],
            next_cursor=None,
            took_ms=response.took_ms,
        )
        if not hits:
            await gateway.audit.append_async(audit_entry(who, body, query, result))
            searches.labels(outcome="ok").inc()
            contact = answer.response.contact or agency
            raise ApiError(404, f"{agency} does not release this record in full; ask {contact}")
        merged = MergedHit(
            agency=agency, record_id=record_id, agency_rank=1, fused=1.0, exact=False, hit=hits[0]
        )
        hit = hit_out(merged, 1)
        result.results.append(hit)
        await gateway.audit.append_async(audit_entry(who, body, query, result))
        searches.labels(outcome="ok").inc()
        if release_id:
            await gateway.audit.append_async(
                _release_fetch(who, agency, record_id, release_id, purpose, case_reference)
                | {"outcome": "ok", "level": hit.disclosure}
            )
        return hit

    async def _under_release(
        who: Officer,
        agency: str,
        record_id: str,
        release_id: str,
        purpose: str,
        case_reference: str,
    ) -> None:
        """Refuse, audited, a fetch this gateway knows its approval does not allow (the owner
        checks every other one against its own copy)."""
        entry = _release_fetch(who, agency, record_id, release_id, purpose, case_reference)
        if book is None:
            problem, status = "this gateway keeps no release requests", 404
        else:
            try:
                held = await asyncio.to_thread(book.get, who.id, agency, release_id)
            except ReleaseNotFound as exc:
                problem, status = str(exc), 404
            except CaseError as exc:
                raise ApiError(503, str(exc)) from None
            else:
                problem, status = _release_problem(held, record_id), 403
        if problem:
            await gateway.audit.append_async(entry | {"outcome": "refused", "reason": problem})
            raise ApiError(status, problem)

    def checked(body: QueryIn) -> search_pb2.Query:
        try:
            return _query(body)
        except ApiError:
            searches.labels(outcome="refused").inc()
            raise

    async def run(query: search_pb2.Query, body: SearchIn | PivotIn, who: Officer) -> SearchOut:
        started = time.monotonic()
        digest = query_digest(query, body.targets)
        try:
            shown = _shown(body.cursor, digest, gateway.cursor_key)
        except ApiError:
            searches.labels(outcome="refused").inc()
            raise
        asked = wanted(shown, body.page_size, cap=MAX_PER_AGENCY)
        query.limit = max([*asked.values(), body.page_size])
        place = take_place(who)
        response = await federated(
            query,
            place,
            who=who,
            purpose=body.purpose,
            case_reference=body.case_reference,
            targets=body.targets,
            wait_for_all=body.wait_for_all,
        )
        lists = {
            a.status.agency: list(a.response.hits)
            for a in response.answers
            if a.status.code in ANSWERED
        }
        # bounded: the agencies' own scores came closest to one central index on every split,
        # and the bound keeps a node with out-of-scale scores from taking over
        # (bench/results/ranking-*.md)
        merged = merge(lists, method=Method.BOUNDED)
        shown_hits, now_shown = page(merged, shown, body.page_size)
        more = len(shown_hits) == body.page_size and has_more(
            response, now_shown, cap=MAX_PER_AGENCY
        )
        result = SearchOut(
            results=[
                hit_out(h, rank, query_hashes=len(query.image.pdq))
                for rank, h in enumerate(shown_hits, start=sum(shown.values()) + 1)
            ],
            agencies=[agency_out(a) for a in response.answers],
            links=[link_out(e) for e in link(h for hits in lists.values() for h in hits)],
            next_cursor=encode_cursor(now_shown, query_digest=digest, key=gateway.cursor_key)
            if more
            else None,
            took_ms=int((time.monotonic() - started) * 1000),
        )
        current = trace.get_current_span()  # the request's span, when traces are on
        current.set_attribute(tracing.AGENCY, gateway.agency_id)
        current.set_attribute(tracing.STATUS, "ok")
        current.set_attribute(
            "cets.answered", sum(a.status.code in ANSWERED for a in response.answers)
        )
        await gateway.audit.append_async(audit_entry(who, body, query, result))
        searches.labels(outcome="ok").inc()
        if gateway.cases is not None:  # a search run for a case is listed on it
            await _on_case(gateway.cases, who, body, query, result)
        return result

    tracing.instrument_app(app)
    return app


async def _on_case(
    store: CaseStore,
    who: Officer,
    body: SearchIn | PivotIn,
    query: search_pb2.Query,
    result: SearchOut,
) -> None:
    detail = {
        "purpose": body.purpose,
        "query": json_format.MessageToDict(query, preserving_proto_field_name=True),
        "shown": len(result.results),
        "statuses": {a.agency: a.status for a in result.agencies},
    }
    try:
        await asyncio.to_thread(store.searched, body.case_reference, who.id, detail)
    except CaseError as exc:  # the search itself succeeded and is audited
        _log.warning("search not listed on its case", extra={"reason": str(exc)})


def _release_fetch(
    who: Officer, agency: str, record_id: str, release_id: str, purpose: str, case: str
) -> dict[str, Any]:
    return {
        "kind": "gateway.release",
        "action": "fetch",
        "officer": who.id,
        "agency": agency,
        "record": record_id,
        "release": release_id,
        "purpose": purpose,
        "case": case,
    }


def _release_problem(held: dict[str, Any], record_id: str) -> str:
    """Why an approval on file here does not allow fetching ``record_id`` (empty: it does)."""
    release = held["release_id"]
    if held["status"] != "approved":
        return f"release {release} is {held['status']}, not approved"
    if record_id not in held["record_ids"]:
        return f"release {release} does not cover record {record_id!r}"
    if held["expired"]:
        return f"release {release} expired at {held['expires']}"
    return ""


def _query(body: QueryIn) -> search_pb2.Query:
    try:
        query = build_query(
            text=body.text, selectors=body.selectors, name=body.name, types=body.types, limit=20
        )
    except (ValueError, InvalidQuery) as exc:
        raise ApiError(400, str(exc)) from None
    if body.image is not None:
        image = body.image
        if not (image.pdq or image.md5 or image.sha1):
            raise ApiError(400, "image: give at least one of: pdq, md5, sha1")
        query.image.CopyFrom(
            search_pb2.ImageQuery(
                pdq=image.pdq, max_distance=image.max_distance, md5=image.md5, sha1=image.sha1
            )
        )
    try:
        check_size(query)  # the core's limits, before anything is sent
    except InvalidQuery as exc:
        raise ApiError(400, str(exc)) from None
    if not (body.text.strip() or body.selectors or body.name.strip() or body.image):
        raise ApiError(400, "give at least one of: text, selectors, name, image")
    for field, value in (("created_from", body.created_from), ("created_to", body.created_to)):
        if value is not None:
            if value.tzinfo is None:
                raise ApiError(400, f"{field} needs a time zone, e.g. 2026-01-01T00:00:00Z")
            getattr(query, field).FromDatetime(value)
    return query


async def _read_capped(request: Request, limit: int) -> bytes:
    """The request's body, refused with 413 past ``limit`` bytes (before reading it all)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the image is larger than {limit // (1024 * 1024)} MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the image is larger than {limit // (1024 * 1024)} MiB")
        chunks.append(chunk)
    if not size:
        raise ApiError(400, "image: send the image file's bytes as the request body")
    return b"".join(chunks)


def _shown(cursor: str | None, digest: str, key: bytes) -> dict[str, int]:
    if cursor is None:
        return {}
    try:
        return decode_cursor(cursor, query_digest=digest, key=key)
    except BadCursor as exc:
        raise ApiError(400, f"bad cursor: {exc}") from None
