"""What every importer shares: what it yields, how it names places, how it checks a record."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cets.core.records import IngestContext, RecordError, prepare
from cets.core.selectors import SelectorError, SelectorKind, normalize
from cets.search.readers import raw_text

__all__ = [
    "MAX_LIST",
    "MAX_TEXT",
    "ImportItem",
    "Imported",
    "Note",
    "Rejected",
    "Settings",
    "check_record",
    "shown",
]

MAX_TEXT = 100_000
"""The longest free text a record takes (``description`` of a media hash, ``text`` of a tip)."""
MAX_LIST = 50
"""The most values one identifier list of a tip takes."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What a parser needs to know besides the bytes."""

    created: datetime
    """``created`` of a record whose source gives no time of its own (the CLI uses the file's
    modification time, so importing the same file twice gives the same records)."""
    default_region: str | None = None
    """The node's region for phone numbers without a country code: records are checked as
    the node will check them, so what is written here ingests."""


@dataclass(frozen=True, slots=True)
class Imported:
    """One record, ready for ``cets ingest``."""

    location: str
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A source record (or, if ``fatal``, the rest of the file) that could not be imported.

    ``reason`` names fields and rules, never values; ``raw`` is the source excerpt for the
    rejects file only.
    """

    location: str
    reason: str
    raw: str = field(default="", repr=False)
    fatal: bool = False
    """The file cannot be read past this point; what came before was imported."""


@dataclass(frozen=True, slots=True)
class Note:
    """Something imported differently than written, or deliberately left out; no values."""

    location: str
    message: str


ImportItem = Imported | Rejected | Note


def shown(name: str, limit: int = 64) -> str:
    """A field or element name from the input as it may appear in a message: unprintable
    characters escaped, cut to ``limit``."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name[:limit])
    return text + ("..." if len(name) > limit else "")


def excerpt(value: str | bytes) -> str:
    """Source text for the rejects file, bounded as ingest bounds it."""
    return raw_text(value)


_CHECK_KEY = secrets.token_bytes(32)
"""Card fingerprints made while checking are thrown away; any key will do."""


def check_record(record: Mapping[str, Any], settings: Settings) -> str | None:
    """Why ``cets ingest`` would refuse ``record`` (the node's own check), or None."""
    ctx = IngestContext("import-check", _CHECK_KEY, settings.default_region)
    try:
        prepare(record, ctx)
    except RecordError as exc:
        return str(exc)
    return None


def normalises(kind: SelectorKind, raw: str, settings: Settings) -> bool:
    """Whether ``raw`` is a usable identifier of ``kind`` at this node."""
    try:
        normalize(kind, raw, default_region=settings.default_region)
    except SelectorError:
        return False
    return True


def parse_time(raw: str | None) -> datetime | None:
    """An ISO 8601 date or date-time (without a zone: UTC), or None if it is not one."""
    if not raw:
        return None
    text = raw.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
