"""The people of a case: name pools per agency, suspects, children, and text-template fills."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from faker import Faker

from cets.search.sample_data._agencies import SampleAgency, _Style, _style
from cets.search.sample_data._identifiers import _file_url, _rng, _seed, _token
from cets.search.sample_data._wording import (
    _DAYS,
    _DEVICES,
    _ESPS,
    _MERCHANTS,
    _MONTHS,
    _PLACES,
    _PRIVATE_APPS,
)


@dataclass(frozen=True)
class _Pools:
    """Names and streets drawn once per agency from Faker."""

    firsts: tuple[str, ...]
    lasts: tuple[str, ...]
    streets: tuple[str, ...]
    postcodes: tuple[str, ...]
    officers: tuple[str, ...]


@lru_cache(maxsize=16)
def _pools(agency: SampleAgency, seed: int) -> _Pools:
    fake = Faker(agency.locale)
    fake.seed_instance(_seed(seed, agency.id, "faker"))
    firsts = tuple(fake.first_name() for _ in range(600))
    lasts = tuple(fake.last_name() for _ in range(600))
    rng = _rng(seed, agency.id, "officers")
    ranks = _style(agency.region).ranks
    officers = tuple(
        f"{rng.choice(ranks)} {rng.choice(firsts)} {rng.choice(lasts)} #{rng.randint(1000, 99999)}"
        for _ in range(60)
    )
    return _Pools(
        firsts=firsts,
        lasts=lasts,
        streets=tuple(fake.street_address() for _ in range(800)),
        postcodes=tuple(fake.postcode() for _ in range(300)),
        officers=officers,
    )


@dataclass(frozen=True)
class _Persona:
    """A suspect, as written in one agency's records."""

    name: str
    dob: date
    address: str
    email: str
    handle: str
    phone: str
    ip: str
    card: str | None
    platform: str


@dataclass(frozen=True)
class _Victim:
    """A child's account: a handle and a stated age, never a name."""

    handle: str
    age: int
    platform: str


@dataclass(frozen=True)
class _Case:
    """One investigation: its reference, when it opened, and its cast."""

    ref: str
    start: datetime
    suspects: tuple[_Persona, ...]
    victims: tuple[_Victim, ...]
    officer: str
    complete: bool = False
    """Planted: every record names the (single) suspect with all their identifiers."""


class _Fill(dict[str, str]):
    """Values for a text template; random ones are drawn only when the template uses them."""

    def __init__(
        self, rng: random.Random, style: _Style, case: _Case, who: _Persona, at: datetime
    ) -> None:
        super().__init__(
            handle=who.handle,
            email=who.email,
            phone=who.phone,
            ip=who.ip,
            name=who.name,
            address=who.address,
            platform=who.platform,
            last4=who.card[-4:] if who.card else "",
            order=style.data_order,
        )
        self._rng, self._style, self._case, self._at = rng, style, case, at

    def __missing__(self, key: str) -> str:
        value = self._draw(key)
        self[key] = value
        return value

    def _draw(self, key: str) -> str:
        rng, style = self._rng, self._style
        match key:
            case "age" | "victim":
                victim = rng.choice(self._case.victims)
                self["victim"], self["age"] = victim.handle, str(victim.age)
                return self[key]
            case "app":
                return rng.choice(_PRIVATE_APPS)
            case "city":
                return rng.choice(style.cities).split(",")[0]
            case "url":
                return _file_url(rng)
            case "password":
                return _token(rng, 8)
            case "place":
                return rng.choice(_PLACES)
            case "day":
                return rng.choice(_DAYS)
            case "esp":
                return rng.choice(_ESPS)
            case "n":
                return str(rng.randint(2, 400))
            case "when":
                return self._at.strftime("%Y-%m-%d %H:%M:%S")
            case "tipno":
                return str(rng.randint(100_000_000, 199_999_999))
            case "carrier":
                return rng.choice(style.carriers)
            case "devices":
                return rng.choice(_DEVICES)
            case "month":
                since = self._at - timedelta(days=rng.randint(20, 200))
                return f"{_MONTHS[since.month - 1]} {since.year}"
            case "merchant":
                return rng.choice(_MERCHANTS)[0]
        raise KeyError(key)
