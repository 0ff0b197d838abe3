"""Release requests: one agency asks another for a record its answer released below ``full``.

The owner decides; an approval names the records, the level (``full`` or ``summary``) and an
expiry, and it — not the owner's policy file — governs fetching those records until then.
Pure types and rules, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from cets.core.convert import MAX_SELECTOR_CHARS, selectors_from_proto
from cets.core.errors import InvalidQuery
from cets.core.query import MAX_SELECTORS
from cets.core.selectors import Selector
from cets.v1 import releases_pb2

__all__ = [
    "DEFAULT_APPROVAL_DAYS",
    "MAX_APPROVAL_DAYS",
    "MAX_MESSAGE",
    "MAX_REASON",
    "ReleaseSpec",
    "check_release_size",
    "release_from_proto",
]

MAX_MESSAGE = 1000
MAX_REASON = 1000
DEFAULT_APPROVAL_DAYS = 30
MAX_APPROVAL_DAYS = 365
_MAX_RECORD_ID = 128


@dataclass(frozen=True, slots=True)
class ReleaseSpec:
    """What is asked for: a record id, or the selectors a count-only answer matched."""

    record_id: str
    selectors: tuple[Selector, ...]
    message: str


def check_release_size(release: releases_pb2.Release) -> None:
    """Refuse an oversized request before anything costly is done."""
    if len(release.record_id) > _MAX_RECORD_ID:
        raise InvalidQuery(f"a record id is longer than {_MAX_RECORD_ID} characters")
    if len(release.selectors) > MAX_SELECTORS:
        raise InvalidQuery(f"more than {MAX_SELECTORS} selectors")
    if any(len(s.value) > MAX_SELECTOR_CHARS for s in release.selectors):
        raise InvalidQuery(f"a selector is longer than {MAX_SELECTOR_CHARS} characters")
    if len(release.message) > MAX_MESSAGE:
        raise InvalidQuery(f"the message is longer than {MAX_MESSAGE} characters")


def release_from_proto(
    release: releases_pb2.Release, *, default_region: str | None, card_key: bytes
) -> ReleaseSpec:
    check_release_size(release)
    if bool(release.record_id.strip()) == bool(release.selectors):
        raise InvalidQuery("ask for one record id, or for the selectors a count matched")
    selectors = selectors_from_proto(
        release.selectors, default_region=default_region, card_key=card_key
    )
    return ReleaseSpec(
        record_id=release.record_id.strip(),
        selectors=tuple(sorted(set(selectors))),
        message=release.message.strip(),
    )
