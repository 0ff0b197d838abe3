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

__all__ = [
    "INDEX_VERSION",
    "TEMPLATE_VERSION",
    "IndexLayout",
    "IndexNames",
    "describe_layout",
    "ensure_index",
    "index_template",
]

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


AUTO_REPLICAS = "0-1"
"""``replicas=auto``: OpenSearch keeps one replica while the cluster has two data nodes or
more, and none on a single node (``index.auto_expand_replicas``)."""


@dataclass(frozen=True, slots=True)
class IndexLayout:
    """How many shards and copies the agency's index has (``CETS_INDEX_SHARDS``,
    ``CETS_INDEX_REPLICAS``).

    ``replicas`` is None for *auto*: OpenSearch itself sets the replica count from the number
    of data nodes (0 on one node, 1 from two nodes on), now and whenever nodes join or
    leave, so the same setting is right for a laptop and for a cluster. A number fixes it.
    Replicas can be changed on a live index (applied on the node's next start, no re-ingest);
    the shard count is fixed when the index is created.
    """

    shards: int = 1
    replicas: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.shards <= 64:
            raise ValueError("the index's shards must be between 1 and 64")
        if self.replicas is not None and not 0 <= self.replicas <= 8:
            raise ValueError("the index's replicas must be auto or between 0 and 8")

    @classmethod
    def parse(cls, shards: int, replicas: str) -> IndexLayout:
        text = replicas.strip().lower()
        if text == "auto":
            return cls(shards, None)
        try:
            return cls(shards, int(text))
        except ValueError:
            raise ValueError("the index's replicas must be auto or a whole number") from None

    def replica_settings(self) -> dict[str, Any]:
        """The dynamic settings that give the index its copies."""
        if self.replicas is None:
            return {"number_of_replicas": 0, "auto_expand_replicas": AUTO_REPLICAS}
        return {"number_of_replicas": self.replicas, "auto_expand_replicas": False}

    def describe(self) -> str:
        replicas = (
            f"auto ({AUTO_REPLICAS} by data nodes)" if self.replicas is None else self.replicas
        )
        return f"{self.shards} shards, replicas {replicas}"


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


def index_template(names: IndexNames, layout: IndexLayout | None = None) -> dict[str, Any]:
    """The composable index template for one agency's record indices."""
    layout = layout or IndexLayout()
    return {
        "index_patterns": [f"{names.alias}-v*"],
        "version": TEMPLATE_VERSION,
        "_meta": {"managed_by": "cets", "index_version": INDEX_VERSION},
        "template": {
            "settings": {
                "number_of_shards": layout.shards,
                **layout.replica_settings(),
                "analysis": ANALYSIS,
            },
            "mappings": MAPPING,
        },
    }


def ensure_index(client: OpenSearch, names: IndexNames, layout: IndexLayout | None = None) -> None:
    """Install the template (when missing, older, or of another layout), create the index and
    its alias, add newer fields to an index an earlier release created, and give an existing
    index the configured replicas.

    Safe to call from several processes at once and on every start.
    """
    layout = layout or IndexLayout()
    with translate_errors("prepare the index"):
        installed = _installed_template_version(client, names)
        if (
            installed is None
            or installed < TEMPLATE_VERSION
            or (installed == TEMPLATE_VERSION and not _template_has(client, names, layout))
        ):
            client.indices.put_index_template(
                name=names.template, body=index_template(names, layout)
            )
            _log.info(
                "installed index template %s v%d (%s)",
                names.template,
                TEMPLATE_VERSION,
                layout.describe(),
            )
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
        _apply_layout(client, names, layout)
        _fill_image_fields(client, names)


def _template_has(client: OpenSearch, names: IndexNames, layout: IndexLayout) -> bool:
    found = client.indices.get_index_template(name=names.template)
    for entry in found.get("index_templates", []):
        settings = entry.get("index_template", {}).get("template", {}).get("settings", {})
        index = settings.get("index", settings)
        return _same_layout(index, layout, shards=True)
    return False


def _same_layout(settings: dict[str, Any], layout: IndexLayout, *, shards: bool) -> bool:
    auto = str(settings.get("auto_expand_replicas", "false")).lower()
    if layout.replicas is None:
        same = auto == AUTO_REPLICAS
    else:
        same = auto == "false" and int(settings.get("number_of_replicas", -1)) == layout.replicas
    if shards:
        same = same and int(settings.get("number_of_shards", -1)) == layout.shards
    return same


def _apply_layout(client: OpenSearch, names: IndexNames, layout: IndexLayout) -> None:
    """Replicas are a live setting: an existing index takes the configured ones at once (its
    records are copied by OpenSearch, not re-ingested). Shards cannot change in place."""
    found = client.indices.get_settings(index=names.index)
    settings = found.get(names.index, {}).get("settings", {}).get("index", {})
    if not _same_layout(settings, layout, shards=False):
        client.indices.put_settings(index=names.index, body={"index": layout.replica_settings()})
        _log.info("index %s now has %s", names.index, layout.describe())
    if int(settings.get("number_of_shards", layout.shards)) != layout.shards:
        _log.warning(
            "index %s has %s shards, not the %d configured: the shard count is fixed when an "
            "index is created (a new index version, or OpenSearch's _split, changes it)",
            names.index,
            settings.get("number_of_shards"),
            layout.shards,
        )


def describe_layout(client: OpenSearch, names: IndexNames) -> dict[str, Any]:
    """What the index has now: shards, replicas (and whether OpenSearch sets them from the
    data nodes), the cluster's data nodes, and the index's health."""
    with translate_errors("read the index's settings"):
        found = client.indices.get_settings(index=names.index)
        settings = found.get(names.index, {}).get("settings", {}).get("index", {})
        health = client.cluster.health(index=names.index)
    auto = str(settings.get("auto_expand_replicas", "false")).lower()
    return {
        "index": names.index,
        "shards": int(settings.get("number_of_shards", 0)),
        "replicas": int(settings.get("number_of_replicas", 0)),
        "auto_expand_replicas": None if auto == "false" else auto,
        "data_nodes": int(health.get("number_of_data_nodes", 0)),
        "health": health.get("status", "unknown"),
        "active_shards": int(health.get("active_shards", 0)),
        "unassigned_shards": int(health.get("unassigned_shards", 0)),
    }


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
