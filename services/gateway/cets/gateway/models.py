"""The REST API's request and response bodies (they make the published OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from cets.core.convert import MAX_SELECTOR_CHARS

__all__ = [
    "AgencyOut",
    "ErrorOut",
    "EvidenceOut",
    "HitOut",
    "ImageHashOut",
    "ImageIn",
    "LinkOut",
    "PivotIn",
    "QueryIn",
    "SearchIn",
    "SearchOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


MAX_SELECTOR_KEY = len("username:") + MAX_SELECTOR_CHARS
"""Longest ``KIND:VALUE`` the gateway takes: the kind, a colon and the core's longest value.
The gateway checks each value itself (400, naming the selector); the schema documents it."""
_SELECTOR_ITEMS: JsonDict = {"items": {"type": "string", "maxLength": MAX_SELECTOR_KEY}}
AgencyId = Annotated[str, Field(min_length=1, max_length=48)]


class ImageIn(_In):
    pdq: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=8,
        description="PDQ hashes (64 hex digits): the image's, or its 8 dihedral variants to "
        "find rotated and mirrored copies too (POST /v1/images/hash gives them).",
    )
    max_distance: int = Field(
        default=31, ge=0, le=64, description="Hamming distance in bits of 256 (PDQ's match: 31)."
    )
    md5: str = Field(default="", max_length=32, description="The file's MD5: identical copies.")
    sha1: str = Field(default="", max_length=40, description="The file's SHA-1.")


class QueryIn(_In):
    text: str = Field(default="", max_length=1000, description="Free text; quotes, - and | work.")
    selectors: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="Exact identifiers as KIND:VALUE, e.g. email:a@b.org, phone:+14165550142.",
        json_schema_extra=_SELECTOR_ITEMS,
    )
    name: str = Field(
        default="", max_length=200, description="A person's name (fuzzy and phonetic)."
    )
    types: list[str] = Field(default_factory=list, max_length=10, description="Record types.")
    created_from: datetime | None = None
    created_to: datetime | None = None
    image: ImageIn | None = Field(
        default=None, description="Near-duplicate images, by their hashes (never the image)."
    )


class _Why(_In):
    purpose: str = Field(min_length=3, max_length=512, description="Why you search (audited).")
    case_reference: str = Field(min_length=1, max_length=128, description="Your case.")
    targets: list[AgencyId] = Field(
        default_factory=list, max_length=500, description="Agency ids; empty: every partner."
    )
    wait_for_all: bool = Field(
        default=False,
        description="Wait for every agency until the deadline. Without it, a search of 20 "
        "agencies or more stops waiting for the last few once nearly all have answered; "
        "those are reported as timeouts.",
    )
    page_size: int = Field(default=20, ge=1, le=50)
    cursor: str | None = Field(default=None, max_length=4096, description="From the previous page.")


class SearchIn(_Why):
    query: QueryIn


class PivotIn(_Why):
    selectors: list[str] = Field(
        min_length=1,
        max_length=64,
        description="A record's selectors (KIND:VALUE) to search for.",
        json_schema_extra=_SELECTOR_ITEMS,
    )


class ErrorOut(BaseModel):
    """Every error: a 4xx (or 502/503/504 when partners fail) with what is wrong."""

    error: str


class HitOut(BaseModel):
    agency: str
    record_id: str
    type: str
    disclosure: str
    rank: int = Field(description="Position in the merged list (1-based).")
    agency_rank: int
    exact: bool = Field(description="The record holds one of the searched identifiers.")
    title: str
    created: str | None
    matched_selectors: list[str]
    selectors: list[str]
    highlights: dict[str, list[str]]
    record: dict[str, Any] | None = Field(description="The record, when released in full.")
    distance: int | None = Field(
        default=None,
        description="With an image query: the record's PDQ hash's Hamming distance to the "
        "image (0-256; 0 also for the same MD5 or SHA-1), comparable across agencies.",
    )
    similarity: float | None = Field(
        default=None, description="With an image query: the share of the 256 bits in common."
    )
    variant: str | None = Field(
        default=None,
        description="With dihedral hashes: how the record's copy is turned, e.g. 'mirrored'.",
    )


class ImageHashOut(BaseModel):
    """An image's hashes, computed at this gateway; the image itself is not kept."""

    md5: str
    sha1: str
    pdq: str
    quality: int = Field(description="PDQ's quality, 0-100.")
    low_quality: bool = Field(description="Quality below 50: the PDQ is unreliable.")
    width: int
    height: int
    format: str
    dihedral: list[str] = Field(description="The 8 hashes of its rotations and flips.")
    dihedral_names: list[str]


class AgencyOut(BaseModel):
    agency: str
    status: str = Field(
        description="ok, partial (answered, but its search was incomplete: see reason), "
        "timeout, unavailable, rejected or error."
    )
    reason: str
    latency_ms: int
    total_hits: int
    withheld_hits: int
    disclosure: str
    contact: str


class EvidenceOut(BaseModel):
    selector: str
    records: list[tuple[str, str]]


class LinkOut(BaseModel):
    id: str
    agencies: list[str]
    records: list[tuple[str, str]]
    selectors: list[str]
    evidence: list[EvidenceOut]


class SearchOut(BaseModel):
    results: list[HitOut]
    agencies: list[AgencyOut]
    links: list[LinkOut]
    next_cursor: str | None
    took_ms: int
