"""Project VIC VICS JSON → ``media_hash`` records.

VICS is an OData JSON document: ``{"odata.metadata" | "@odata.context": URL, "value": [...]}``
(1.x writes ``odata.metadata``, 2.0 ``@odata.context``; the URL names the model version, e.g.
``.../DataModels/2.0.xml/US/$metadata#Media``). ``value`` holds either media directly (a hash
set, ``#Media``) or cases (``#Cases``), each with its media under ``Media``. Both shapes, in
both versions, are read; a medium becomes one ``media_hash`` record (see docs/importers.md for
every field and where it goes).

Project VIC shares the full data model only under agreement, so this reader follows what is
public (the OData conventions the model is built on, and the files open-source forensic tools
read and write) and is tolerant and explicit: a field it does not know is kept in the
record's description when it is a plain value, and rejects its medium, named, when it holds
an object or a list it cannot place.

The file is streamed (``ijson``): memory is bounded by one medium (at most
:data:`MAX_MEDIA_BYTES` of text), not the file. It is read twice — first for the
case-level fields (a case's ``CaseNumber`` may follow its media), then for the media — so the
stream must be seekable. Broken JSON cannot be read past: the media before it are imported
and the error names the last medium read.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import ijson

from cets.search.importers._common import (
    MAX_TEXT,
    Imported,
    ImportItem,
    Note,
    Rejected,
    Settings,
    check_record,
    excerpt,
    iso,
    parse_time,
    shown,
)

__all__ = ["MAX_MEDIA_BYTES", "read_vics"]

MAX_MEDIA_BYTES = 8 * 1024 * 1024
"""A medium (or a case's own fields) holding more text than this is rejected."""
_MAX_DEPTH = 32
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_VERSION = re.compile(r"/DataModels/(\d+(?:\.\d+)*)\.xml", re.IGNORECASE)
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_HASH_LENGTHS = {"md5": 32, "sha1": 40, "pdq": 64}
_NOT_IMPORTED = {
    "photodna": "PhotoDNA is not imported: cets cannot match it and it is licensed for "
    "Project VIC use",
    "miniature": "Miniature (a thumbnail: the image itself) is never imported",
    "thumbnail": "Thumbnail (the image itself) is never imported",
}
"""Known fields left out on purpose; each one left out is noted."""
_ABOUT_FILE = ("created", "written", "accessed", "change", "unallocated", "sourceid")


class _Broken(Exception):
    """The JSON cannot be read past this point."""


class _TooBig:
    """A value that was skipped because it holds too much."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass(slots=True)
class _Header:
    version: str = ""
    metadata_key: str = ""
    cases: dict[int, dict[str, Any]] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)


def read_vics(stream: IO[bytes], settings: Settings) -> Iterator[ImportItem]:
    """Every medium of a VICS JSON file as a record, a rejection, or notes, in file order."""
    start = stream.read(4)
    stream.seek(0)
    if start.startswith(_WIDE_BOMS):
        yield Rejected(
            "file",
            "the file is UTF-16 or UTF-32 (it starts with a byte order mark); convert it to "
            "UTF-8 (iconv -f UTF-16 -t UTF-8)",
            fatal=True,
        )
        return
    header = _Header()
    try:
        for kind, where, value in _walk(_Events(stream), stream_media=False):
            if kind == "meta":
                _take_meta(header, where, value)
            elif kind == "case":
                header.cases[int(where)] = value
    except _Broken:
        pass  # reported, with its place, by the second pass
    stream.seek(0)
    if not header.metadata_key:
        yield Note(
            "file",
            "no odata.metadata or @odata.context: the VICS version is unknown; read as VICS",
        )
    for name in header.other:
        yield Note("file", f"top-level field {shown(name)} is not imported (not part of a medium)")
    last = "the start of the file"
    try:
        for kind, where, value in _walk(_Events(stream), stream_media=True):
            if kind == "media":
                case_index, media = value
                yield from _medium(where, media, header, header.cases.get(case_index), settings)
                last = where
            elif kind == "bad":
                reason, raw = value
                yield Rejected(where, reason, raw)
                last = where
            elif kind == "fatal":
                yield Rejected(where, value, fatal=True)
                return
    except _Broken as exc:
        yield Rejected(f"after {last}", f"{exc}; the rest of the file cannot be read", fatal=True)


def _take_meta(header: _Header, key: str, value: Any) -> None:
    if key in ("odata.metadata", "@odata.context"):
        header.metadata_key = key
        match = _VERSION.search(value) if isinstance(value, str) else None
        header.version = match.group(1) if match else ""
    elif not _is_annotation(key):
        header.other.append(key)


def _is_annotation(key: str) -> bool:
    """OData protocol annotations (``odata.id``, ``@odata.etag``, ``X@odata.navigationLinkUrl``):
    links within the source document, not data about a medium."""
    return key.startswith(("odata.", "@odata.")) or "@odata." in key


# --- streaming the document -------------------------------------------------------------------


class _Events:
    """ijson's events with one to put back; a JSON error becomes :class:`_Broken` without the
    input (yajl quotes the text around an error, and that text may be a hash or a name)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._events = ijson.basic_parse(stream, use_float=True)
        self._back: tuple[str, Any] | None = None

    def next(self) -> tuple[str, Any]:
        if self._back is not None:
            item, self._back = self._back, None
            return item
        try:
            return next(self._events)  # type: ignore[no-any-return]
        except StopIteration:
            raise _Broken("invalid JSON: the file ends in the middle of the document") from None
        except ijson.JSONError as exc:
            raise _Broken(_json_reason(exc)) from None
        except UnicodeDecodeError:
            raise _Broken("not valid UTF-8") from None

    def end(self) -> None:
        """The document is complete: nothing may follow it."""
        try:
            extra = next(self._events, None)
        except ijson.JSONError as exc:
            raise _Broken(_json_reason(exc)) from None
        if extra is not None:
            raise _Broken("invalid JSON: more data after the document")


def _json_reason(exc: Exception) -> str:
    lines = str(exc).splitlines()
    first = re.sub(r"'[^']*'|\"[^\"]*\"", "...", lines[0] if lines else "")[:100]
    if "premature EOF" in first:
        return "invalid JSON: the file ends in the middle of the document"
    return f"invalid JSON ({first})" if first else "invalid JSON"


_Walked = tuple[str, str, Any]


def _walk(events: _Events, *, stream_media: bool) -> Iterator[_Walked]:
    """``("meta", key, value)`` for top-level fields, ``("case", index, fields)`` for each
    case's own fields, ``("media", location, (case index, medium))``, ``("bad", location,
    (reason, raw))`` and ``("fatal", location, reason)``. Media are built only when
    ``stream_media``."""
    event, _ = events.next()
    if event != "start_map":
        yield (
            "fatal",
            "file",
            'not a VICS document: the top level must be a JSON object ({"value": [...]})',
        )
        return
    saw_value = False
    while True:
        event, key = events.next()
        if event == "end_map":
            break
        if key == "value":
            saw_value = True
            event, _ = events.next()
            if event != "start_array":
                _skip(events, event)
                yield ("fatal", "value", "not a VICS document: value must be a list")
                return
            yield from _items(events, stream_media)
        else:
            yield ("meta", key, _build(events, events.next(), _Budget()))
    events.end()
    if not saw_value:
        yield ("fatal", "file", "not a VICS document: it has no value list")


def _items(events: _Events, stream_media: bool) -> Iterator[_Walked]:
    index = 0
    while True:
        event, value = events.next()
        if event == "end_array":
            return
        where = f"value[{index}]"
        if event != "start_map":
            raw = _build(events, (event, value), _Budget())
            yield ("bad", where, ("not a JSON object (a medium or a case)", _raw(raw)))
        else:
            yield from _item(events, where, index, stream_media)
        index += 1


def _item(events: _Events, where: str, index: int, stream_media: bool) -> Iterator[_Walked]:
    """One entry of ``value``: a case (it has ``Media``) or a medium."""
    fields: dict[str, Any] = {}
    budget = _Budget()
    is_case = False
    while True:
        event, key = events.next()
        if event == "end_map":
            break
        first = events.next()
        if key.lower() == "media" and first[0] == "start_array":
            is_case = True
            yield from _case_media(events, f"{where}.Media", index, stream_media)
            continue
        value = _build(events, first, budget)
        if isinstance(value, _TooBig):
            _skip_rest(events, "end_map")
            if stream_media and not is_case:
                yield ("media", where, (None, value))
            return
        fields[key] = value
    if is_case:
        yield ("case", str(index), {k: v for k, v in fields.items() if k != "Media"})
    elif stream_media:
        yield ("media", where, (None, fields))


def _case_media(events: _Events, where: str, index: int, stream_media: bool) -> Iterator[_Walked]:
    number = 0
    while True:
        event, value = events.next()
        if event == "end_array":
            return
        at = f"{where}[{number}]"
        number += 1
        if not stream_media:
            _skip(events, event)
            continue
        if event != "start_map":
            raw = _build(events, (event, value), _Budget())
            yield ("bad", at, ("not a JSON object (a medium)", _raw(raw)))
            continue
        yield ("media", at, (index, _build(events, (event, value), _Budget())))


class _Budget:
    """How much text one medium may hold."""

    def __init__(self) -> None:
        self.left = MAX_MEDIA_BYTES

    def spend(self, amount: int) -> bool:
        self.left -= amount
        return self.left >= 0


def _build(events: _Events, first: tuple[str, Any], budget: _Budget, depth: int = 0) -> Any:
    """The value that starts with ``first``, or a :class:`_TooBig` (its events consumed)."""
    event, value = first
    if event == "start_map":
        if depth >= _MAX_DEPTH:
            _skip(events, event)
            return _TooBig(f"nested deeper than {_MAX_DEPTH} levels")
        result: dict[str, Any] = {}
        while True:
            event, key = events.next()
            if event == "end_map":
                return result
            item = _build(events, events.next(), budget, depth + 1)
            if isinstance(item, _TooBig):
                _skip_rest(events, "end_map")
                return item
            if not budget.spend(len(key)):
                _skip_rest(events, "end_map")
                return _TooBig(f"holds more than {MAX_MEDIA_BYTES // (1024 * 1024)} MiB")
            result[key] = item
    if event == "start_array":
        if depth >= _MAX_DEPTH:
            _skip(events, event)
            return _TooBig(f"nested deeper than {_MAX_DEPTH} levels")
        items: list[Any] = []
        while True:
            following = events.next()
            if following[0] == "end_array":
                return items
            item = _build(events, following, budget, depth + 1)
            if isinstance(item, _TooBig):
                _skip_rest(events, "end_array")
                return item
            items.append(item)
    if isinstance(value, str) and not budget.spend(len(value)):
        return _TooBig(f"holds more than {MAX_MEDIA_BYTES // (1024 * 1024)} MiB")
    budget.spend(8)
    return value


def _skip(events: _Events, event: str) -> None:
    if event == "start_map":
        _skip_rest(events, "end_map")
    elif event == "start_array":
        _skip_rest(events, "end_array")


def _skip_rest(events: _Events, closing: str) -> None:
    depth = 1
    while depth:
        event, _ = events.next()
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1


def _raw(value: Any) -> str:
    if isinstance(value, _TooBig):
        return ""
    try:
        return excerpt(json.dumps(value, ensure_ascii=False, default=str))
    except (TypeError, ValueError, RecursionError):
        return ""


# --- one medium → one record ------------------------------------------------------------------


class _Reject(Exception):
    pass


@dataclass(slots=True)
class _Medium:
    """What one medium becomes, gathered field by field."""

    where: str
    hashes: dict[str, str] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created: str | None = None

    def hash(self, kind: str, label: str, value: Any) -> None:
        if value is None or value == "":
            return
        if not isinstance(value, str):
            raise _Reject(f"{label}: must be a hexadecimal string")
        text = value.strip()
        length = _HASH_LENGTHS[kind]
        if len(text) != length or not _HEX.match(text):
            raise _Reject(f"{label}: not a {kind.upper()} ({length} hexadecimal digits)")
        text = text.lower()
        if self.hashes.setdefault(kind, text) != text:
            raise _Reject(f"{label}: differs from the medium's {kind.upper()}")

    def line(self, label: str, value: Any) -> None:
        self.lines.append(f"{label}: {_text(value)}")


def _medium(
    where: str,
    media: Any,
    header: _Header,
    case: dict[str, Any] | None,
    settings: Settings,
) -> Iterator[ImportItem]:
    if isinstance(media, _TooBig):
        yield Rejected(where, f"the medium {media.reason}")
        return
    medium = _Medium(where)
    try:
        record = _record(medium, media, header, case, settings)
    except _Reject as exc:
        yield Rejected(where, str(exc), _raw(media))
        return
    problem = check_record(record, settings)
    if problem:
        yield Rejected(where, problem, _raw(media))
        return
    for note in medium.notes:
        yield Note(where, note)
    yield Imported(where, record)


def _record(
    medium: _Medium,
    media: dict[str, Any],
    header: _Header,
    case: dict[str, Any] | None,
    settings: Settings,
) -> dict[str, Any]:
    version = f"VICS {header.version}" if header.version else "VICS"
    media_id = _get(media, "MediaID")
    medium.lines.append(
        f"Project VIC {version} medium"
        + (f" {_text(media_id)}" if media_id not in (None, "") else "")
    )
    medium.line("Category", _get(media, "Category"))
    handled = {"mediaid", "category"}
    for key, value in media.items():
        lowered = key.lower()
        if lowered in handled or _is_annotation(key):
            continue
        handler = _FIELDS.get(lowered)
        if handler is not None:
            handler(medium, key, value)
        elif lowered in _NOT_IMPORTED:
            if value not in (None, "", []):
                medium.notes.append(_NOT_IMPORTED[lowered])
        else:
            _keep(medium, key, value)
    if not medium.hashes:
        raise _Reject("no MD5 or SHA1: a medium needs at least one hash")
    record: dict[str, Any] = {"type": "media_hash", "source": "vics", **medium.hashes}
    created = parse_time(medium.created) if medium.created else None
    case_fields = _case_fields(case, medium)
    record["created"] = iso(created or case_fields.pop("created", None) or settings.created)
    record.update(case_fields)
    names = list(dict.fromkeys(n for n in medium.names if n))
    if names:
        if len(names[0]) <= 256:
            record["filename"] = names.pop(0)
        if names:
            medium.lines.append("Other file names: " + "; ".join(names))
    description = "\n".join(medium.lines)
    if len(description) > MAX_TEXT:
        raise _Reject(f"the fields kept in the description come to more than {MAX_TEXT} characters")
    record["description"] = description
    return record


def _case_fields(case: dict[str, Any] | None, medium: _Medium) -> dict[str, Any]:
    if not case:
        return {}
    found: dict[str, Any] = {}
    number = _get(case, "CaseNumber")
    if isinstance(number, str | int) and str(number).strip():
        text = str(number).strip()
        if len(text) <= 64:
            found["case_ref"] = text
        else:
            medium.line("Case number", text)
            medium.notes.append("CaseNumber is longer than a case_ref (64); kept in description")
    seized = _get(case, "SeizureDate")
    if isinstance(seized, str) and (when := parse_time(seized)):
        found["created"] = when
    return found


def _get(mapping: dict[str, Any], name: str) -> Any:
    lowered = name.lower()
    for key, value in mapping.items():
        if key.lower() == lowered:
            return value
    return None


def _text(value: Any) -> str:
    """A value as written in a description. Numbers get thousands separators so that the
    text scanner cannot take a file size or a media id for a phone number."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) < 1e18 else repr(value)
    return str(value)


def _keep(medium: _Medium, label: str, value: Any) -> None:
    """An unknown field: a plain value is kept in the description; an object or a list
    cannot be placed, and rejects the medium with the field named."""
    if isinstance(value, dict | list):
        if value in ({}, []):
            return
        raise _Reject(
            f"{shown(label)}: unknown field holding an object or a list; it cannot be placed "
            "in a media_hash record (remove or flatten it)"
        )
    if value is None or value == "":
        return
    medium.line(shown(label), value)


def _hash_field(kind: str) -> Callable[[_Medium, str, Any], None]:
    def handle(medium: _Medium, key: str, value: Any) -> None:
        medium.hash(kind, shown(key), value)

    return handle


def _file_name(medium: _Medium, key: str, value: Any) -> None:
    if isinstance(value, str) and value.strip():
        medium.names.append(value.strip())
    else:
        _keep(medium, key, value)


def _relative_path(medium: _Medium, key: str, value: Any) -> None:
    if isinstance(value, str) and value.strip():
        path = value.strip()
        medium.line(shown(key), path)
        medium.names.append(posixpath.basename(path.replace("\\", "/")))
    else:
        _keep(medium, key, value)


def _date_updated(medium: _Medium, key: str, value: Any) -> None:
    if isinstance(value, str) and parse_time(value):
        medium.created = value
    elif value not in (None, ""):
        medium.notes.append(f"{shown(key)} is not an ISO 8601 time; kept in description")
    if value not in (None, ""):
        medium.line(shown(key), value)


def _media_files(medium: _Medium, key: str, value: Any) -> None:
    if not isinstance(value, list):
        raise _Reject(f"{shown(key)}: must be a list of files")
    for index, item in enumerate(value):
        label = f"{shown(key)}[{index}]"
        if not isinstance(item, dict):
            raise _Reject(f"{label}: must be an object")
        parts: list[str] = []
        for name, part in item.items():
            lowered = name.lower()
            if _is_annotation(name) or part in (None, ""):
                continue
            if lowered == "filename" and isinstance(part, str):
                medium.names.append(part.strip())
            elif lowered == "filepath" and isinstance(part, str):
                parts.append(f"path {part}")
            elif lowered == "md5":
                medium.hash("md5", f"{label}.{shown(name)}", part)
            elif lowered == "sha1":
                medium.hash("sha1", f"{label}.{shown(name)}", part)
            elif isinstance(part, dict | list):
                if part in ({}, []):
                    continue
                raise _Reject(
                    f"{label}.{shown(name)}: unknown field holding an object or a list; it "
                    "cannot be placed in a media_hash record (remove or flatten it)"
                )
            else:
                name_shown = name if lowered in _ABOUT_FILE else shown(name)
                parts.append(f"{name_shown} {_text(part)}")
        if parts:
            medium.lines.append(f"File {index + 1}: " + ", ".join(parts))


def _alternative_hashes(medium: _Medium, key: str, value: Any) -> None:
    if not isinstance(value, list):
        raise _Reject(f"{shown(key)}: must be a list")
    for index, item in enumerate(value):
        label = f"{shown(key)}[{index}]"
        if not isinstance(item, dict):
            raise _Reject(f"{label}: must be an object")
        name = _get(item, "HashName")
        hash_value = _get(item, "HashValue")
        kind = name.strip().lower() if isinstance(name, str) else ""
        if kind in _HASH_LENGTHS:
            medium.hash(kind, f"{label}.HashValue", hash_value)
        elif kind == "photodna":
            medium.notes.append(_NOT_IMPORTED["photodna"])
        elif hash_value not in (None, ""):
            medium.line(f"Alternative hash {shown(str(name))}", hash_value)


def _exifs(medium: _Medium, key: str, value: Any) -> None:
    if not isinstance(value, list):
        raise _Reject(f"{shown(key)}: must be a list")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise _Reject(f"{shown(key)}[{index}]: must be an object")
        name = _get(item, "PropertyName")
        prop = _get(item, "PropertyValue")
        if name not in (None, "") and prop not in (None, ""):
            medium.line(f"EXIF {_text(name)}", prop)


_FIELDS: dict[str, Callable[[_Medium, str, Any], None]] = {
    "md5": _hash_field("md5"),
    "sha1": _hash_field("sha1"),
    "pdq": _hash_field("pdq"),
    "filename": _file_name,
    "name": _file_name,
    "relativefilepath": _relative_path,
    "dateupdated": _date_updated,
    "mediafiles": _media_files,
    "alternativehashes": _alternative_hashes,
    "exifs": _exifs,
}
