"""Reading settings from the environment, the same way in every service.

Each service lists its settings as ``(field, VARIABLE, parse)`` and gets back the values that
are set; a value that does not parse, or a required one that is missing, is a
:class:`ConfigError` naming the variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from limits import RateLimitItem
from limits import parse as parse_rate

from cets.core.errors import ConfigError

__all__ = [
    "AGENCY_ID",
    "ConfigError",
    "Setting",
    "check_agency_id",
    "check_rate_limit",
    "parse_setting",
    "read_env",
    "write_env",
]

Setting = tuple[str, str, Callable[[str], object]]
AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")


def parse_setting(variable: str, raw: str, parse: Callable[[str], object]) -> object:
    try:
        return parse(raw)
    except ValueError:
        what = {int: "a whole number", float: "a number"}.get(parse, "valid")  # type: ignore[call-overload]
        raise ConfigError(f"{variable} must be {what}") from None


def read_env(
    env: Mapping[str, str], settings: Sequence[Setting], *, required: Collection[str] = ()
) -> dict[str, object]:
    """The settings that are set (empty counts as unset), parsed."""
    values: dict[str, object] = {}
    for name, variable, parse in settings:
        raw = env.get(variable, "")
        if raw:
            values[name] = parse_setting(variable, raw, parse)
        elif name in required:
            raise ConfigError(f"{variable} is not set")
    return values


def write_env(values: object, settings: Sequence[Setting]) -> dict[str, str]:
    """The variables :func:`read_env` reads back as ``values``' settings (the attributes named
    in ``settings``), for starting a service as a process. None and empty values are left out.
    """
    env: dict[str, str] = {}
    for name, variable, _ in settings:
        text = _as_text(getattr(values, name))
        if text:
            env[variable] = text
    return env


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # reads back as the same float
    if isinstance(value, frozenset | set):
        return ",".join(sorted(str(item) for item in value))
    if isinstance(value, str | int | Path):
        return str(value)
    raise TypeError(f"cannot write a {type(value).__name__} setting as text")


RATE_LIMIT = re.compile(r"^[1-9]\d{0,8}\s*/\s*(second|minute|hour|day)$")
"""A rate as written in the settings: ``600/minute``."""


def check_rate_limit(text: str) -> RateLimitItem:
    """The rate ``text`` means; :class:`ValueError` unless it looks like ``600/minute``."""
    if not RATE_LIMIT.match(text.strip()):
        raise ValueError(f"{text[:64]!r} is not a rate like 600/minute")
    return parse_rate(text.strip())


def check_agency_id(value: str) -> None:
    if not AGENCY_ID.match(value):
        raise ConfigError("CETS_AGENCY_ID must be 1-48 of a-z, 0-9, '-' and '_'")
