import datetime

from cets.v1 import records_pb2 as _records_pb2
from cets.v1 import search_pb2 as _search_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Watch(_message.Message):
    __slots__ = ("selectors", "days")
    SELECTORS_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    selectors: _containers.RepeatedCompositeFieldContainer[_records_pb2.Selector]
    days: int
    def __init__(self, selectors: _Optional[_Iterable[_Union[_records_pb2.Selector, _Mapping]]] = ..., days: _Optional[int] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("watch", "context", "signature", "ticket")
    WATCH_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TICKET_FIELD_NUMBER: _ClassVar[int]
    watch: Watch
    context: _search_pb2.RequestContext
    signature: bytes
    ticket: bytes
    def __init__(self, watch: _Optional[_Union[Watch, _Mapping]] = ..., context: _Optional[_Union[_search_pb2.RequestContext, _Mapping]] = ..., signature: _Optional[bytes] = ..., ticket: _Optional[bytes] = ...) -> None: ...

class WatchReceipt(_message.Message):
    __slots__ = ("agency", "case_reference", "selectors", "expires", "request_nonce")
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    SELECTORS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_NONCE_FIELD_NUMBER: _ClassVar[int]
    agency: str
    case_reference: str
    selectors: int
    expires: _timestamp_pb2.Timestamp
    request_nonce: bytes
    def __init__(self, agency: _Optional[str] = ..., case_reference: _Optional[str] = ..., selectors: _Optional[int] = ..., expires: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_nonce: _Optional[bytes] = ...) -> None: ...

class AlertPull(_message.Message):
    __slots__ = ("cursor", "limit")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    limit: int
    def __init__(self, cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class AlertPullRequest(_message.Message):
    __slots__ = ("pull", "context", "signature", "ticket")
    PULL_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TICKET_FIELD_NUMBER: _ClassVar[int]
    pull: AlertPull
    context: _search_pb2.RequestContext
    signature: bytes
    ticket: bytes
    def __init__(self, pull: _Optional[_Union[AlertPull, _Mapping]] = ..., context: _Optional[_Union[_search_pb2.RequestContext, _Mapping]] = ..., signature: _Optional[bytes] = ..., ticket: _Optional[bytes] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("alert_id", "agency", "case_reference", "disclosure", "hit", "raised")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_FIELD_NUMBER: _ClassVar[int]
    HIT_FIELD_NUMBER: _ClassVar[int]
    RAISED_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    agency: str
    case_reference: str
    disclosure: _search_pb2.DisclosureLevel
    hit: _search_pb2.Hit
    raised: _timestamp_pb2.Timestamp
    def __init__(self, alert_id: _Optional[str] = ..., agency: _Optional[str] = ..., case_reference: _Optional[str] = ..., disclosure: _Optional[_Union[_search_pb2.DisclosureLevel, str]] = ..., hit: _Optional[_Union[_search_pb2.Hit, _Mapping]] = ..., raised: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AlertBatch(_message.Message):
    __slots__ = ("agency", "alerts", "next_cursor", "more", "contact", "request_nonce")
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_NONCE_FIELD_NUMBER: _ClassVar[int]
    agency: str
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    next_cursor: str
    more: bool
    contact: str
    request_nonce: bytes
    def __init__(self, agency: _Optional[str] = ..., alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ..., next_cursor: _Optional[str] = ..., more: _Optional[bool] = ..., contact: _Optional[str] = ..., request_nonce: _Optional[bytes] = ...) -> None: ...

class FederatedWatchRequest(_message.Message):
    __slots__ = ("watch", "officer_id", "purpose", "case_reference", "targets")
    WATCH_FIELD_NUMBER: _ClassVar[int]
    OFFICER_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    watch: Watch
    officer_id: str
    purpose: str
    case_reference: str
    targets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, watch: _Optional[_Union[Watch, _Mapping]] = ..., officer_id: _Optional[str] = ..., purpose: _Optional[str] = ..., case_reference: _Optional[str] = ..., targets: _Optional[_Iterable[str]] = ...) -> None: ...

class WatchOutcome(_message.Message):
    __slots__ = ("status", "receipt")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    status: _search_pb2.AgencyStatus
    receipt: WatchReceipt
    def __init__(self, status: _Optional[_Union[_search_pb2.AgencyStatus, _Mapping]] = ..., receipt: _Optional[_Union[WatchReceipt, _Mapping]] = ...) -> None: ...

class FederatedWatchResponse(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[WatchOutcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[WatchOutcome, _Mapping]]] = ...) -> None: ...

class FederatedAlertPull(_message.Message):
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

class AlertsFrom(_message.Message):
    __slots__ = ("status", "batch")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    status: _search_pb2.AgencyStatus
    batch: AlertBatch
    def __init__(self, status: _Optional[_Union[_search_pb2.AgencyStatus, _Mapping]] = ..., batch: _Optional[_Union[AlertBatch, _Mapping]] = ...) -> None: ...

class FederatedAlerts(_message.Message):
    __slots__ = ("answers",)
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    answers: _containers.RepeatedCompositeFieldContainer[AlertsFrom]
    def __init__(self, answers: _Optional[_Iterable[_Union[AlertsFrom, _Mapping]]] = ...) -> None: ...
