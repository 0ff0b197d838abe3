"""Traces of one agency's own services, off unless the standard ``OTEL_*`` settings turn them on.

One officer's search is one trace inside the agency: the gateway's HTTP request, its call to
the federation service, the federation's fan-out, one span per partner called (its agency id
and status) and, under it, the check of that partner's signed answer.

The trace stops at the agency's edge. Calls to partners' nodes carry no trace context (no
``traceparent``, ``tracestate`` or ``baggage``), and a node does not continue a trace a caller
sends: it starts its own. Why:

- A trace id sent with every request would be one more identifier a partner could use to tie
  an officer's requests together, beyond what the signed request says and is audited for.
- Trace context travels in gRPC metadata, outside the signed request: nothing vouches for it,
  so a partner's trace ids in our traces (or ours in theirs) could be forged or made to
  collide, and ``baggage`` could carry internal values (officer ids, case names) out.
- Each agency's telemetry is its own: its collector, its retention, its access rules. A joint
  trace would need a joint backend, which the federation does not have.

So traces are enabled only where the agency's services talk to each other: the gateway's
channel to its federation service gets the client interceptor, the federation service the
server interceptor; partner channels and the node's server get none.

Turned on by ``OTEL_TRACES_EXPORTER=otlp`` (or ``console``), or by setting
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``;
``OTEL_SDK_DISABLED=true`` turns them off whatever else is set. The exporter reads its own
standard settings (endpoint, headers, timeout); ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` name the service (default: ``cets-<service>``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

__all__ = [
    "AGENCY",
    "STATUS",
    "client_interceptors",
    "enabled",
    "instrument_app",
    "server_interceptors",
    "setup",
    "shutdown",
    "span",
    "tracer",
]

_log = logging.getLogger(__name__)
AGENCY = "cets.agency"
"""Span attribute: the agency a span is about (this one's, or the partner called)."""
STATUS = "cets.status"
"""Span attribute: how it went (ok, partial, timeout, unavailable, rejected, error)."""

_provider: TracerProvider | None = None


def wanted(env: Mapping[str, str]) -> str | None:
    """The exporter the standard settings ask for (``otlp``, ``console``), or None: off."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporters = [e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    if "none" in exporters:
        return None
    for name in ("otlp", "console"):
        if name in exporters:
            return name
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return "otlp"
    return None


def setup(
    service: str,
    env: Mapping[str, str] | None = None,
    *,
    exporter: SpanExporter | None = None,
) -> bool:
    """Turn traces on for this process when the settings (or ``exporter``, for tests) ask.

    Returns whether they are on. Calling it again replaces the previous set-up.
    """
    global _provider
    env = os.environ if env is None else env
    if exporter is None:
        kind = wanted(env)
        if kind is None:
            shutdown()
            return False
        if kind == "console":
            exporter = ConsoleSpanExporter()
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        processor: Any = BatchSpanProcessor(exporter)
    else:
        processor = SimpleSpanProcessor(exporter)
    shutdown()
    name = env.get("OTEL_SERVICE_NAME") or f"cets-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(processor)
    _provider = provider
    _log.info("traces on", extra={"service": name})
    return True


def shutdown() -> None:
    """Flush and turn traces off."""
    global _provider
    provider, _provider = _provider, None
    if provider is not None:
        provider.shutdown()


def enabled() -> bool:
    return _provider is not None


def tracer() -> trace.Tracer:
    """This process's tracer: a no-op one while traces are off."""
    if _provider is None:
        return trace.NoOpTracer()
    return _provider.get_tracer("cets")


@contextmanager
def span(
    name: str,
    *,
    agency: str,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str | int] | None = None,
) -> Iterator[Span]:
    """A span about ``agency`` under the current one; set its status with :func:`outcome`.
    While traces are off, a shared no-op span (a fan-out opens two per partner)."""
    if _provider is None:
        yield trace.INVALID_SPAN
        return
    with tracer().start_as_current_span(
        name, kind=kind, attributes={AGENCY: agency, **(attributes or {})}
    ) as current:
        yield current


def outcome(current: Span, status: str, reason: str = "") -> None:
    """Record how the work of ``current`` went: ``cets.status``, and an error status unless
    it is ok (a partial answer is not an error: it has hits)."""
    current.set_attribute(STATUS, status)
    if status not in ("ok", "partial"):
        current.set_status(Status(StatusCode.ERROR, reason[:200] or status))


def client_interceptors() -> list[Any]:
    """Interceptors for a channel *inside* the agency (gateway → federation service): they
    send the trace context along. Never for a channel to a partner. Empty while off."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return list(aio_client_interceptors(tracer_provider=_provider))  # type: ignore[no-untyped-call]


def server_interceptors() -> list[Any]:
    """The interceptor for a server that only the agency's own services call (the federation
    service): it continues their trace. Never for the node, which partners call. Empty while
    off."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor(tracer_provider=_provider)]  # type: ignore[no-untyped-call]


def instrument_app(app: Any) -> None:
    """Trace the gateway's HTTP requests (a no-op while off)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_provider, excluded_urls="healthz,readyz,metrics"
    )
