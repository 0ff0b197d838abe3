"""NCMEC CyberTipline report XML → ``tip`` records.

The element names are those of the CyberTipline Reporting API's report schema (NCMEC
publishes the API documentation; the schema itself is served to registered reporters at
``/xsd``): a ``<report>`` with ``incidentSummary``, ``internetDetails``, ``reporter``,
``personOrUserReported``, ``intendedRecipient``, ``victim``, ``lawEnforcement`` and
``additionalInfo``. One ``<report>`` is one tip; a file may also hold several ``<report>``
elements under one root. Namespaces are ignored.

From the report, the tip takes the reported person's and the incident's identifiers (e-mails,
screen names, phones, IP addresses, URLs, names), the incident time, and everything else of
the imported sections as lines of its text, element by element, so an element this reader does
not know is kept, not lost. Identifiers that do not normalise are kept in the text too (with a
note). Left out on purpose, with a note: the reporting company's contact people, the law
enforcement officer's contact details, and the victims' and intended recipients' sections —
they describe people who are not the reported person and must not become search selectors.

XML is parsed with ``defusedxml``: a document type declaration, entities and external
references are refused (no XXE, no entity expansion). Parsing is streamed; memory is bounded by
one report (:data:`MAX_REPORT_CHARS`).
"""

from __future__ import annotations

import re
import xml.sax
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from xml.sax.expatreader import ExpatLocator

from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from cets.core.selectors import SelectorKind
from cets.search.importers._common import (
    MAX_LIST,
    MAX_TEXT,
    Imported,
    ImportItem,
    Note,
    Rejected,
    Settings,
    check_record,
    excerpt,
    iso,
    normalises,
    parse_time,
    shown,
)

__all__ = ["MAX_REPORT_CHARS", "read_cybertip"]

MAX_REPORT_CHARS = 4 * 1024 * 1024
"""A report holding more text than this is rejected."""
_CHUNK = 64 * 1024
_REPORT = "report"
_SKIPPED = {
    "reporter": "reporter: the reporting company's contact details are not imported",
    "victim": "victim: not imported (victims' details must not become search selectors)",
    "intendedRecipient": "intendedRecipient: not imported (intended recipients' details must "
    "not become search selectors)",
    "officerContact": "lawEnforcement/officerContact: the officer's contact details are not "
    "imported",
}
_ID_ELEMENTS = ("reportId", "reportID", "reportNumber", "cyberTiplineReportId")
_ID = re.compile(r"^[A-Za-z0-9._:@/-]{1,100}$")
_EMAILS = {"email", "emailAddress"}
_PHONES = {"phone", "phoneNumber"}
_URLS = {"url", "profileUrl"}
_USERNAMES = {"screenName"}


@dataclass(slots=True)
class _El:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_El] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts).strip()

    def child(self, tag: str) -> _El | None:
        return next((c for c in self.children if c.tag == tag), None)


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1].rsplit("}", 1)[-1]


class _Handler(xml.sax.handler.ContentHandler):
    """Builds one report at a time (a root ``<report>``, or the ``<report>`` children of a
    root); finished reports wait in ``ready``."""

    def __init__(self) -> None:
        super().__init__()
        self.ready: list[tuple[str, _El | str]] = []
        self.root: str | None = None
        self.reports = 0
        self._depth = 0
        self._stack: list[_El] = []
        self._size = 0
        self._too_big = False
        self._where: Any = None

    def setDocumentLocator(self, locator: Any) -> None:
        self._where = locator

    def startElement(self, name: str, attrs: Any) -> None:
        tag = _local(name)
        if self._depth == 0:
            self.root = tag
        if self._stack or (tag == _REPORT and self._depth <= 1):
            line = self._where.getLineNumber() if self._where else 0
            element = _El(tag, {_local(k): v for k, v in attrs.items()}, line)
            if not self._stack:
                self._size, self._too_big = 0, False
                self.reports += 1
            elif not self._too_big:
                self._stack[-1].children.append(element)
            self._stack.append(element)
            self._spend(len(tag) + sum(len(k) + len(v) for k, v in element.attrs.items()))
        elif self._depth == 1:
            self.ready.append(("outside", tag))
        self._depth += 1

    def endElement(self, name: str) -> None:
        self._depth -= 1
        if self._stack:
            element = self._stack.pop()
            if not self._stack:
                self.ready.append(("too big" if self._too_big else "report", element))

    def characters(self, content: str) -> None:
        if self._stack and not self._too_big:
            self._stack[-1].parts.append(content)
            self._spend(len(content))

    def _spend(self, amount: int) -> None:
        self._size += amount
        if self._size > MAX_REPORT_CHARS:
            self._too_big = True


