from cets.v1 import search_pb2 as _search_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FederatedSearchRequest(_message.Message):
    __slots__ = ("query", "officer_id", "purpose", "case_reference", "targets", "wait_for_all")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    OFFICER_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_ALL_FIELD_NUMBER: _ClassVar[int]
    query: _search_pb2.Query
    officer_id: str
    purpose: str
    case_reference: str
    targets: _containers.RepeatedScalarFieldContainer[str]
    wait_for_all: bool
    def __init__(self, query: _Optional[_Union[_search_pb2.Query, _Mapping]] = ..., officer_id: _Optional[str] = ..., purpose: _Optional[str] = ..., case_reference: _Optional[str] = ..., targets: _Optional[_Iterable[str]] = ..., wait_for_all: _Optional[bool] = ...) -> None: ...

class AgencyAnswer(_message.Message):
    __slots__ = ("status", "response")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    status: _search_pb2.AgencyStatus
    response: _search_pb2.SearchResponse
    def __init__(self, status: _Optional[_Union[_search_pb2.AgencyStatus, _Mapping]] = ..., response: _Optional[_Union[_search_pb2.SearchResponse, _Mapping]] = ...) -> None: ...

class FederatedSearchResponse(_message.Message):
    __slots__ = ("answers", "took_ms")
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    TOOK_MS_FIELD_NUMBER: _ClassVar[int]
    answers: _containers.RepeatedCompositeFieldContainer[AgencyAnswer]
    took_ms: int
    def __init__(self, answers: _Optional[_Iterable[_Union[AgencyAnswer, _Mapping]]] = ..., took_ms: _Optional[int] = ...) -> None: ...
