import datetime

from cets.v1 import records_pb2 as _records_pb2
from cets.v1 import search_pb2 as _search_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Release(_message.Message):
    __slots__ = ("record_id", "selectors", "message")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    SELECTORS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    selectors: _containers.RepeatedCompositeFieldContainer[_records_pb2.Selector]
    message: str
    def __init__(self, record_id: _Optional[str] = ..., selectors: _Optional[_Iterable[_Union[_records_pb2.Selector, _Mapping]]] = ..., message: _Optional[str] = ...) -> None: ...

class ReleaseRequest(_message.Message):
    __slots__ = ("release", "context", "signature", "ticket")
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TICKET_FIELD_NUMBER: _ClassVar[int]
    release: Release
    context: _search_pb2.RequestContext
    signature: bytes
    ticket: bytes
    def __init__(self, release: _Optional[_Union[Release, _Mapping]] = ..., context: _Optional[_Union[_search_pb2.RequestContext, _Mapping]] = ..., signature: _Optional[bytes] = ..., ticket: _Optional[bytes] = ...) -> None: ...

class ReleaseReceipt(_message.Message):
    __slots__ = ("agency", "release_id", "request_nonce")
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_NONCE_FIELD_NUMBER: _ClassVar[int]
    agency: str
    release_id: str
    request_nonce: bytes
    def __init__(self, agency: _Optional[str] = ..., release_id: _Optional[str] = ..., request_nonce: _Optional[bytes] = ...) -> None: ...