def read_cybertip(stream: IO[bytes], settings: Settings) -> Iterator[ImportItem]:
    """Every ``<report>`` in a CyberTipline XML file as a tip record, a rejection, or notes."""
    handler = _Handler()
    parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setContentHandler(handler)
    handler.setDocumentLocator(ExpatLocator(parser))  # feed() does not set it, parse() would
    try:
        while chunk := stream.read(_CHUNK):
            parser.feed(chunk)
            yield from _ready(handler, settings)
        parser.close()
    except xml.sax.SAXParseException as exc:
        yield from _ready(handler, settings)
        where = f"line {exc.getLineNumber()}, column {(exc.getColumnNumber() or 0) + 1}"
        yield Rejected(
            where,
            f"not well-formed XML: {exc.getMessage()}; the rest of the file cannot be read",
            fatal=True,
        )
        return
    except DefusedXmlException as exc:
        what = type(exc).__name__.removesuffix("Forbidden").lower() or "declaration"
        yield Rejected(
            "file",
            f"the XML declares {'a DTD' if what == 'dtd' else what + ' definitions'}, which is "
            "refused (protection against entity expansion and external entities): a "
            "CyberTipline report needs no DOCTYPE",
            fatal=True,
        )
        return
    yield from _ready(handler, settings)
    if handler.reports == 0:
        found = f"the root element is <{shown(handler.root)}>" if handler.root else "no element"
        yield Rejected(
            "file",
            f"not a CyberTipline report: {found}, and no <report> was found",
            fatal=True,
        )


def _ready(handler: _Handler, settings: Settings) -> Iterator[ImportItem]:
    items, handler.ready = handler.ready, []
    for kind, value in items:
        if isinstance(value, str):
            yield Note("file", f"<{shown(value)}> outside a <report> is not imported")
        else:
            yield from _one(value, settings, too_big=kind == "too big")


def _one(report: _El, settings: Settings, *, too_big: bool) -> Iterator[ImportItem]:
    where = f"report at line {report.line}"
    if too_big:
        yield Rejected(where, f"the report holds more than {MAX_REPORT_CHARS} characters")
        return
    tip = _Tip(settings)
    record = tip.build(report)
    if isinstance(record, str):
        yield Rejected(where, record, excerpt(_xml(report)))
        return
    problem = check_record(record, settings)
    if problem:
        yield Rejected(where, problem, excerpt(_xml(report)))
        return
    for note in dict.fromkeys(tip.notes):
        yield Note(where, note)
    yield Imported(where, record)


