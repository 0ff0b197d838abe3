import datetime

from cets.v1 import records_pb2 as _records_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DisclosureLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISCLOSURE_LEVEL_UNSPECIFIED: _ClassVar[DisclosureLevel]
    DISCLOSURE_LEVEL_FULL: _ClassVar[DisclosureLevel]
    DISCLOSURE_LEVEL_SUMMARY: _ClassVar[DisclosureLevel]
    DISCLOSURE_LEVEL_HIT: _ClassVar[DisclosureLevel]
    DISCLOSURE_LEVEL_DENY: _ClassVar[DisclosureLevel]
DISCLOSURE_LEVEL_UNSPECIFIED: DisclosureLevel
DISCLOSURE_LEVEL_FULL: DisclosureLevel
DISCLOSURE_LEVEL_SUMMARY: DisclosureLevel
DISCLOSURE_LEVEL_HIT: DisclosureLevel
DISCLOSURE_LEVEL_DENY: DisclosureLevel

class StreamedSearch(_message.Message):
    __slots__ = ("id", "request", "timeout_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    id: int
    request: bytes
    timeout_ms: int
    def __init__(self, id: _Optional[int] = ..., request: _Optional[bytes] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class StreamedAnswer(_message.Message):
    __slots__ = ("id", "answer", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: int
    answer: SignedAnswer
    error: CallError
    def __init__(self, id: _Optional[int] = ..., answer: _Optional[_Union[SignedAnswer, _Mapping]] = ..., error: _Optional[_Union[CallError, _Mapping]] = ...) -> None: ...

class CallError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class ImageQuery(_message.Message):
    __slots__ = ("pdq", "max_distance", "md5", "sha1")
    PDQ_FIELD_NUMBER: _ClassVar[int]
    MAX_DISTANCE_FIELD_NUMBER: _ClassVar[int]
    MD5_FIELD_NUMBER: _ClassVar[int]
    SHA1_FIELD_NUMBER: _ClassVar[int]
    pdq: _containers.RepeatedScalarFieldContainer[str]
    max_distance: int
    md5: str
    sha1: str
    def __init__(self, pdq: _Optional[_Iterable[str]] = ..., max_distance: _Optional[int] = ..., md5: _Optional[str] = ..., sha1: _Optional[str] = ...) -> None: ...

class Query(_message.Message):
    __slots__ = ("text", "selectors", "name", "types", "created_from", "created_to", "handling", "limit", "record_ids", "image", "release_id")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SELECTORS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    CREATED_FROM_FIELD_NUMBER: _ClassVar[int]
    CREATED_TO_FIELD_NUMBER: _ClassVar[int]
    HANDLING_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    text: str
    selectors: _containers.RepeatedCompositeFieldContainer[_records_pb2.Selector]
    name: str
    types: _containers.RepeatedScalarFieldContainer[_records_pb2.RecordType]
    created_from: _timestamp_pb2.Timestamp
    created_to: _timestamp_pb2.Timestamp
    handling: _containers.RepeatedScalarFieldContainer[_records_pb2.Handling]
    limit: int
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    image: ImageQuery
    release_id: str
    def __init__(self, text: _Optional[str] = ..., selectors: _Optional[_Iterable[_Union[_records_pb2.Selector, _Mapping]]] = ..., name: _Optional[str] = ..., types: _Optional[_Iterable[_Union[_records_pb2.RecordType, str]]] = ..., created_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., handling: _Optional[_Iterable[_Union[_records_pb2.Handling, str]]] = ..., limit: _Optional[int] = ..., record_ids: _Optional[_Iterable[str]] = ..., image: _Optional[_Union[ImageQuery, _Mapping]] = ..., release_id: _Optional[str] = ...) -> None: ...

class RequestContext(_message.Message):
    __slots__ = ("requester_agency", "officer_id", "purpose", "case_reference", "audience", "created", "expires", "nonce", "audience_commitments")
    REQUESTER_AGENCY_FIELD_NUMBER: _ClassVar[int]
    OFFICER_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_COMMITMENTS_FIELD_NUMBER: _ClassVar[int]
    requester_agency: str
    officer_id: str
    purpose: str
    case_reference: str
    audience: str
    created: _timestamp_pb2.Timestamp
    expires: _timestamp_pb2.Timestamp
    nonce: bytes
    audience_commitments: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, requester_agency: _Optional[str] = ..., officer_id: _Optional[str] = ..., purpose: _Optional[str] = ..., case_reference: _Optional[str] = ..., audience: _Optional[str] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., nonce: _Optional[bytes] = ..., audience_commitments: _Optional[_Iterable[bytes]] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("query", "context", "signature", "ticket")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TICKET_FIELD_NUMBER: _ClassVar[int]
    query: Query
    context: RequestContext
    signature: bytes
    ticket: bytes
    def __init__(self, query: _Optional[_Union[Query, _Mapping]] = ..., context: _Optional[_Union[RequestContext, _Mapping]] = ..., signature: _Optional[bytes] = ..., ticket: _Optional[bytes] = ...) -> None: ...

class Highlight(_message.Message):
    __slots__ = ("field", "fragments")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    FRAGMENTS_FIELD_NUMBER: _ClassVar[int]
    field: str
    fragments: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, field: _Optional[str] = ..., fragments: _Optional[_Iterable[str]] = ...) -> None: ...

class Hit(_message.Message):
    __slots__ = ("agency", "record_id", "type", "score", "title", "created", "highlights", "matched_selectors", "record", "selectors", "disclosure", "distance", "matched_pdq")
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    HIGHLIGHTS_FIELD_NUMBER: _ClassVar[int]
    MATCHED_SELECTORS_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    SELECTORS_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_PDQ_FIELD_NUMBER: _ClassVar[int]
    agency: str
    record_id: str
    type: _records_pb2.RecordType
    score: float
    title: str
    created: _timestamp_pb2.Timestamp
    highlights: _containers.RepeatedCompositeFieldContainer[Highlight]
    matched_selectors: _containers.RepeatedCompositeFieldContainer[_records_pb2.Selector]
    record: _records_pb2.Record
    selectors: _containers.RepeatedCompositeFieldContainer[_records_pb2.Selector]
    disclosure: DisclosureLevel
    distance: int
    matched_pdq: int
    def __init__(self, agency: _Optional[str] = ..., record_id: _Optional[str] = ..., type: _Optional[_Union[_records_pb2.RecordType, str]] = ..., score: _Optional[float] = ..., title: _Optional[str] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., highlights: _Optional[_Iterable[_Union[Highlight, _Mapping]]] = ..., matched_selectors: _Optional[_Iterable[_Union[_records_pb2.Selector, _Mapping]]] = ..., record: _Optional[_Union[_records_pb2.Record, _Mapping]] = ..., selectors: _Optional[_Iterable[_Union[_records_pb2.Selector, _Mapping]]] = ..., disclosure: _Optional[_Union[DisclosureLevel, str]] = ..., distance: _Optional[int] = ..., matched_pdq: _Optional[int] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("agency", "hits", "total_hits", "total_is_lower_bound", "disclosure", "took_ms", "request_nonce", "withheld_hits", "contact", "partial", "partial_reason")
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_HITS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_IS_LOWER_BOUND_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_FIELD_NUMBER: _ClassVar[int]
    TOOK_MS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_NONCE_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_HITS_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_REASON_FIELD_NUMBER: _ClassVar[int]
    agency: str
    hits: _containers.RepeatedCompositeFieldContainer[Hit]
    total_hits: int
    total_is_lower_bound: bool
    disclosure: DisclosureLevel
    took_ms: int
    request_nonce: bytes
    withheld_hits: int
    contact: str
    partial: bool
    partial_reason: str
    def __init__(self, agency: _Optional[str] = ..., hits: _Optional[_Iterable[_Union[Hit, _Mapping]]] = ..., total_hits: _Optional[int] = ..., total_is_lower_bound: _Optional[bool] = ..., disclosure: _Optional[_Union[DisclosureLevel, str]] = ..., took_ms: _Optional[int] = ..., request_nonce: _Optional[bytes] = ..., withheld_hits: _Optional[int] = ..., contact: _Optional[str] = ..., partial: _Optional[bool] = ..., partial_reason: _Optional[str] = ...) -> None: ...

class SignedAnswer(_message.Message):
    __slots__ = ("answer", "signature")
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    answer: bytes
    signature: bytes
    def __init__(self, answer: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class AgencyStatus(_message.Message):
    __slots__ = ("agency", "code", "reason", "latency_ms", "total_hits", "disclosure")
    class Code(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CODE_UNSPECIFIED: _ClassVar[AgencyStatus.Code]
        CODE_OK: _ClassVar[AgencyStatus.Code]
        CODE_TIMEOUT: _ClassVar[AgencyStatus.Code]
        CODE_UNAVAILABLE: _ClassVar[AgencyStatus.Code]
        CODE_REJECTED: _ClassVar[AgencyStatus.Code]
        CODE_ERROR: _ClassVar[AgencyStatus.Code]
        CODE_PARTIAL: _ClassVar[AgencyStatus.Code]
    CODE_UNSPECIFIED: AgencyStatus.Code
    CODE_OK: AgencyStatus.Code
    CODE_TIMEOUT: AgencyStatus.Code
    CODE_UNAVAILABLE: AgencyStatus.Code
    CODE_REJECTED: AgencyStatus.Code
    CODE_ERROR: AgencyStatus.Code
    CODE_PARTIAL: AgencyStatus.Code
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_HITS_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_FIELD_NUMBER: _ClassVar[int]
    agency: str
    code: AgencyStatus.Code
    reason: str
    latency_ms: int
    total_hits: int
    disclosure: DisclosureLevel
    def __init__(self, agency: _Optional[str] = ..., code: _Optional[_Union[AgencyStatus.Code, str]] = ..., reason: _Optional[str] = ..., latency_ms: _Optional[int] = ..., total_hits: _Optional[int] = ..., disclosure: _Optional[_Union[DisclosureLevel, str]] = ...) -> None: ...
