"""Officer tokens: no anonymous search.

An agency issues each officer a short-lived JSON Web Token signed with the agency's
officer-token key (Ed25519, ``EdDSA``). The gateway verifies it with the matching public key and
takes from it the officer's id and roles; the officer id then travels in every signed request
and every audit entry. Claims: ``sub`` (officer id), ``iss`` (agency id), ``aud``
(``cets-gateway``), ``roles``, ``iat``, ``exp``.

Roles: ``officer``, ``analyst`` and ``supervisor`` search; ``admin`` is one of the agency's own
administrators, who decide on partners' release requests. The agency's node checks an
administrator's token itself (with the same public key) before it lists or decides anything,
so the gateway cannot decide on anyone's behalf.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["ADMIN", "AUDIENCE", "ROLES", "Officer", "TokenError", "issue_token", "verify_token"]

AUDIENCE = "cets-gateway"
MAX_TTL_S = 24 * 3600
ROLES = frozenset({"officer", "analyst", "supervisor", "admin"})
ADMIN = "admin"


class TokenError(ValueError):
    """The token is missing, malformed, forged, expired or not for this agency."""


@dataclass(frozen=True, slots=True)
class Officer:
    id: str
    agency: str
    roles: frozenset[str]


def issue_token(
    key: Ed25519PrivateKey,
    *,
    officer: str,
    agency: str,
    roles: Sequence[str] = ("officer",),
    ttl_s: int = 8 * 3600,
    now: float | None = None,
) -> str:
    """A signed token for ``officer`` of ``agency``, valid for ``ttl_s`` seconds."""
    if not 0 < ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl must be between 1 s and {MAX_TTL_S} s")
    unknown = set(roles) - ROLES
    if unknown or not roles:
        raise ValueError(f"roles must be some of {', '.join(sorted(ROLES))}")
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": officer,
        "iss": agency,
        "aud": AUDIENCE,
        "roles": sorted(set(roles)),
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return jwt.encode(claims, key, algorithm="EdDSA")


def verify_token(token: str, key: Ed25519PublicKey, *, agency: str) -> Officer:
    """The officer a token proves, or :class:`TokenError` saying why not."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            audience=AUDIENCE,
            issuer=agency,
            options={"require": ["sub", "iss", "aud", "exp", "iat"]},
            leeway=30,
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("the token has expired") from None
    except jwt.InvalidIssuerError:
        raise TokenError(f"the token was not issued by {agency!r}") from None
    except jwt.InvalidAudienceError:
        raise TokenError("the token is not meant for this gateway") from None
    except jwt.InvalidSignatureError:
        raise TokenError("the token's signature does not verify") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError(f"the token lacks the {exc.claim!r} claim") from None
    except jwt.PyJWTError:
        raise TokenError("the token is malformed") from None
    officer, roles = claims.get("sub"), claims.get("roles", [])
    if not isinstance(officer, str) or not 0 < len(officer) <= 128:
        raise TokenError("the token's officer id is invalid")
    if not isinstance(roles, list) or not roles or not set(roles) <= ROLES:
        raise TokenError("the token's roles are invalid")
    if time.time() - float(claims["iat"]) > MAX_TTL_S + 60:
        raise TokenError("the token is too old")
    return Officer(id=officer, agency=agency, roles=frozenset(roles))