class DecisionPull(_message.Message):
    __slots__ = ("cursor", "limit")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    limit: int
    def __init__(self, cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class DecisionPullRequest(_message.Message):
    __slots__ = ("pull", "context", "signature", "ticket")
    PULL_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TICKET_FIELD_NUMBER: _ClassVar[int]
    pull: DecisionPull
    context: _search_pb2.RequestContext
    signature: bytes
    ticket: bytes
    def __init__(self, pull: _Optional[_Union[DecisionPull, _Mapping]] = ..., context: _Optional[_Union[_search_pb2.RequestContext, _Mapping]] = ..., signature: _Optional[bytes] = ..., ticket: _Optional[bytes] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("release_id", "agency", "case_reference", "outcome", "level", "record_ids", "expires", "reason", "decided")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[Decision.Outcome]
        OUTCOME_APPROVED: _ClassVar[Decision.Outcome]
        OUTCOME_DENIED: _ClassVar[Decision.Outcome]
    OUTCOME_UNSPECIFIED: Decision.Outcome
    OUTCOME_APPROVED: Decision.Outcome
    OUTCOME_DENIED: Decision.Outcome
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DECIDED_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    agency: str
    case_reference: str
    outcome: Decision.Outcome
    level: _search_pb2.DisclosureLevel
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    expires: _timestamp_pb2.Timestamp
    reason: str
    decided: _timestamp_pb2.Timestamp
    def __init__(self, release_id: _Optional[str] = ..., agency: _Optional[str] = ..., case_reference: _Optional[str] = ..., outcome: _Optional[_Union[Decision.Outcome, str]] = ..., level: _Optional[_Union[_search_pb2.DisclosureLevel, str]] = ..., record_ids: _Optional[_Iterable[str]] = ..., expires: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., decided: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DecisionBatch(_message.Message):
    __slots__ = ("agency", "decisions", "next_cursor", "more", "request_nonce")
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_NONCE_FIELD_NUMBER: _ClassVar[int]
    agency: str
    decisions: _containers.RepeatedCompositeFieldContainer[Decision]
    next_cursor: str
    more: bool
    request_nonce: bytes
    def __init__(self, agency: _Optional[str] = ..., decisions: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ..., next_cursor: _Optional[str] = ..., more: _Optional[bool] = ..., request_nonce: _Optional[bytes] = ...) -> None: ...

class FederatedReleaseRequest(_message.Message):
    __slots__ = ("release", "agency", "officer_id", "purpose", "case_reference")
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    OFFICER_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    release: Release
    agency: str
    officer_id: str
    purpose: str
    case_reference: str
    def __init__(self, release: _Optional[_Union[Release, _Mapping]] = ..., agency: _Optional[str] = ..., officer_id: _Optional[str] = ..., purpose: _Optional[str] = ..., case_reference: _Optional[str] = ...) -> None: ...

class FederatedReleaseResponse(_message.Message):
    __slots__ = ("status", "receipt")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    status: _search_pb2.AgencyStatus
    receipt: ReleaseReceipt
    def __init__(self, status: _Optional[_Union[_search_pb2.AgencyStatus, _Mapping]] = ..., receipt: _Optional[_Union[ReleaseReceipt, _Mapping]] = ...) -> None: ...

class FederatedDecisionPull(_message.Message):
    __slots__ = ("cursors", "targets", "limit")
    class CursorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CURSORS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    cursors: _containers.ScalarMap[str, str]
    targets: _containers.RepeatedScalarFieldContainer[str]
    limit: int
    def __init__(self, cursors: _Optional[_Mapping[str, str]] = ..., targets: _Optional[_Iterable[str]] = ..., limit: _Optional[int] = ...) -> None: ...

class DecisionsFrom(_message.Message):
    __slots__ = ("status", "batch")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    status: _search_pb2.AgencyStatus
    batch: DecisionBatch
    def __init__(self, status: _Optional[_Union[_search_pb2.AgencyStatus, _Mapping]] = ..., batch: _Optional[_Union[DecisionBatch, _Mapping]] = ...) -> None: ...

class FederatedDecisions(_message.Message):
    __slots__ = ("answers",)
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    answers: _containers.RepeatedCompositeFieldContainer[DecisionsFrom]
    def __init__(self, answers: _Optional[_Iterable[_Union[DecisionsFrom, _Mapping]]] = ...) -> None: ...

class HeldReleasesQuery(_message.Message):
    __slots__ = ("status", "limit")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    status: str
    limit: int
    def __init__(self, status: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class HeldReleaseId(_message.Message):
    __slots__ = ("release_id",)
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    def __init__(self, release_id: _Optional[str] = ...) -> None: ...

class ReleaseDecision(_message.Message):
    __slots__ = ("release_id", "approve", "level", "days", "reason")
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    approve: bool
    level: _search_pb2.DisclosureLevel
    days: int
    reason: str
    def __init__(self, release_id: _Optional[str] = ..., approve: _Optional[bool] = ..., level: _Optional[_Union[_search_pb2.DisclosureLevel, str]] = ..., days: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class HeldRelease(_message.Message):
    __slots__ = ("release_id", "requester", "officer", "purpose", "case_reference", "record_ids", "message", "status", "level", "expires", "reason", "requested", "decided", "decided_by")
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    OFFICER_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_FIELD_NUMBER: _ClassVar[int]
    DECIDED_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    requester: str
    officer: str
    purpose: str
    case_reference: str
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    message: str
    status: str
    level: _search_pb2.DisclosureLevel
    expires: str
    reason: str
    requested: str
    decided: str
    decided_by: str
    def __init__(self, release_id: _Optional[str] = ..., requester: _Optional[str] = ..., officer: _Optional[str] = ..., purpose: _Optional[str] = ..., case_reference: _Optional[str] = ..., record_ids: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ..., status: _Optional[str] = ..., level: _Optional[_Union[_search_pb2.DisclosureLevel, str]] = ..., expires: _Optional[str] = ..., reason: _Optional[str] = ..., requested: _Optional[str] = ..., decided: _Optional[str] = ..., decided_by: _Optional[str] = ...) -> None: ...

class HeldReleases(_message.Message):
    __slots__ = ("releases",)
    RELEASES_FIELD_NUMBER: _ClassVar[int]
    releases: _containers.RepeatedCompositeFieldContainer[HeldRelease]
    def __init__(self, releases: _Optional[_Iterable[_Union[HeldRelease, _Mapping]]] = ...) -> None: ...
