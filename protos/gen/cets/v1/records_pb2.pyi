import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecordType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_TYPE_UNSPECIFIED: _ClassVar[RecordType]
    RECORD_TYPE_PERSON: _ClassVar[RecordType]
    RECORD_TYPE_ONLINE_IDENTITY: _ClassVar[RecordType]
    RECORD_TYPE_PHONE: _ClassVar[RecordType]
    RECORD_TYPE_PAYMENT_CARD: _ClassVar[RecordType]
    RECORD_TYPE_CARD_TRANSACTION: _ClassVar[RecordType]
    RECORD_TYPE_CHAT_MESSAGE: _ClassVar[RecordType]
    RECORD_TYPE_ARREST: _ClassVar[RecordType]
    RECORD_TYPE_CASE_NOTE: _ClassVar[RecordType]
    RECORD_TYPE_TIP: _ClassVar[RecordType]
    RECORD_TYPE_MEDIA_HASH: _ClassVar[RecordType]

class Handling(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDLING_UNSPECIFIED: _ClassVar[Handling]
    HANDLING_CLEAR: _ClassVar[Handling]
    HANDLING_GREEN: _ClassVar[Handling]
    HANDLING_AMBER: _ClassVar[Handling]
    HANDLING_AMBER_STRICT: _ClassVar[Handling]
    HANDLING_RED: _ClassVar[Handling]

class SelectorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SELECTOR_KIND_UNSPECIFIED: _ClassVar[SelectorKind]
    SELECTOR_KIND_EMAIL: _ClassVar[SelectorKind]
    SELECTOR_KIND_PHONE: _ClassVar[SelectorKind]
    SELECTOR_KIND_USERNAME: _ClassVar[SelectorKind]
    SELECTOR_KIND_IP: _ClassVar[SelectorKind]
    SELECTOR_KIND_URL: _ClassVar[SelectorKind]
    SELECTOR_KIND_DOMAIN: _ClassVar[SelectorKind]
    SELECTOR_KIND_CARD: _ClassVar[SelectorKind]
    SELECTOR_KIND_MD5: _ClassVar[SelectorKind]
    SELECTOR_KIND_SHA1: _ClassVar[SelectorKind]
    SELECTOR_KIND_PDQ: _ClassVar[SelectorKind]
RECORD_TYPE_UNSPECIFIED: RecordType
RECORD_TYPE_PERSON: RecordType
RECORD_TYPE_ONLINE_IDENTITY: RecordType
RECORD_TYPE_PHONE: RecordType
RECORD_TYPE_PAYMENT_CARD: RecordType
RECORD_TYPE_CARD_TRANSACTION: RecordType
RECORD_TYPE_CHAT_MESSAGE: RecordType
RECORD_TYPE_ARREST: RecordType
RECORD_TYPE_CASE_NOTE: RecordType
RECORD_TYPE_TIP: RecordType
RECORD_TYPE_MEDIA_HASH: RecordType
HANDLING_UNSPECIFIED: Handling
HANDLING_CLEAR: Handling
HANDLING_GREEN: Handling
HANDLING_AMBER: Handling
HANDLING_AMBER_STRICT: Handling
HANDLING_RED: Handling
SELECTOR_KIND_UNSPECIFIED: SelectorKind
SELECTOR_KIND_EMAIL: SelectorKind
SELECTOR_KIND_PHONE: SelectorKind
SELECTOR_KIND_USERNAME: SelectorKind
SELECTOR_KIND_IP: SelectorKind
SELECTOR_KIND_URL: SelectorKind
SELECTOR_KIND_DOMAIN: SelectorKind
SELECTOR_KIND_CARD: SelectorKind
SELECTOR_KIND_MD5: SelectorKind
SELECTOR_KIND_SHA1: SelectorKind
SELECTOR_KIND_PDQ: SelectorKind

class Selector(_message.Message):
    __slots__ = ("kind", "value")
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    kind: SelectorKind
    value: str
    def __init__(self, kind: _Optional[_Union[SelectorKind, str]] = ..., value: _Optional[str] = ...) -> None: ...

class Envelope(_message.Message):
    __slots__ = ("agency", "record_id", "type", "case_ref", "handling", "created", "updated", "source")
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CASE_REF_FIELD_NUMBER: _ClassVar[int]
    HANDLING_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    agency: str
    record_id: str
    type: RecordType
    case_ref: str
    handling: Handling
    created: _timestamp_pb2.Timestamp
    updated: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, agency: _Optional[str] = ..., record_id: _Optional[str] = ..., type: _Optional[_Union[RecordType, str]] = ..., case_ref: _Optional[str] = ..., handling: _Optional[_Union[Handling, str]] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class Person(_message.Message):
    __slots__ = ("name", "aliases", "date_of_birth", "nationality", "emails", "phones", "usernames", "address", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    NATIONALITY_FIELD_NUMBER: _ClassVar[int]
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    PHONES_FIELD_NUMBER: _ClassVar[int]
    USERNAMES_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    date_of_birth: str
    nationality: str
    emails: _containers.RepeatedScalarFieldContainer[str]
    phones: _containers.RepeatedScalarFieldContainer[str]
    usernames: _containers.RepeatedScalarFieldContainer[str]
    address: str
    description: str
    def __init__(self, name: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., date_of_birth: _Optional[str] = ..., nationality: _Optional[str] = ..., emails: _Optional[_Iterable[str]] = ..., phones: _Optional[_Iterable[str]] = ..., usernames: _Optional[_Iterable[str]] = ..., address: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class OnlineIdentity(_message.Message):
    __slots__ = ("kind", "value", "platform", "owner", "display_name", "description")
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    kind: str
    value: str
    platform: str
    owner: str
    display_name: str
    description: str
    def __init__(self, kind: _Optional[str] = ..., value: _Optional[str] = ..., platform: _Optional[str] = ..., owner: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class Phone(_message.Message):
    __slots__ = ("number", "subscriber_name", "carrier", "description")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBER_NAME_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    number: str
    subscriber_name: str
    carrier: str
    description: str
    def __init__(self, number: _Optional[str] = ..., subscriber_name: _Optional[str] = ..., carrier: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class PaymentCard(_message.Message):
    __slots__ = ("card_fingerprint", "card_last4", "holder_name", "expiry", "issuer", "description")
    CARD_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    CARD_LAST4_FIELD_NUMBER: _ClassVar[int]
    HOLDER_NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    card_fingerprint: str
    card_last4: str
    holder_name: str
    expiry: str
    issuer: str
    description: str
    def __init__(self, card_fingerprint: _Optional[str] = ..., card_last4: _Optional[str] = ..., holder_name: _Optional[str] = ..., expiry: _Optional[str] = ..., issuer: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class CardTransaction(_message.Message):
    __slots__ = ("card_fingerprint", "card_last4", "holder_name", "merchant", "merchant_url", "amount", "currency", "transacted_at", "email", "ip", "description")
    CARD_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    CARD_LAST4_FIELD_NUMBER: _ClassVar[int]
    HOLDER_NAME_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_URL_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTED_AT_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    card_fingerprint: str
    card_last4: str
    holder_name: str
    merchant: str
    merchant_url: str
    amount: str
    currency: str
    transacted_at: _timestamp_pb2.Timestamp
    email: str
    ip: str
    description: str
    def __init__(self, card_fingerprint: _Optional[str] = ..., card_last4: _Optional[str] = ..., holder_name: _Optional[str] = ..., merchant: _Optional[str] = ..., merchant_url: _Optional[str] = ..., amount: _Optional[str] = ..., currency: _Optional[str] = ..., transacted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., email: _Optional[str] = ..., ip: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("platform", "room", "sender", "recipients", "text", "sent_at", "sender_ip")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ROOM_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    SENDER_IP_FIELD_NUMBER: _ClassVar[int]
    platform: str
    room: str
    sender: str
    recipients: _containers.RepeatedScalarFieldContainer[str]
    text: str
    sent_at: _timestamp_pb2.Timestamp
    sender_ip: str
    def __init__(self, platform: _Optional[str] = ..., room: _Optional[str] = ..., sender: _Optional[str] = ..., recipients: _Optional[_Iterable[str]] = ..., text: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sender_ip: _Optional[str] = ...) -> None: ...

class Arrest(_message.Message):
    __slots__ = ("name", "date_of_birth", "charges", "location", "arrested_at", "arresting_officer", "narrative", "emails", "phones", "usernames")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    CHARGES_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    ARRESTED_AT_FIELD_NUMBER: _ClassVar[int]
    ARRESTING_OFFICER_FIELD_NUMBER: _ClassVar[int]
    NARRATIVE_FIELD_NUMBER: _ClassVar[int]
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    PHONES_FIELD_NUMBER: _ClassVar[int]
    USERNAMES_FIELD_NUMBER: _ClassVar[int]
    name: str
    date_of_birth: str
    charges: _containers.RepeatedScalarFieldContainer[str]
    location: str
    arrested_at: _timestamp_pb2.Timestamp
    arresting_officer: str
    narrative: str
    emails: _containers.RepeatedScalarFieldContainer[str]
    phones: _containers.RepeatedScalarFieldContainer[str]
    usernames: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., charges: _Optional[_Iterable[str]] = ..., location: _Optional[str] = ..., arrested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., arresting_officer: _Optional[str] = ..., narrative: _Optional[str] = ..., emails: _Optional[_Iterable[str]] = ..., phones: _Optional[_Iterable[str]] = ..., usernames: _Optional[_Iterable[str]] = ...) -> None: ...

class CaseNote(_message.Message):
    __slots__ = ("author", "text", "subject_names")
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_NAMES_FIELD_NUMBER: _ClassVar[int]
    author: str
    text: str
    subject_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, author: _Optional[str] = ..., text: _Optional[str] = ..., subject_names: _Optional[_Iterable[str]] = ...) -> None: ...

class Tip(_message.Message):
    __slots__ = ("reporter", "reported_at", "text", "names", "emails", "usernames", "phones", "ips", "urls")
    REPORTER_FIELD_NUMBER: _ClassVar[int]
    REPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    USERNAMES_FIELD_NUMBER: _ClassVar[int]
    PHONES_FIELD_NUMBER: _ClassVar[int]
    IPS_FIELD_NUMBER: _ClassVar[int]
    URLS_FIELD_NUMBER: _ClassVar[int]
    reporter: str
    reported_at: _timestamp_pb2.Timestamp
    text: str
    names: _containers.RepeatedScalarFieldContainer[str]
    emails: _containers.RepeatedScalarFieldContainer[str]
    usernames: _containers.RepeatedScalarFieldContainer[str]
    phones: _containers.RepeatedScalarFieldContainer[str]
    ips: _containers.RepeatedScalarFieldContainer[str]
    urls: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reporter: _Optional[str] = ..., reported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., text: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ..., emails: _Optional[_Iterable[str]] = ..., usernames: _Optional[_Iterable[str]] = ..., phones: _Optional[_Iterable[str]] = ..., ips: _Optional[_Iterable[str]] = ..., urls: _Optional[_Iterable[str]] = ...) -> None: ...

class MediaHash(_message.Message):
    __slots__ = ("md5", "sha1", "pdq", "filename", "platform", "description", "pdq_quality")
    MD5_FIELD_NUMBER: _ClassVar[int]
    SHA1_FIELD_NUMBER: _ClassVar[int]
    PDQ_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PDQ_QUALITY_FIELD_NUMBER: _ClassVar[int]
    md5: str
    sha1: str
    pdq: str
    filename: str
    platform: str
    description: str
    pdq_quality: int
    def __init__(self, md5: _Optional[str] = ..., sha1: _Optional[str] = ..., pdq: _Optional[str] = ..., filename: _Optional[str] = ..., platform: _Optional[str] = ..., description: _Optional[str] = ..., pdq_quality: _Optional[int] = ...) -> None: ...

class Record(_message.Message):
    __slots__ = ("envelope", "person", "online_identity", "phone", "payment_card", "card_transaction", "chat_message", "arrest", "case_note", "tip", "media_hash")
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    ONLINE_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_CARD_FIELD_NUMBER: _ClassVar[int]
    CARD_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    CHAT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ARREST_FIELD_NUMBER: _ClassVar[int]
    CASE_NOTE_FIELD_NUMBER: _ClassVar[int]
    TIP_FIELD_NUMBER: _ClassVar[int]
    MEDIA_HASH_FIELD_NUMBER: _ClassVar[int]
    envelope: Envelope
    person: Person
    online_identity: OnlineIdentity
    phone: Phone
    payment_card: PaymentCard
    card_transaction: CardTransaction
    chat_message: ChatMessage
    arrest: Arrest
    case_note: CaseNote
    tip: Tip
    media_hash: MediaHash
    def __init__(self, envelope: _Optional[_Union[Envelope, _Mapping]] = ..., person: _Optional[_Union[Person, _Mapping]] = ..., online_identity: _Optional[_Union[OnlineIdentity, _Mapping]] = ..., phone: _Optional[_Union[Phone, _Mapping]] = ..., payment_card: _Optional[_Union[PaymentCard, _Mapping]] = ..., card_transaction: _Optional[_Union[CardTransaction, _Mapping]] = ..., chat_message: _Optional[_Union[ChatMessage, _Mapping]] = ..., arrest: _Optional[_Union[Arrest, _Mapping]] = ..., case_note: _Optional[_Union[CaseNote, _Mapping]] = ..., tip: _Optional[_Union[Tip, _Mapping]] = ..., media_hash: _Optional[_Union[MediaHash, _Mapping]] = ...) -> None: ...
