"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cets.common import tracing


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Traces on for one test, its spans kept in memory; off again after."""
    spans = InMemorySpanExporter()
    tracing.setup("test", exporter=spans)
    yield spans
    tracing.shutdown()
