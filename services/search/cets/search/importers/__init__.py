"""Importers: files in other systems' formats → cets records, ready for ``cets ingest``.

Each importer is a parser: bytes in, and out, in file order, an :class:`Imported` record, a
:class:`Rejected` source record (with its place in the file — ``value[12]``,
``value[0].Media[3]``, ``report at line 57`` — and a reason that names fields, never values),
or a :class:`Note` (something kept differently than written, or left out on purpose). A
rejection never stops the import; only a file that cannot be read further (broken JSON,
malformed XML) ends it, with a :class:`Rejected` marked ``fatal``, after everything before
it was imported.

* :func:`read_vics` — Project VIC VICS JSON (1.x and 2.0; hash sets and cases) → ``media_hash``
* :func:`read_cybertip` — NCMEC CyberTipline report XML → ``tip``

docs/importers.md says which source field goes where.
"""

from cets.search.importers._common import (
    Imported,
    ImportItem,
    Note,
    Rejected,
    Settings,
)
from cets.search.importers.cybertip import read_cybertip
from cets.search.importers.vics import read_vics

__all__ = [
    "ImportItem",
    "Imported",
    "Note",
    "Rejected",
    "Settings",
    "read_cybertip",
    "read_vics",
]
