"""The node's index: its names, its versioned template (settings and mapping), its creation.

The node owns its mapping. Each agency's records live in ``<prefix>-<agency>-records-v<N>``,
reached through the alias ``<prefix>-<agency>-records``; the composable index template of the
same name carries the mapping's version (:data:`TEMPLATE_VERSION`). The agency in the name
keeps agencies apart when several share one cluster (as tests and small deployments may).

Fields are only ever added within one index version: a node adds the fields its mapping has
to an existing index on start (``put_mapping``) and fills them in for the records already
there, so an index written by an earlier release keeps working. Template version 2 added the
near-duplicate image fields (:mod:`cets.search.images`).

Analysis uses only OpenSearch's core and its ``analysis-common`` module: phonetic keys are
computed by the node (:mod:`cets.core.names`), so no plugin is needed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch, RequestError, helpers

from cets.search import images
from cets.search.store import translate_errors

__all__ = ["INDEX_VERSION", "TEMPLATE_VERSION", "IndexNames", "ensure_index", "index_template"]

INDEX_VERSION = 1
"""Bump when the mapping changes incompatibly (a new index, records re-ingested)."""
TEMPLATE_VERSION = 2
"""Bump when fields are added (the template's ``version``); existing indices gain them."""

_log = logging.getLogger(__name__)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")


@dataclass(frozen=True, slots=True)
class IndexNames:
    """Where one agency's records live."""

    prefix: str
    agency: str

    def __post_init__(self) -> None:
        for setting, value in (("index prefix", self.prefix), ("agency id", self.agency)):
            if not _NAME.match(value):
                raise ValueError(
                    f"{setting} {value!r} must be 1-48 lowercase letters, digits, '-' or '_'"
                )

    @property
    def alias(self) -> str:
        return f"{self.prefix}-{self.agency}-records"

    @property
    def template(self) -> str:
        return self.alias

    @property
    def index(self) -> str:
        return f"{self.alias}-v{INDEX_VERSION}"


_KEYWORD = {"type": "keyword"}
_TEXT = {"type": "text", "analyzer": "cets_text"}

MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "agency": _KEYWORD,
        "record_id": _KEYWORD,
        "type": _KEYWORD,
        "case_ref": _KEYWORD,
        "handling": _KEYWORD,
        "created": {"type": "date"},
        "updated": {"type": "date"},
        "source": _KEYWORD,
        "title": _TEXT,
        "text": _TEXT,
        "names": {"type": "text", "analyzer": "cets_name"},
        "name_phonetic": _KEYWORD,
        "selectors": _KEYWORD,
        "card_last4": _KEYWORD,
        **images.MAPPING,
        "body": {"type": "object", "enabled": False},
    },
}

ANALYSIS: dict[str, Any] = {
    "filter": {
        "cets_possessive": {"type": "stemmer", "language": "possessive_english"},
        "cets_stem": {"type": "stemmer", "language": "light_english"},
    },
    "analyzer": {
        "cets_text": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["cets_possessive", "lowercase", "asciifolding", "cets_stem"],
        },
        "cets_name": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding"],
        },
    },
}


def index_template(names: IndexNames, *, replicas: int = 0) -> dict[str, Any]:
    """The composable index template for one agency's record indices."""
    return {
        "index_patterns": [f"{names.alias}-v*"],
        "version": TEMPLATE_VERSION,
        "_meta": {"managed_by": "cets", "index_version": INDEX_VERSION},
        "template": {
            "settings": {
                "number_of_shards": 1,
                "number_of_replicas": replicas,
                "analysis": ANALYSIS,
            },
            "mappings": MAPPING,
        },
    }


def ensure_index(client: OpenSearch, names: IndexNames, *, replicas: int = 0) -> None:
    """Install the template (when missing or older), create the index and its alias, and add
    newer fields to an index an earlier release created.

    Safe to call from several processes at once and on every start.
    """
    with translate_errors("prepare the index"):
        installed = _installed_template_version(client, names)
        if installed is None or installed < TEMPLATE_VERSION:
            client.indices.put_index_template(
                name=names.template, body=index_template(names, replicas=replicas)
            )
            _log.info("installed index template %s v%d", names.template, TEMPLATE_VERSION)
        elif installed > TEMPLATE_VERSION:
            _log.warning(
                "index template %s is v%d, newer than this node's v%d; leaving it",
                names.template,
                installed,
                TEMPLATE_VERSION,
            )
        if not client.indices.exists(index=names.index):
            try:
                client.indices.create(index=names.index, body={"aliases": {names.alias: {}}})
                _log.info("created index %s", names.index)
                return
            except RequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
        client.indices.put_mapping(index=names.index, body={"properties": images.MAPPING})
        _fill_image_fields(client, names)


def _fill_image_fields(client: OpenSearch, names: IndexNames) -> None:
    """Index the PDQ hashes of records ingested before the near-duplicate fields existed."""
    query = {
        "query": {
            "bool": {
                "filter": [{"prefix": {"selectors": "pdq:"}}],
                "must_not": [{"exists": {"field": images.CHUNK_FIELD}}],
            }
        },
        "_source": ["selectors"],
    }
    updates = (
        {
            "_op_type": "update",
            "_index": names.index,
            "_id": hit["_id"],
            "doc": images.index_fields(hit["_source"].get("selectors", [])),
        }
        for hit in helpers.scan(client, query=query, index=names.index, size=1000)
    )
    done, _ = helpers.bulk(client, updates, chunk_size=1000, refresh=True)
    if done:
        _log.info("indexed %d records' PDQ hashes for near-duplicate search", done)


def _installed_template_version(client: OpenSearch, names: IndexNames) -> int | None:
    if not client.indices.exists_index_template(name=names.template):
        return None
    found = client.indices.get_index_template(name=names.template)
    for entry in found.get("index_templates", []):
        version = entry.get("index_template", {}).get("version")
        return int(version) if version is not None else 0
    return None
