"""Sharing policy: per requester and per record, first matching rule wins, safe defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cets.common.keys import generate_private_key
from cets.common.membership import Member, Role
from cets.core.disclosure import Disclosure
from cets.search.policy import PolicyError, load_policy, parse_policy

POLICY = """
contact = "TPS Child Exploitation Section"

[defaults]
member = "summary"
coordinator = "hit"

[[rule]]
handling = ["red"]
level = "deny"

[[rule]]
agencies = ["rcmp"]
level = "full"

[[rule]]
roles = ["coordinator"]
types = ["tip"]
level = "summary"

[[rule]]
agencies = ["nca"]
types = ["arrest", "person"]
level = "hit"
"""


def member(agency: str, *roles: Role) -> Member:
    return Member(
        id=agency,
        name=agency.upper(),
        endpoint="127.0.0.1:1",
        public_key=generate_private_key().public_key(),
        roles=frozenset(roles or (Role.MEMBER,)),
        active=True,
    )


def doc(type_: str = "chat_message", handling: str = "amber") -> dict[str, Any]:
    return {"type": type_, "handling": handling}


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    return path


def test_first_matching_rule_wins(policy_file: Path) -> None:
    policy = load_policy(policy_file)
    rcmp = policy.plan_for(member("rcmp"))
    assert rcmp.level_for(doc()) is Disclosure.FULL
    assert rcmp.level_for(doc(handling="red")) is Disclosure.DENY  # the red rule comes first
    nca = policy.plan_for(member("nca"))
    assert nca.level_for(doc("arrest")) is Disclosure.HIT
    assert nca.level_for(doc("tip")) is Disclosure.SUMMARY  # member default
    assert policy.contact == "TPS Child Exploitation Section"


def test_defaults_for_members_and_coordinators(policy_file: Path) -> None:
    policy = load_policy(policy_file)
    coordinator = policy.plan_for(member("icse", Role.COORDINATOR))
    assert coordinator.level_for(doc("tip")) is Disclosure.SUMMARY
    assert coordinator.level_for(doc("person")) is Disclosure.HIT
    assert coordinator.most is Disclosure.SUMMARY


def test_without_a_policy_file_partners_learn_only_hit_or_no_hit() -> None:
    policy = parse_policy({})
    for requester in (member("x"), member("y", Role.COORDINATOR)):
        plan = policy.plan_for(requester)
        assert plan.level_for(doc()) is Disclosure.HIT
        assert plan.most is Disclosure.HIT


def test_a_policy_that_denies_everything_releases_nothing() -> None:
    policy = parse_policy({"defaults": {"member": "deny"}})
    assert policy.plan_for(member("x")).releases_nothing()


def test_os_filter_for_a_level_excludes_records_of_earlier_rules(policy_file: Path) -> None:
    plan = load_policy(policy_file).plan_for(member("nca"))
    deny = plan.os_filter_for(Disclosure.DENY)
    hit = plan.os_filter_for(Disclosure.HIT)
    full = plan.os_filter_for(Disclosure.FULL)
    assert deny["bool"]["should"][0]["bool"]["filter"] == [
        {"bool": {"filter": [{"terms": {"handling": ["red"]}}]}}
    ]
    # hit-only: nca's arrest/person rule, minus the red records the first rule denies
    (hit_clause,) = hit["bool"]["should"]
    assert hit_clause["bool"]["must_not"] == [
        {"bool": {"filter": [{"terms": {"handling": ["red"]}}]}}
    ]
    assert full == {"match_none": {}}  # no rule gives nca full records


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('level = "full"', "unknown setting(s): level"),
        ('[[rule]]\nagencies = ["x"]', "rule 1: level is required"),
        ('[[rule]]\nlevel = "everything"', "rule 1.level: must be one of full, summary, hit, deny"),
        (
            '[[rule]]\nlevel = "full"\ntypes = ["spaceship"]',
            "rule 1.types: 'spaceship' is not one of",
        ),
        ('[[rule]]\nlevel = "full"\nroles = ["king"]', "rule 1.roles: 'king' is not one of"),
        ('[[rule]]\nlevel = "full"\nhandling = ["purple"]', "rule 1.handling: 'purple'"),
        ('[[rule]]\nlevel = "full"\ncolour = "red"', "rule 1: unknown field(s) colour"),
        ('[defaults]\nmember = "lots"', "defaults.member: must be one of"),
        ('[defaults]\nadmin = "full"', "defaults may only set member and coordinator"),
        ("contact = 3", "contact must be text"),
        ("this is not toml", "is not valid TOML"),
    ],
)
def test_invalid_policies_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert message in str(info.value)


def test_a_missing_policy_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "nope.toml")


def test_an_empty_list_in_a_rule_is_refused_not_read_as_anyone(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[[rule]]\nagencies = []\nlevel = "full"\n')
    with pytest.raises(PolicyError, match=r"rule 1.agencies: must not be empty"):
        load_policy(path)