class _Tip:
    """One report, gathered into a tip's fields."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lists: dict[str, list[str]] = {
            k: [] for k in ("names", "emails", "usernames", "phones", "ips", "urls")
        }
        self.lines: list[str] = []
        self.notes: list[str] = []
        self.created: str | None = None
        self.report_id: str | None = None

    def build(self, report: _El) -> dict[str, Any] | str:
        self._walk_children(report, "")
        if not self.lines and not any(self.lists.values()):
            return "the report is empty: no incident, person or internet details"
        record: dict[str, Any] = {"type": "tip", "source": "cybertip"}
        if self.report_id:
            record["id"] = f"cybertip:{self.report_id}"
        when = parse_time(self.created) if self.created else None
        if self.created and when is None:
            self.notes.append("incidentSummary/incidentDateTime is not an ISO 8601 time")
        record["created"] = iso(when or self.settings.created)
        record["reporter"] = "NCMEC CyberTipline"
        heading = "NCMEC CyberTipline report" + (f" {self.report_id}" if self.report_id else "")
        text = "\n".join([heading, *self.lines])
        if len(text) > MAX_TEXT:
            return (
                f"text: the report's details come to more than {MAX_TEXT} characters, more "
                "than a tip holds"
            )
        record["text"] = text
        for name, values in self.lists.items():
            if values:
                record[name] = values
        return record

    # --- walking ---

    def _walk_children(self, element: _El, path: str) -> None:
        counts: dict[str, int] = {}
        for child in element.children:
            counts[child.tag] = counts.get(child.tag, 0) + 1
        seen: dict[str, int] = {}
        for child in element.children:
            seen[child.tag] = seen.get(child.tag, 0) + 1
            index = f"[{seen[child.tag]}]" if counts[child.tag] > 1 else ""
            self._walk(child, f"{path}/{child.tag}{index}" if path else child.tag + index)

    def _walk(self, element: _El, path: str) -> None:
        tag = element.tag
        if tag in _SKIPPED:
            self.notes.append(_SKIPPED[tag])
            return
        if not path.count("/") and tag in _ID_ELEMENTS:
            if _ID.match(element.text):
                self.report_id = element.text
            else:
                self.notes.append(f"{tag} is not usable as a record id; kept in the text")
                self._line(path, element)
            return
        if tag == "incidentDateTime":
            self.created = element.text
        if tag in _EMAILS:
            self._ident("emails", SelectorKind.EMAIL, path, element, element.text)
        elif tag in _PHONES:
            self._ident("phones", SelectorKind.PHONE, path, element, _phone(element))
        elif tag in _URLS:
            self._ident("urls", SelectorKind.URL, path, element, element.text)
        elif tag in _USERNAMES:
            self._ident("usernames", SelectorKind.USERNAME, path, element, element.text)
        elif tag == "ipCaptureEvent":
            self._ip_event(element, path)
        elif element.children:
            if element.attrs:
                self.lines.append(f"{path}: {_attrs(element)}")
            first, last = element.child("firstName"), element.child("lastName")
            if first is not None or last is not None:
                name = " ".join(e.text for e in (first, last) if e is not None and e.text)
                if name:
                    self._add("names", name, path)
            self._walk_children(element, path)
        else:
            self._line(path, element)

    def _line(self, path: str, element: _El) -> None:
        value = element.text
        if element.attrs:
            value = f"{value} ({_attrs(element)})" if value else _attrs(element)
        self.lines.append(f"{path}: {value}" if value else f"{path} (empty)")

    def _ident(
        self, name: str, kind: SelectorKind, path: str, element: _El, raw: str | None
    ) -> None:
        if not raw:
            return
        if not normalises(kind, raw, self.settings):
            self.lines.append(f"{path} (not a valid {kind.value}): {raw}")
            self.notes.append(f"{path}: not a valid {kind.value}; kept in the text")
            return
        self._add(name, raw, path)
        if element.attrs:
            self.lines.append(f"{path}: {raw} ({_attrs(element)})")

    def _add(self, name: str, value: str, path: str) -> None:
        values = self.lists[name]
        if value in values:
            return
        limit = 200 if name == "names" else 512
        if len(values) >= MAX_LIST or len(value) > limit:
            self.lines.append(f"{path}: {value}")
            self.notes.append(f"{path}: more {name} than a tip holds, or too long; kept in text")
            return
        values.append(value)

    def _ip_event(self, element: _El, path: str) -> None:
        address = element.child("ipAddress")
        ip = address.text if address is not None else ""
        if ip:
            self._ident("ips", SelectorKind.IP, f"{path}/ipAddress", address or element, ip)
        parts = [ip or "(no address)"]
        event = element.child("eventName")
        when = element.child("dateTime")
        port = element.child("port")
        proxy = element.child("possibleProxy")
        if event is not None and event.text:
            parts.append(f"({event.text})")
        if when is not None and when.text:
            parts.append(f"at {when.text}")
        if port is not None and port.text:
            parts.append(f"port {port.text}")
        if proxy is not None and proxy.text.lower() == "true":
            parts.append("possible proxy")
        self.lines.append(f"{path}: " + " ".join(parts))
        known = {"ipAddress", "eventName", "dateTime", "port", "possibleProxy"}
        for child in element.children:
            if child.tag not in known:
                self._walk(child, f"{path}/{child.tag}")


def _phone(element: _El) -> str:
    """The number, with its country calling code when the schema's attribute gives one."""
    number = element.text
    code = element.attrs.get("countryCallingCode", "").strip().lstrip("+")
    if number and code.isdigit() and not number.startswith("+"):
        return f"+{code} {number}"
    return number


def _attrs(element: _El) -> str:
    return ", ".join(f"{shown(k)} {v}" for k, v in element.attrs.items())


def _xml(element: _El) -> str:
    """A report written back as XML, for the rejects file."""
    from xml.sax.saxutils import escape, quoteattr

    def write(e: _El) -> str:
        attrs = "".join(f" {k}={quoteattr(v)}" for k, v in e.attrs.items())
        inner = escape(e.text) + "".join(write(c) for c in e.children)
        return f"<{e.tag}{attrs}>{inner}</{e.tag}>"

    return write(element)
