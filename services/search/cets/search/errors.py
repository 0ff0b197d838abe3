"""Errors of an agency's search node.

    CetsError                 (cets.core.errors) root of every error cets raises on purpose
    ├── InvalidQuery          the caller's query breaks a rule         → INVALID_ARGUMENT
    └── NodeError             root: everything the node itself raises on purpose
        ├── RateLimited       the caller's agency asks too often        → RESOURCE_EXHAUSTED
        ├── AnswerTooLarge    the answer exceeds what the node sends    → RESOURCE_EXHAUSTED
        ├── StoreUnavailable  the agency's OpenSearch cannot be reached → UNAVAILABLE
        ├── StoreTimeout      OpenSearch did not answer in time         → DEADLINE_EXCEEDED
        └── StoreError        OpenSearch answered with an error         → INTERNAL

Messages are safe to return to a caller and to log: they never contain query text or record
contents. OpenSearch client errors are translated in one place, :mod:`cets.search.store`.
"""

from __future__ import annotations

from cets.core.errors import CetsError, InvalidQuery

__all__ = [
    "AnswerTooLarge",
    "CetsError",
    "IngestError",
    "InvalidQuery",
    "NodeError",
    "RateLimited",
    "StoreError",
    "StoreTimeout",
    "StoreUnavailable",
]


class NodeError(CetsError):
    """Root of the search node's own errors."""


class RateLimited(NodeError):
    """The requesting agency has made more searches than this node allows; retry later."""


class AnswerTooLarge(NodeError):
    """The answer would exceed what this node sends in one message; nothing was released."""


class StoreUnavailable(NodeError):
    """The agency's OpenSearch is down or unreachable."""


class StoreTimeout(NodeError):
    """OpenSearch did not answer within the time the caller allowed."""


class StoreError(NodeError):
    """OpenSearch rejected a request the node made (a defect or a misconfigured cluster)."""


class IngestError(NodeError):
    """An ingest stopped for a reason of its own (not OpenSearch's); what was acknowledged
    stays."""
