"""Record types: mix, id slugs, and the order in which an investigation produces them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from cets.core.records import RecordType

Record = dict[str, Any]

_MIX: Final[dict[RecordType, int]] = {
    RecordType.PERSON: 15,
    RecordType.ONLINE_IDENTITY: 15,
    RecordType.PHONE: 5,
    RecordType.PAYMENT_CARD: 3,
    RecordType.CARD_TRANSACTION: 15,
    RecordType.CHAT_MESSAGE: 25,
    RecordType.ARREST: 4,
    RecordType.CASE_NOTE: 8,
    RecordType.TIP: 8,
    RecordType.MEDIA_HASH: 2,
}
_TYPES: Final = tuple(_MIX)
_CUM_WEIGHTS: Final = tuple(sum(tuple(_MIX.values())[: i + 1]) for i in range(len(_MIX)))
_SLUGS: Final[dict[RecordType, str]] = {
    RecordType.PERSON: "person",
    RecordType.ONLINE_IDENTITY: "ident",
    RecordType.PHONE: "phone",
    RecordType.PAYMENT_CARD: "card",
    RecordType.CARD_TRANSACTION: "txn",
    RecordType.CHAT_MESSAGE: "chat",
    RecordType.ARREST: "arrest",
    RecordType.CASE_NOTE: "note",
    RecordType.TIP: "tip",
    RecordType.MEDIA_HASH: "media",
}
_STAGE: Final[dict[RecordType, int]] = {
    RecordType.TIP: 0,
    RecordType.MEDIA_HASH: 1,
    RecordType.CHAT_MESSAGE: 2,
    RecordType.ONLINE_IDENTITY: 3,
    RecordType.PHONE: 4,
    RecordType.PAYMENT_CARD: 5,
    RecordType.CARD_TRANSACTION: 5,
    RecordType.PERSON: 6,
    RecordType.CASE_NOTE: 7,
    RecordType.ARREST: 8,
}
_SOURCES: Final[dict[RecordType, tuple[str, ...]]] = {
    RecordType.PERSON: ("rms", "cpic", "esp-return"),
    RecordType.ONLINE_IDENTITY: ("esp-return",),
    RecordType.PHONE: ("production-order",),
    RecordType.PAYMENT_CARD: ("production-order",),
    RecordType.CARD_TRANSACTION: ("production-order", "acquirer-report"),
    RecordType.CHAT_MESSAGE: ("forensic-extraction", "esp-return", "undercover"),
    RecordType.ARREST: ("rms",),
    RecordType.CASE_NOTE: ("rms",),
    RecordType.TIP: ("tipline",),
    RecordType.MEDIA_HASH: ("hash-db", "forensic-extraction"),
}
_HANDLING: Final = ("amber", "green", "red", "amber+strict")
_HANDLING_CUM: Final = (78, 88, 93, 100)
_FIRST_DAY: Final = datetime(2023, 1, 20)
_CASE_START_DAYS: Final = (datetime(2026, 9, 1) - _FIRST_DAY).days
_CASE_SPAN_SECONDS: Final = 90 * 24 * 3600
