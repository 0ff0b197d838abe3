"""Officer tokens, as the gateway uses them (defined in :mod:`cets.common.tokens`, which the
agency's node uses too, to check its administrators' tokens)."""

from __future__ import annotations

from cets.common.tokens import (
    ADMIN,
    AUDIENCE,
    ROLES,
    Officer,
    TokenError,
    issue_token,
    verify_token,
)

__all__ = ["ADMIN", "AUDIENCE", "ROLES", "Officer", "TokenError", "issue_token", "verify_token"]
