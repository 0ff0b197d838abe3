"""The input models: what each record type accepts, field by field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cets.core.records._types import Handling

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$"
ShortText = Annotated[str, Field(min_length=1, max_length=256)]
LongText = Annotated[str, Field(min_length=1, max_length=100_000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Raw = Annotated[str, Field(min_length=1, max_length=512)]
"""A raw identifier (e-mail, phone, handle, URL, IP) before normalisation."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""C0 and C1 control characters and DEL; tab, line feed and carriage return are allowed."""


class _In(BaseModel):
    """Envelope fields shared by every record type."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    id: str | None = Field(default=None, pattern=_ID_PATTERN)
    agency: str | None = Field(default=None, max_length=64)
    case_ref: str | None = Field(default=None, max_length=64)
    handling: Handling = Handling.AMBER
    created: datetime
    updated: datetime | None = None
    source: str | None = Field(default=None, max_length=64)

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: Any) -> Any:
        """CSV cells carry lists as ``a|b|c``."""
        if not isinstance(data, Mapping):
            return data
        lists = _list_fields(cls)
        if not any(isinstance(data.get(key), str) for key in lists.intersection(data)):
            return data
        return {
            key: [p.strip() for p in value.split("|") if p.strip()]
            if key in lists and isinstance(value, str)
            else value
            for key, value in data.items()
        }

    @field_validator("*")
    @classmethod
    def _checked(cls, value: Any) -> Any:
        """No text may hold control characters: they are never part of a record, and they
        would reach partners' terminals and exports (a NUL, an escape sequence). Every time
        of every type is kept in UTC; a time without a zone is read as UTC."""
        if isinstance(value, str):
            _no_control_characters(value)
        elif isinstance(value, list):
            for text in value:
                if isinstance(text, str):
                    _no_control_characters(text)
        elif isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value


def _no_control_characters(text: str) -> None:
    if found := _CONTROL.search(text):
        raise PydanticCustomError(
            "control_character",
            "contains a control character (U+{code})",
            {"code": f"{ord(found.group()):04X}"},
        )


_LIST_FIELDS: dict[type[BaseModel], frozenset[str]] = {}


def _list_fields(model: type[BaseModel]) -> frozenset[str]:
    """The names of ``model``'s list fields (worked out once per model)."""
    found = _LIST_FIELDS.get(model)
    if found is None:
        found = frozenset(n for n, f in model.model_fields.items() if _is_list(f.annotation))
        _LIST_FIELDS[model] = found
    return found


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list


class PersonIn(_In):
    type: Literal["person"]
    name: Name
    aliases: list[Name] = Field(default_factory=list, max_length=50)
    date_of_birth: date | None = None
    nationality: str | None = Field(default=None, max_length=64)
    emails: list[Raw] = Field(default_factory=list, max_length=50)
    phones: list[Raw] = Field(default_factory=list, max_length=50)
    usernames: list[Raw] = Field(default_factory=list, max_length=50)
    address: ShortText | None = None
    description: LongText | None = None


IdentityKind = Literal["email", "username", "im_buddy", "ip", "url"]


class OnlineIdentityIn(_In):
    type: Literal["online_identity"]
    kind: IdentityKind
    value: Raw
    platform: str | None = Field(default=None, max_length=64)
    owner: Raw | None = None
    """For an IM buddy-list entry: the handle whose list it is."""
    display_name: Name | None = None
    description: LongText | None = None


class PhoneIn(_In):
    type: Literal["phone"]
    number: Raw
    subscriber_name: Name | None = None
    carrier: str | None = Field(default=None, max_length=64)
    description: LongText | None = None


class PaymentCardIn(_In):
    type: Literal["payment_card"]
    card_number: Annotated[str, Field(min_length=12, max_length=32)]
    holder_name: Name | None = None
    expiry: str | None = Field(default=None, pattern=r"^(0[1-9]|1[0-2])/\d{2}$")
    issuer: str | None = Field(default=None, max_length=64)
    description: LongText | None = None


class CardTransactionIn(_In):
    type: Literal["card_transaction"]
    card_number: Annotated[str, Field(min_length=12, max_length=32)]
    holder_name: Name | None = None
    merchant: ShortText
    merchant_url: Raw | None = None
    amount: Decimal = Field(max_digits=14, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    transacted_at: datetime | None = None
    email: Raw | None = None
    ip: Raw | None = None
    description: LongText | None = None


class ChatMessageIn(_In):
    type: Literal["chat_message"]
    platform: str | None = Field(default=None, max_length=64)
    room: str | None = Field(default=None, max_length=128)
    sender: Raw
    recipients: list[Raw] = Field(default_factory=list, max_length=100)
    text: LongText
    sent_at: datetime | None = None
    sender_ip: Raw | None = None


class ArrestIn(_In):
    type: Literal["arrest"]
    name: Name
    date_of_birth: date | None = None
    charges: list[ShortText] = Field(default_factory=list, max_length=50)
    location: ShortText | None = None
    arrested_at: datetime | None = None
    arresting_officer: str | None = Field(default=None, max_length=128)
    narrative: LongText | None = None
    emails: list[Raw] = Field(default_factory=list, max_length=50)
    phones: list[Raw] = Field(default_factory=list, max_length=50)
    usernames: list[Raw] = Field(default_factory=list, max_length=50)


class CaseNoteIn(_In):
    type: Literal["case_note"]
    author: str | None = Field(default=None, max_length=128)
    text: LongText
    subject_names: list[Name] = Field(default_factory=list, max_length=50)


class TipIn(_In):
    type: Literal["tip"]
    reporter: str | None = Field(default=None, max_length=128)
    reported_at: datetime | None = None
    text: LongText
    names: list[Name] = Field(default_factory=list, max_length=50)
    emails: list[Raw] = Field(default_factory=list, max_length=50)
    usernames: list[Raw] = Field(default_factory=list, max_length=50)
    phones: list[Raw] = Field(default_factory=list, max_length=50)
    ips: list[Raw] = Field(default_factory=list, max_length=50)
    urls: list[Raw] = Field(default_factory=list, max_length=50)


class MediaHashIn(_In):
    type: Literal["media_hash"]
    md5: str | None = None
    sha1: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = Field(default=None, ge=0, le=100)
    """PDQ's quality score of the hash (below 50: a flat image, an unreliable hash)."""
    filename: ShortText | None = None
    platform: str | None = Field(default=None, max_length=64)
    description: LongText | None = None


RecordIn = Annotated[
    PersonIn
    | OnlineIdentityIn
    | PhoneIn
    | PaymentCardIn
    | CardTransactionIn
    | ChatMessageIn
    | ArrestIn
    | CaseNoteIn
    | TipIn
    | MediaHashIn,
    Field(discriminator="type"),
]
_RECORD_ADAPTER: TypeAdapter[RecordIn] = TypeAdapter(RecordIn)
_IDENTIFIER_FIELDS = frozenset(
    {
        "emails",
        "phones",
        "usernames",
        "value",
        "owner",
        "number",
        "ip",
        "ips",
        "urls",
        "email",
        "sender",
        "recipients",
        "sender_ip",
        "merchant_url",
        "md5",
        "sha1",
        "pdq",
        "card_fingerprint",
        "card_last4",
    }
)
"""Structured identifiers, kept as written; every other text field is masked for cards."""
_ENVELOPE_FIELDS = frozenset(_In.model_fields) | {"type"}
