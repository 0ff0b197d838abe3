"""The audit log: an append-only, hash-chained record of the requests a service sends and answers.

Every search request is recorded where it is sent and where it is answered: who asked, for
which agency, purpose and case, the query, and what was released. Agency administrators read
the log to see who asked (``cets audit show``) and check that it was not altered
(``cets audit verify``).

Format
------
JSON Lines: one entry per line, each line the canonical JSON (:mod:`cets.common.canonical`) of::

    {"event": {...}, "hash": "<64 hex>", "prev": "<64 hex>", "seq": 1,
     "time": "2024-05-01T12:00:00.000000Z"}

- ``seq`` counts 1, 2, 3, ...
- ``time`` is when the entry was written: RFC 3339, UTC, with microseconds.
- ``prev`` is the ``hash`` of the previous entry (64 zeros for the first).
- ``event`` is the caller's JSON object.
- ``hash`` is the hex SHA-256 of the canonical JSON of ``{"seq", "time", "prev", "event"}``.

Next to the log, ``<log>.head`` records the last acknowledged entry (``seq`` 0 and 64 zeros
while the log is empty). It is two slots of 4096 bytes, each the canonical JSON
``{"check": ..., "hash": ..., "seq": N}`` (``check`` the hex SHA-256 of the canonical
``{"hash", "seq"}``), space-padded, ending in a newline. Every group commit overwrites the
slot not holding the newest head, in place (``pwrite``, ``fdatasync``); the valid slot with
the higher ``seq`` is the head. The one-line canonical JSON ``{"hash": ..., "seq": N}`` of
earlier versions is still read, and converted on opening.

Guarantees
----------
- Durable: :meth:`AuditLog.append` returns only once the entry and a head file at or past
  it are on disk (``fsync`` of the log, ``fdatasync`` of the head file's slot). Group
  commit: entries appended by several threads at once share one such commit, so the disk
  work per entry falls as the load grows, and no entry is acknowledged before its commit.
- Tamper-evident: changing any byte of an entry, deleting, inserting or reordering entries
  breaks the chain; removing entries from the end disagrees with the head file. :func:`verify`
  finds and locates each. The chain is evidence, not a lock: whoever can write both files can
  rebuild everything after the entry they changed. Where that matters, copy the head file (or
  a recent ``hash``) regularly to a place they cannot write.
- Crash-safe: a crash during an append leaves at most one incomplete final line, which was
  never acknowledged. Opening the log moves it aside to ``<log>.torn-<UTC time>`` and carries
  on; :func:`verify` reports it as a note, not a problem. A crash after a group's entries were
  written but before the head file was replaced leaves complete entries past the head file,
  none of them acknowledged; opening keeps them when they are numbered one by one and chain
  to the head file's hash (anything else is refused as tampering), and updates the head file.
  A crash while a head slot was being written leaves that slot torn (its check fails) and
  the other slot holding the previous head: the same as a crash before the head write. The
  head file is created, or converted from the old form, by an atomic replace; a crash then
  leaves a temporary ``.<log>.head.*.tmp`` beside it, which opening removes.
- One writer: an open :class:`AuditLog` holds an exclusive lock on the file. Threads share one
  instance; its appends are chained one at a time and made durable in groups.

Errors
------
- :class:`AuditError` (the root): the log cannot be opened or written (permissions, disk
  full, open elsewhere, closed). After a failed write the instance refuses further appends;
  reopening the log repairs what the failure left behind.
- :class:`AuditCorrupt` (an ``AuditError``): the log is unreadable or disagrees with its head
  file. It may have been tampered with, so nothing is written to it; ``cets audit verify``
  says what is wrong.
- ``ValueError``: an event that is not a JSON object with string keys, or is too large.
"""

from cets.common.audit._chain import (
    GENESIS,
    MAX_LINE,
    TORN_NOTE,
    AuditCorrupt,
    AuditEntry,
    AuditError,
    head_path,
    read_entries,
)
from cets.common.audit._log import AuditLog
from cets.common.audit._verify import MAX_LISTED, Problem, VerifyReport, verify

__all__ = [
    "GENESIS",
    "MAX_LINE",
    "MAX_LISTED",
    "TORN_NOTE",
    "AuditCorrupt",
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "Problem",
    "VerifyReport",
    "head_path",
    "read_entries",
    "verify",
]
