"""A search of many agencies stops waiting for its last few once nearly all have replied
(the fan-out's tail rule): those still silent after the grace are given up as timeouts, with
a reason that says so, and every agency that answers within the grace keeps its answer.
Without the rule, with too few agencies, or with a grace past the deadline, the fan-out waits
until the deadline, as before."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cets.common.membership import Member, Role
from cets.common.settings import ConfigError
from cets.common.signing import SignedRequest, sign_answer
from cets.federation.config import FederationConfig
from cets.federation.fanout import FanOut, Outcome, Status, Tail, Who
from cets.v1 import search_pb2

WHO = Who("officer-1", "investigation", "CASE-1")
KEY = Ed25519PrivateKey.generate()  # every fake partner signs with it: the test is the timing
QUICK_S = 0.3


def members(count: int) -> list[Member]:
    return [
        Member(
            f"a{i:03d}",
            f"Agency {i}",
            "127.0.0.1:1",
            KEY.public_key(),
            frozenset({Role.MEMBER}),
            True,
        )
        for i in range(count)
    ]


class Partners:
    """A caller: every agency answers after ``QUICK_S``, except those given a delay of
    their own (``None``: never)."""

    def __init__(self, delays: dict[str, float | None]) -> None:
        self.delays = delays
        self.given_up: list[str] = []

    async def __call__(
        self, member: Member, request: SignedRequest, timeout_s: float
    ) -> search_pb2.SignedAnswer:
        delay = self.delays.get(member.id, QUICK_S)
        try:
            if delay is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self.given_up.append(member.id)
            raise
        response = search_pb2.SearchResponse(agency=member.id, request_nonce=request.context.nonce)
        return sign_answer(response, KEY)


def send(
    partners: Partners, count: int, *, timeout_s: float, tail: Tail | None
) -> tuple[dict[str, Outcome[object]], float]:
    fanout = FanOut(agency_id="coord", key=Ed25519PrivateKey.generate(), caller=partners)
    targets = members(count)
    prepared = fanout.prepare(search_pb2.Query(text="x"), WHO, targets, timeout_s=timeout_s)
    began = time.monotonic()
    outcomes = asyncio.run(fanout.send(prepared, deadline=began + timeout_s, tail=tail))
    return {o.agency: o for o in outcomes}, time.monotonic() - began


def test_the_last_few_are_given_up_after_the_grace_and_the_rest_keep_their_answers() -> None:
    partners = Partners({"a000": None, "a001": 2.0, "a002": QUICK_S + 0.05})
    outcomes, took = send(partners, 40, timeout_s=30, tail=Tail())
    # 38 of 40 replied after about 0.3 s: the grace is half as long again, 0.45 s in all
    assert took < 1.2
    assert outcomes["a002"].status is Status.OK  # answered within the grace
    for agency in ("a000", "a001"):
        assert outcomes[agency].status is Status.TIMEOUT
        assert outcomes[agency].reason.startswith("given up: no answer ")
        assert "after 38 of 40 agencies had replied" in outcomes[agency].reason
        assert outcomes[agency].nonce and outcomes[agency].response is None
    assert sorted(partners.given_up) == ["a000", "a001"]  # their calls were cancelled
    assert sum(o.status is Status.OK for o in outcomes.values()) == 38


def test_without_the_rule_the_fan_out_waits_until_the_deadline() -> None:
    partners = Partners({"a000": None})
    outcomes, took = send(partners, 40, timeout_s=1.0, tail=None)
    assert took >= 0.95
    assert (outcomes["a000"].status, outcomes["a000"].reason) == (
        Status.TIMEOUT,
        "deadline_exceeded",
    )
    assert sum(o.status is Status.OK for o in outcomes.values()) == 39


def test_a_small_fan_out_waits_for_every_agency_until_the_deadline() -> None:
    partners = Partners({"a000": 1.0})
    outcomes, took = send(partners, 10, timeout_s=30, tail=Tail())
    assert 0.95 <= took < 5
    assert all(o.status is Status.OK for o in outcomes.values())


def test_a_grace_past_the_deadline_ends_at_the_deadline() -> None:
    partners = Partners({"a000": None})
    outcomes, took = send(partners, 40, timeout_s=1.0, tail=Tail(grace=50))
    assert 0.95 <= took < 2.5
    assert outcomes["a000"].reason == "deadline_exceeded"


def test_when_everyone_answers_nobody_is_given_up() -> None:
    partners = Partners({})
    outcomes, took = send(partners, 40, timeout_s=30, tail=Tail())
    assert took < 5
    assert all(o.status is Status.OK for o in outcomes.values())
    assert partners.given_up == []


def test_a_cancelled_fan_out_with_the_rule_cancels_every_call() -> None:
    partners = Partners({"a000": None, "a001": None})
    fanout = FanOut(agency_id="coord", key=Ed25519PrivateKey.generate(), caller=partners)
    prepared = fanout.prepare(search_pb2.Query(text="x"), WHO, members(40), timeout_s=30)

    async def run() -> None:
        sending = asyncio.ensure_future(
            fanout.send(prepared, deadline=time.monotonic() + 30, tail=Tail(grace=100))
        )
        await asyncio.sleep(QUICK_S / 2)
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending
        await asyncio.sleep(0)

    asyncio.run(run())
    assert len(partners.given_up) == 40


@pytest.mark.parametrize(
    ("targets", "needed"), [(2, None), (19, None), (20, 19), (21, 20), (40, 38), (200, 190)]
)
def test_the_quorum_is_counted_in_agencies(targets: int, needed: int | None) -> None:
    assert Tail().quorum_of(targets) == needed


def test_a_quorum_of_one_waits_for_everyone() -> None:
    assert Tail(quorum=1.0).quorum_of(200) is None
    assert Tail(quorum=0.99).quorum_of(200) == 198


def test_the_grace_grows_with_the_time_the_quorum_took() -> None:
    tail = Tail(grace=1.5)
    assert tail.grace_s(0.2) == pytest.approx(0.3)
    assert tail.grace_s(0.001) == tail.min_grace_s


@pytest.mark.parametrize(
    "settings",
    [{"quorum": 0.4}, {"quorum": 1.01}, {"grace": -1}, {"grace": float("nan")}, {"min_targets": 1}],
)
def test_a_bad_rule_is_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="tail"):
        Tail(**settings)  # type: ignore[arg-type]


def config(tmp_path: Path, **env: str) -> FederationConfig:
    return FederationConfig.from_env(
        {
            "CETS_AGENCY_ID": "coord",
            "CETS_AGENCY_KEY_FILE": str(tmp_path / "agency.key"),
            "CETS_MEMBERSHIP_FILE": str(tmp_path / "membership.json"),
            "CETS_FEDERATION_ADMIN_KEY_FILE": str(tmp_path / "admin.pub"),
            "CETS_FEDERATION_AUDIT_LOG": str(tmp_path / "audit.log"),
            **env,
        }
    )


def test_the_rule_is_configured_from_the_environment(tmp_path: Path) -> None:
    assert config(tmp_path).tail() == Tail(quorum=0.95, grace=0.5)
    tuned = config(tmp_path, CETS_FEDERATION_TAIL_QUORUM="0.99", CETS_FEDERATION_TAIL_GRACE="2")
    assert tuned.tail() == Tail(quorum=0.99, grace=2.0)
    env = tuned.to_env()
    assert (env["CETS_FEDERATION_TAIL_QUORUM"], env["CETS_FEDERATION_TAIL_GRACE"]) == (
        "0.99",
        "2.0",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CETS_FEDERATION_TAIL_QUORUM", "0.2"),
        ("CETS_FEDERATION_TAIL_QUORUM", "nan"),
        ("CETS_FEDERATION_TAIL_GRACE", "-0.5"),
        ("CETS_FEDERATION_TAIL_GRACE", "1000"),
    ],
)
def test_a_bad_setting_names_itself(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        config(tmp_path, **{name: value})
