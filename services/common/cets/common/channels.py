"""How cets's long-lived gRPC client channels behave while their server is away.

A federation service keeps one channel per partner node, and a gateway one to its federation
service. While the server is down, gRPC fails calls at once (UNAVAILABLE) and retries the
connection with exponential backoff. gRPC's default backoff grows to two minutes, so a node
back after a long outage would still be reported unavailable for up to two minutes; cets
caps it, so a server that is back is reached within a few seconds. The cost is one connection
attempt every few seconds to a server that is down.
"""

from __future__ import annotations

__all__ = ["MAX_RECONNECT_BACKOFF_MS", "RECONNECT_OPTIONS"]

MAX_RECONNECT_BACKOFF_MS = 2000
"""Longest wait between two attempts to reconnect (gRPC adds up to 20% jitter)."""

RECONNECT_OPTIONS: list[tuple[str, int]] = [
    ("grpc.initial_reconnect_backoff_ms", 1000),
    ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
]
"""Channel options for every long-lived client channel."""
