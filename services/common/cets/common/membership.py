"""The federation's membership document: which agencies take part, where they are, their keys.

Every search node and federation service must know its partners: their ids, names, gRPC
endpoints and Ed25519 public keys, what they may do (roles) and whether they are still in the
federation (status). The federation administrator lists them in one JSON document (UTF-8) and
signs it with the administrator's key; every node is configured with the administrator's
*public* key and trusts a membership document only when that key's signature verifies::

    {"format": "cets-membership/1", "federation": "demo", "serial": 3,
     "issued_at": "2026-01-01T00:00:00Z",
     "members": [{"id": "tps", "name": "Toronto Police Service", "endpoint": "127.0.0.1:50051",
                  "public_key": "ed25519:...", "roles": ["member"], "status": "active"}],
     "signature": {"algorithm": "ed25519", "key": "ed25519:<administrator public key>",
                   "value": "<base64 signature>"}}

The signature covers :func:`~cets.common.canonical.canonical_json` of the whole document
without its ``signature`` member, so whitespace and key order in the file do not matter but
every value, and the order of the members, does. ``serial`` grows by one with every signing;
a node that reloads the document should refuse a serial lower than the one it has.

Reading (:func:`load_membership`, :func:`parse_membership`) verifies the signature *before*
looking at any content, then checks every entry; any problem is a :class:`MembershipError`
whose message names the entry and field, e.g. ``members[2] (rcmp): endpoint must be
host:port``. Editing (:func:`draft`, :func:`add_member`, :func:`set_status`, :func:`sign`) are
pure functions over plain dicts, for the administrator's tools.
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cets.common.canonical import canonical_json
from cets.common.keys import KeyFileError, key_id, parse_public_key, public_key_text

__all__ = [
    "AGENCY_ID",
    "FORMAT",
    "Member",
    "Membership",
    "MembershipError",
    "Role",
    "add_member",
    "draft",
    "dump_document",
    "load_membership",
    "parse_membership",
    "read_document",
    "set_status",
    "sign",
]

FORMAT = "cets-membership/1"
AGENCY_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")
STATUSES = ("active", "revoked")
DOCUMENT_FIELDS = ("format", "federation", "serial", "issued_at", "members")
MEMBER_FIELDS = ("id", "name", "endpoint", "public_key", "roles", "status")
SIGNATURE_FIELDS = ("algorithm", "key", "value")
SIGNATURE_BYTES = 64
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_NAME_CHARS = 200
MAX_SERIAL = 2**63 - 1  # fits a signed 64-bit integer in every language

_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")
_PORT = re.compile(r"[0-9]{1,5}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")


class MembershipError(ValueError):
    """A membership document is unreadable, not signed by the administrator, or invalid."""


class Role(StrEnum):
    """What an agency may do in the federation."""

    MEMBER = "member"
    COORDINATOR = "coordinator"


@dataclass(frozen=True)
class Member:
    """One agency in the federation."""

    id: str
    name: str
    endpoint: str
    public_key: Ed25519PublicKey
    roles: frozenset[Role]
    active: bool

    @property
    def is_coordinator(self) -> bool:
        return Role.COORDINATOR in self.roles

    @property
    def status(self) -> str:
        """``"active"`` or ``"revoked"``, as written in the document."""
        return "active" if self.active else "revoked"

    def __hash__(self) -> int:
        # Written out because the key object itself is not hashable; equal members hash equal.
        return hash((self.id, self.endpoint, public_key_text(self.public_key)))


@dataclass(frozen=True)
class Membership:
    """A verified membership document. ``members`` is keyed by agency id, in document order."""

    federation: str
    serial: int
    issued_at: datetime
    members: Mapping[str, Member]

    def get(self, agency_id: str) -> Member | None:
        """The member with this id (active or revoked), or ``None``."""
        return self.members.get(agency_id)

    def active_members(self) -> list[Member]:
        """The members that are not revoked, sorted by id."""
        return sorted((m for m in self.members.values() if m.active), key=lambda m: m.id)


_ROLE_VALUES = frozenset(role.value for role in Role)


# --- reading and verifying -----------------------------------------------------------------


def load_membership(path: Path, admin_key: Ed25519PublicKey) -> Membership:
    """Read the document at ``path`` once, verify the administrator's signature, check it."""
    return parse_membership(_read(path), admin_key)


