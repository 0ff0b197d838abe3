"""An agency's sharing policy: what each partner may learn of its records.

Four disclosure levels, most to least:

    full      the whole record
    summary   type, dates, the selectors that matched, and whom to contact
    hit       only that there are matches, and how many
    deny      nothing; the request is refused if nothing at all may be released

The policy is a TOML file in the agency's own configuration::

    contact = "TPS Child Exploitation Section, +1 416 555 0100"

    [defaults]
    member = "hit"          # members no rule below matches
    coordinator = "hit"     # coordinators no rule below matches

    [[rule]]                # first matching rule wins, so put restrictions first
    handling = ["red"]
    level = "deny"

    [[rule]]
    agencies = ["rcmp"]     # and/or roles = ["member"], types = [...], handling = [...]
    level = "full"

A rule matches a request when the requester is among its ``agencies`` or ``roles`` (either
list may be left out: any), and a record when the record's type and handling code are in
``types`` and ``handling`` (left out: any). Agencies that are not active members get nothing:
the node refuses them before the policy is consulted.

:class:`Plan` is the policy applied to one requester. It decides a level per record, and turns
the same decision into OpenSearch filters so that denied records are never fetched and
hit-only records are only counted.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from cets.common.membership import Member, Role
from cets.core.disclosure import Disclosure
from cets.core.records import Handling, RecordType

__all__ = ["Disclosure", "Plan", "PolicyError", "Rule", "SharingPolicy", "load_policy"]

_E = TypeVar("_E", bound=StrEnum)
_ABSENT: list[str] = []  # a field left out of a rule (as opposed to written as [])


class PolicyError(ValueError):
    """The policy file is invalid; the message names the rule and field."""


@dataclass(frozen=True, slots=True)
class Rule:
    level: Disclosure
    agencies: frozenset[str] = frozenset()
    roles: frozenset[Role] = frozenset()
    types: frozenset[RecordType] = frozenset()
    handling: frozenset[Handling] = frozenset()

    def applies_to(self, member: Member) -> bool:
        if not (self.agencies or self.roles):
            return True
        return member.id in self.agencies or bool(self.roles & member.roles)

    def matches(self, document: Mapping[str, Any]) -> bool:
        if self.types and document.get("type") not in self.types:
            return False
        return not (self.handling and document.get("handling") not in self.handling)

    def os_filter(self) -> dict[str, Any]:
        """The records this rule covers, as an OpenSearch query."""
        clauses: list[dict[str, Any]] = []
        if self.types:
            clauses.append({"terms": {"type": sorted(t.value for t in self.types)}})
        if self.handling:
            clauses.append({"terms": {"handling": sorted(h.value for h in self.handling)}})
        return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


@dataclass(frozen=True, slots=True)
class SharingPolicy:
    rules: tuple[Rule, ...] = ()
    contact: str = ""
    member_default: Disclosure = Disclosure.HIT
    coordinator_default: Disclosure = Disclosure.HIT

    def plan_for(self, member: Member) -> Plan:
        default = self.coordinator_default if member.is_coordinator else self.member_default
        if Role.COORDINATOR in member.roles and Role.MEMBER in member.roles:
            default = max(self.member_default, self.coordinator_default, key=lambda d: d.rank)
        return Plan(tuple(r for r in self.rules if r.applies_to(member)), default)


@dataclass(frozen=True, slots=True)
class Plan:
    """The policy for one requester: its applicable rules in order, and its default."""

    rules: tuple[Rule, ...]
    default: Disclosure

    def level_for(self, document: Mapping[str, Any]) -> Disclosure:
        for rule in self.rules:
            if rule.matches(document):
                return rule.level
        return self.default

    @property
    def most(self) -> Disclosure:
        """The most this requester could be given of any record."""
        levels = [r.level for r in self.rules] + [self.default]
        return max(levels, key=lambda d: d.rank)

    def releases_nothing(self) -> bool:
        return self.most is Disclosure.DENY

    def os_filter_for(self, level: Disclosure) -> dict[str, Any]:
        """Records that get ``level``: matched by a rule of that level and by no earlier rule,
        or by no rule at all when ``level`` is the default."""
        should: list[dict[str, Any]] = []
        earlier: list[dict[str, Any]] = []
        for rule in self.rules:
            if rule.level is level:
                should.append({"bool": {"filter": [rule.os_filter()], "must_not": list(earlier)}})
            earlier.append(rule.os_filter())
        if self.default is level:
            should.append({"bool": {"must_not": list(earlier)}})
        if not should:
            return {"match_none": {}}
        return {"bool": {"should": should, "minimum_should_match": 1}}


# --- loading ---------------------------------------------------------------------------------


def load_policy(path: Path) -> SharingPolicy:
    """Read and validate a policy file; :class:`PolicyError` names what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"cannot read the policy file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"the policy file {path} is not valid TOML: {exc}") from None
    return parse_policy(data)


def parse_policy(data: Mapping[str, Any]) -> SharingPolicy:
    unknown = set(data) - {"contact", "defaults", "rule"}
    if unknown:
        raise PolicyError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    contact = data.get("contact", "")
    if not isinstance(contact, str):
        raise PolicyError("contact must be text")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, Mapping) or set(defaults) - {"member", "coordinator"}:
        raise PolicyError("defaults may only set member and coordinator")
    rules = data.get("rule", [])
    if not isinstance(rules, list):
        raise PolicyError("rule must be a list of [[rule]] tables")
    return SharingPolicy(
        rules=tuple(_rule(i, r) for i, r in enumerate(rules, start=1)),
        contact=contact,
        member_default=_level("defaults.member", defaults.get("member", "hit")),
        coordinator_default=_level("defaults.coordinator", defaults.get("coordinator", "hit")),
    )


def _rule(number: int, raw: Any) -> Rule:
    where = f"rule {number}"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: must be a table")
    unknown = set(raw) - {"level", "agencies", "roles", "types", "handling"}
    if unknown:
        raise PolicyError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if "level" not in raw:
        raise PolicyError(f"{where}: level is required")
    return Rule(
        level=_level(f"{where}.level", raw["level"]),
        agencies=frozenset(_strings(f"{where}.agencies", raw.get("agencies", _ABSENT))),
        roles=frozenset(_members(f"{where}.roles", raw.get("roles", _ABSENT), Role)),
        types=frozenset(_members(f"{where}.types", raw.get("types", _ABSENT), RecordType)),
        handling=frozenset(_members(f"{where}.handling", raw.get("handling", _ABSENT), Handling)),
    )


def _level(where: str, raw: Any) -> Disclosure:
    try:
        return Disclosure(raw)
    except ValueError:
        choices = ", ".join(d.value for d in Disclosure)
        raise PolicyError(f"{where}: must be one of {choices}") from None


def _strings(where: str, raw: Any) -> Sequence[str]:
    if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
        raise PolicyError(f"{where}: must be a list of names")
    if raw == [] and raw is not _ABSENT:
        # an empty list would silently mean "any": leave the field out to mean that
        raise PolicyError(f"{where}: must not be empty (leave it out to mean any)")
    return raw


def _members(where: str, raw: Any, enum: type[_E]) -> list[_E]:
    values = []
    for value in _strings(where, raw):
        try:
            values.append(enum(value))
        except ValueError:
            choices = ", ".join(e.value for e in enum)
            raise PolicyError(f"{where}: {value!r} is not one of {choices}") from None
    return values
