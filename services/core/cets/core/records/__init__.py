"""Record types, and the validation that turns one input record into an indexable document.

An input record is a flat mapping — one NDJSON object or one CSV row — of envelope keys
(``id``, ``type``, ``case_ref``, ``handling``, ``created``, ``updated``, ``source``, ``agency``)
and the keys of its type (see the ``*In`` models below; ``docs/records.md`` lists them all).

:func:`prepare` validates it and returns a :class:`PreparedRecord`: the stable record id, and
the document the node stores in OpenSearch — searchable text, folded and phonetic names, the
normalised selectors that link records across agencies, and a display ``body``. A full payment
card number is never stored: only a keyed fingerprint and the last four digits.

Every failure is a :class:`RecordError` whose message names the field and the rule broken,
never the offending value (messages go to logs and terminals; values are sensitive).
"""

from cets.core.records._document import prepare
from cets.core.records._models import RecordIn
from cets.core.records._types import (
    Handling,
    IngestContext,
    PreparedRecord,
    RecordError,
    RecordType,
)

__all__ = [
    "Handling",
    "IngestContext",
    "PreparedRecord",
    "RecordError",
    "RecordIn",
    "RecordType",
    "prepare",
]
