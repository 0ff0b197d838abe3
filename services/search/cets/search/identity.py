"""Who a node is, and what it holds to prove it."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["NodeIdentity"]


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """Who this node is and what it holds to prove it."""

    agency_id: str
    signing_key: Ed25519PrivateKey
    card_key: bytes
    default_region: str | None
