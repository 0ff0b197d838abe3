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
from limits import parse as parse_limit
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
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
from cets.common.tls import ClientTls
from cets.core import pdq
from cets.core.display import build_query
from cets.gateway.alerts import AlertCollector
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
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 422, 429, 502, 503, 504)
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
    """How often partners' alerts are collected (with a case store)."""


def create_app(gateway: Gateway) -> FastAPI:
    registry = CollectorRegistry()
    searches = Counter(
        "cets_gateway_searches", "Federated searches", ["outcome"], registry=registry
    )
    latency = Histogram("cets_gateway_search_seconds", "Search latency", registry=registry)
    limiter = MovingWindowRateLimiter(MemoryStorage())
    limit = parse_limit(gateway.rate_limit)

    clients: list[FederationClient] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        clients.append(FederationClient(gateway.federation_target, gateway.federation_tls))
        collecting = None
        if gateway.cases is not None:
            collector = AlertCollector(clients[0], gateway.cases, interval_s=gateway.alert_poll_s)
            collecting = asyncio.create_task(collector.run())
        yield
        if collecting is not None:
            collecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collecting
        await clients.pop().close()

    app = FastAPI(
        title="cets gateway",
        version="1",
        description="Federated search across partner agencies, for officers.",
        lifespan=lifespan,
    )

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
        """A verified officer, for the case routes (which do not spend the search quota)."""
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

    async def officer(authorization: Annotated[str | None, Header()] = None) -> Officer:
        who = await token_officer(authorization)
        if not await limiter.hit(limit, gateway.agency_id, who.id):
            raise ApiError(
                429,
                f"too many searches: the limit is {gateway.rate_limit} per officer",
                {"Retry-After": "60"},
            )
        return who

    as_officer = Depends(officer)  # every search endpoint needs a verified officer

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
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/search", response_model=SearchOut, tags=["search"], responses=_SEARCH_ERRORS)
    async def search(body: SearchIn, who: Officer = as_officer) -> SearchOut:
        """Search every partner agency (or ``targets``) at once."""
        return await run(_query(body.query), body, who)

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
        del who  # a verified officer, counted against the search rate limit
        data = await _read_capped(request, MAX_IMAGE_BYTES)
        try:
            hashes = await asyncio.to_thread(hash_image, data, dihedral=True)
        except ImageError as exc:
            raise ApiError(400, f"image: {exc}") from None
        finally:
            del data
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
        return await run(_query(QueryIn(selectors=body.selectors)), body, who)

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
    ) -> HitOut:
        """One record, fetched from the agency that holds it, as far as its policy allows."""
        if len(record_id) > 128:
            raise ApiError(400, "record_id is longer than 128 characters")
        query = build_query(record_ids=[record_id], limit=1)
        try:  # checked like a search body: surrounding blanks stripped, then the lengths
            body = SearchIn(
                query=QueryIn(), purpose=purpose, case_reference=case_reference, targets=[agency]
            )
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
            ) from None
        try:
            response = await clients[0].search(
                query,
                officer=who.id,
                purpose=body.purpose,
                case_reference=body.case_reference,
                targets=[agency],
                timeout_s=gateway.timeout_s,
            )
        except FederationError as exc:
            raise ApiError(exc.status, str(exc)) from None
        (answer,) = response.answers
        if answer.status.code not in ANSWERED:
            http = _DETAIL_STATUS.get(answer.status.code, 502)
            state = STATUS_NAMES.get(answer.status.code, "error")
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
            contact = answer.response.contact or agency
            raise ApiError(404, f"{agency} does not release this record in full; ask {contact}")
        merged = MergedHit(
            agency=agency, record_id=record_id, agency_rank=1, fused=1.0, exact=False, hit=hits[0]
        )
        hit = hit_out(merged, 1)
        result.results.append(hit)
        await gateway.audit.append_async(audit_entry(who, body, query, result))
        return hit

    async def run(query: search_pb2.Query, body: SearchIn | PivotIn, who: Officer) -> SearchOut:
        started = time.monotonic()
        digest = query_digest(query, body.targets)
        shown = _shown(body.cursor, digest, gateway.cursor_key)
        asked = wanted(shown, body.page_size, cap=MAX_PER_AGENCY)
        query.limit = max([*asked.values(), body.page_size])
        try:
            with latency.time():
                response = await clients[0].search(
                    query,
                    officer=who.id,
                    purpose=body.purpose,
                    case_reference=body.case_reference,
                    targets=body.targets,
                    timeout_s=gateway.timeout_s,
                )
        except FederationError as exc:
            searches.labels(outcome="failed").inc()
            raise ApiError(exc.status, str(exc)) from None
        lists = {
            a.status.agency: list(a.response.hits)
            for a in response.answers
            if a.status.code in ANSWERED
        }
        # min-max: as good as RRF with equal partners, better when their sizes differ
        # (bench/results/ranking-*.md); each agency's influence stays capped either way
        merged = merge(lists, method=Method.MINMAX)
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


def _query(body: QueryIn) -> search_pb2.Query:
    try:
        query = build_query(
            text=body.text, selectors=body.selectors, name=body.name, types=body.types, limit=20
        )
    except ValueError as exc:
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
