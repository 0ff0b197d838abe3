"""Record types, handling codes, and what ingest knows and produces."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class RecordType(StrEnum):
    """The kinds of record an agency holds."""

    PERSON = "person"
    ONLINE_IDENTITY = "online_identity"
    PHONE = "phone"
    PAYMENT_CARD = "payment_card"
    CARD_TRANSACTION = "card_transaction"
    CHAT_MESSAGE = "chat_message"
    ARREST = "arrest"
    CASE_NOTE = "case_note"
    TIP = "tip"
    MEDIA_HASH = "media_hash"


class Handling(StrEnum):
    """Handling code of a record, after the Traffic Light Protocol 2.0."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"


class RecordError(ValueError):
    """A record that cannot be ingested; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class IngestContext:
    """What a node knows when it prepares records for its own index."""

    agency_id: str
    """This agency's id; a record naming another agency is rejected."""
    card_key: bytes
    """Secret key for card fingerprints (agencies that want card links share it)."""
    default_region: str | None = None
    """ISO country code for phone numbers written without a country code, e.g. ``"CA"``."""


@dataclass(frozen=True, slots=True)
class PreparedRecord:
    """A validated record, ready to be stored under ``record_id``."""

    record_id: str
    type: RecordType
    document: dict[str, Any]