def parse_membership(data: bytes, admin_key: Ed25519PublicKey) -> Membership:
    """Like :func:`load_membership`, from the document's bytes."""
    document = _decode(data)
    body = _verified_body(document, admin_key)
    return _parse_body(body)


def read_document(path: Path) -> dict[str, Any]:
    """The document at ``path`` as a plain dict, *not* verified: for editing it, never trusting."""
    return _decode(_read(path))


def dump_document(document: Mapping[str, Any]) -> bytes:
    """The document as indented UTF-8 JSON for a file (signatures do not depend on layout)."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError:
        raise MembershipError(f"membership file {path} does not exist") from None
    except OSError as exc:
        raise MembershipError(f"cannot read the membership file {path}: {exc.strerror}") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise MembershipError(f"membership file {path} is larger than {MAX_DOCUMENT_BYTES} bytes")
    return data


def _decode(data: bytes) -> dict[str, Any]:
    """Parse strict JSON: UTF-8, no duplicate keys, integers only (no fractions, NaN, ...)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MembershipError("document: not UTF-8 text") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_float=_no_fractions,
            parse_constant=_no_fractions,
        )
    except MembershipError:
        raise
    except json.JSONDecodeError as exc:
        raise MembershipError(
            f"document: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except (ValueError, RecursionError):
        raise MembershipError("document: not valid JSON") from None
    if not isinstance(value, dict):
        raise MembershipError("document: must be a JSON object")
    return value


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MembershipError(f"document: the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_fractions(text: str) -> NoReturn:
    raise MembershipError("document: numbers must be integers")


def _verified_body(document: dict[str, Any], admin_key: Ed25519PublicKey) -> dict[str, Any]:
    """The document without its signature, once the signature verifies with ``admin_key``."""
    body = dict(document)
    signature = body.pop("signature", None)
    if signature is None:
        raise MembershipError("signature: missing; the administrator must sign the document")
    if not isinstance(signature, dict):
        raise MembershipError("signature: must be an object")
    _check_fields("signature", signature, SIGNATURE_FIELDS)
    if signature["algorithm"] != "ed25519":
        raise MembershipError('signature: algorithm must be "ed25519"')
    signer = _public_key("signature", "key", signature["key"])
    if public_key_text(signer) != public_key_text(admin_key):
        raise MembershipError(
            "signature: made with a different key than the administrator's "
            f"(key id {key_id(signer)}, the administrator's is {key_id(admin_key)})"
        )
    value = _signature_value(signature["value"])
    try:
        admin_key.verify(value, canonical_json(body))
    except (InvalidSignature, ValueError, RecursionError):
        raise MembershipError(
            "signature: does not verify with the federation administrator's key"
        ) from None
    return body


def _signature_value(value: Any) -> bytes:
    problem = "signature: value must be base64 of a 64-byte Ed25519 signature"
    if not isinstance(value, str):
        raise MembershipError(problem)
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MembershipError(problem) from None
    if len(raw) != SIGNATURE_BYTES or base64.b64encode(raw).decode("ascii") != value:
        raise MembershipError(problem)
    return raw


# --- checking the content ------------------------------------------------------------------


def _parse_body(body: Mapping[str, Any]) -> Membership:
    """Check every field of the (verified or about to be signed) document."""
    _check_fields("document", body, DOCUMENT_FIELDS)
    if body["format"] != FORMAT:
        raise MembershipError(f'format: must be "{FORMAT}"')
    federation = _name("federation:", body["federation"])
    serial = body["serial"]
    if type(serial) is not int or not 1 <= serial <= MAX_SERIAL:
        raise MembershipError("serial: must be a positive integer")
    issued_at = _time("issued_at", body["issued_at"])
    return Membership(federation, serial, issued_at, _parse_members(body["members"]))


def _parse_members(entries: Any) -> Mapping[str, Member]:
    if not isinstance(entries, list):
        raise MembershipError("members: must be a list")
    members: dict[str, Member] = {}
    index_of_id: dict[str, int] = {}
    index_of_key: dict[str, int] = {}
    for index, entry in enumerate(entries):
        member = _parse_member(index, entry)
        if member.id in members:
            raise MembershipError(
                f'members[{index}]: duplicate id "{member.id}" '
                f"(already members[{index_of_id[member.id]}])"
            )
        key = public_key_text(member.public_key)
        if key in index_of_key:
            raise MembershipError(
                f"{_where(index, entry)}: public_key is also the key of "
                f"{_where(index_of_key[key], entries[index_of_key[key]])}"
            )
        members[member.id] = member
        index_of_id[member.id] = index
        index_of_key[key] = index
    return MappingProxyType(members)


def _parse_member(index: int, entry: Any) -> Member:
    where = _where(index, entry)
    if not isinstance(entry, dict):
        raise MembershipError(f"{where}: must be an object")
    _check_fields(where, entry, MEMBER_FIELDS)
    agency_id = entry["id"]
    if not isinstance(agency_id, str) or not AGENCY_ID.fullmatch(agency_id):
        raise MembershipError(
            f"{where}: id must be 1-48 of a-z, 0-9, _ and -, starting with a letter or digit"
        )
    status = entry["status"]
    if status not in STATUSES:
        raise MembershipError(f'{where}: status must be "active" or "revoked"')
    return Member(
        id=agency_id,
        name=_name(f"{where}: name", entry["name"]),
        endpoint=_endpoint(where, entry["endpoint"]),
        public_key=_public_key(where, "public_key", entry["public_key"]),
        roles=_roles(where, entry["roles"]),
        active=status == "active",
    )


def _where(index: int, entry: Any) -> str:
    """``members[2] (rcmp)``, or ``members[2]`` while the id is not known to be a valid id."""
    agency_id = entry.get("id") if isinstance(entry, dict) else None
    if isinstance(agency_id, str) and AGENCY_ID.fullmatch(agency_id):
        return f"members[{index}] ({agency_id})"
    return f"members[{index}]"


def _check_fields(where: str, value: Mapping[str, Any], fields: Iterable[str]) -> None:
    expected = list(fields)
    for name in expected:
        if name not in value:
            raise MembershipError(f'{where}: missing field "{name}"')
    for name in value:
        if name not in expected:
            raise MembershipError(f"{where}: unknown field {json.dumps(name)}")


def _name(what: str, value: Any) -> str:
    """A human-readable name: non-empty, printable (safe to show in a terminal), not too long."""
    if not isinstance(value, str) or not value.strip():
        raise MembershipError(f"{what} must be a non-empty string")
    if len(value) > MAX_NAME_CHARS or not value.isprintable():
        raise MembershipError(
            f"{what} must be at most {MAX_NAME_CHARS} printable characters (no control characters)"
        )
    return value


def _endpoint(where: str, value: Any) -> str:
    """``host:port``: a host name, IPv4 address or ``[IPv6 address]``; port 1-65535."""
    problem = f"{where}: endpoint must be host:port"
    if not isinstance(value, str):
        raise MembershipError(problem)
    host, colon, port = value.rpartition(":")
    if not colon or not host:
        raise MembershipError(problem)
    if not _PORT.fullmatch(port) or not 1 <= int(port) <= 65535:
        raise MembershipError(f"{problem} with a port from 1 to 65535")
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise MembershipError(f"{problem} (not a valid IPv6 address in brackets)") from None
    elif len(host) > 253 or not _HOST_NAME.fullmatch(host):
        raise MembershipError(f"{problem} (host must be a host name, IPv4 or [IPv6] address)")
    return value


def _public_key(where: str, field: str, value: Any) -> Ed25519PublicKey:
    if not isinstance(value, str):
        raise MembershipError(f"{where}: {field} must be ed25519:... text")
    try:
        return parse_public_key(value)
    except KeyFileError as exc:
        raise MembershipError(f"{where}: {field}: {exc}") from None


def _roles(where: str, value: Any) -> frozenset[Role]:
    known = ", ".join(f'"{role}"' for role in Role)
    if not isinstance(value, list) or not value:
        raise MembershipError(f"{where}: roles must be a non-empty list of {known}")
    roles: set[Role] = set()
    for role in value:
        if not isinstance(role, str) or role not in _ROLE_VALUES:
            raise MembershipError(f"{where}: roles may hold only {known}")
        if role in roles:
            raise MembershipError(f'{where}: roles lists "{role}" twice')
        roles.add(Role(role))
    return frozenset(roles)


def _time(what: str, value: Any) -> datetime:
    problem = f'{what}: must be an RFC 3339 time such as "2026-01-01T00:00:00Z"'
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise MembershipError(problem)
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except (ValueError, OverflowError):
        raise MembershipError(problem) from None


# --- editing -------------------------------------------------------------------------------


def draft(federation: str) -> dict[str, Any]:
    """A new, empty, unsigned document for the federation named ``federation``."""
    return {
        "format": FORMAT,
        "federation": _name("federation:", federation),
        "serial": 0,
        "members": [],
    }


def add_member(
    document: Mapping[str, Any],
    *,
    id: str,
    name: str,
    endpoint: str,
    public_key: str,
    roles: Iterable[Role | str],
) -> dict[str, Any]:
    """A copy of ``document`` with a new active member (and without the old signature)."""
    result = _editable(document)
    entry = {
        "id": id,
        "name": name,
        "endpoint": endpoint,
        "public_key": public_key.strip(),
        "roles": sorted({str(role) for role in roles}),
        "status": "active",
    }
    result["members"].append(entry)
    _parse_members(result["members"])  # the new entry, and duplicates of id or key
    return result


def set_status(document: Mapping[str, Any], agency_id: str, status: str) -> dict[str, Any]:
    """A copy of ``document`` with the member's status set to ``"active"`` or ``"revoked"``."""
    if status not in STATUSES:
        raise MembershipError(f'status must be "active" or "revoked", not {json.dumps(status)}')
    result = _editable(document)
    for entry in result["members"]:
        if isinstance(entry, dict) and entry.get("id") == agency_id:
            entry["status"] = status
            return result
    raise MembershipError(f"members: no member has the id {json.dumps(agency_id)}")


def sign(
    document: Mapping[str, Any], admin_key: Ed25519PrivateKey, *, now: datetime | None = None
) -> dict[str, Any]:
    """A signed copy of ``document``: serial one higher, ``issued_at`` now (or ``now``).

    The content is checked first: the administrator never signs an invalid document.
    """
    result = _editable(document)
    serial = result.get("serial", 0)
    if type(serial) is not int or not 0 <= serial < MAX_SERIAL:
        raise MembershipError("serial: must be a non-negative integer")
    when = datetime.now(UTC) if now is None else now
    if when.tzinfo is None:
        raise MembershipError("issued_at: the signing time must have a time zone")
    result["serial"] = serial + 1
    result["issued_at"] = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {name: result.pop(name) for name in DOCUMENT_FIELDS if name in result}
    body.update(result)  # unknown fields stay, so that the check below reports them
    _parse_body(body)
    value = admin_key.sign(canonical_json(body))
    body["signature"] = {
        "algorithm": "ed25519",
        "key": public_key_text(admin_key),
        "value": base64.b64encode(value).decode("ascii"),
    }
    return body


def _editable(document: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy without the signature (an edit makes it stale) and with a members list."""
    result = copy.deepcopy(dict(document))
    result.pop("signature", None)
    members = result.setdefault("members", [])
    if not isinstance(members, list):
        raise MembershipError("members: must be a list")
    return result
