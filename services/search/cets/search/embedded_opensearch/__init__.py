"""Start a genuine single-node OpenSearch engine on this machine, for the demo and for tests.

:func:`ensure_distribution` fetches the official minimal OpenSearch distribution (and the
modules it lacks: ``analysis-common``, which provides ``asciifolding`` and the language
analyzers, and ``lang-painless``, for scripts) from Maven Central once, and unpacks it into a
shared cache directory.
:class:`EmbeddedOpenSearch` then runs one node from it with its own config, data and logs
directories, bound to 127.0.0.1 only, with no authentication: it is meant for a demo or a
test on one machine, never for real records on a shared network. :func:`start_many` starts
several single-node engines at once, one per agency; :class:`EmbeddedCluster` starts one
cluster of several nodes on loopback (``cets opensearch start NAME --nodes 3``).

OpenSearch refuses to run as root; when started by root, the node runs as an unprivileged
system user (``cets-opensearch`` by default), created on first use.

Every failure raises a subclass of :class:`EmbeddedOpenSearchError` whose message says what
to do about it:

- :class:`JavaNotFoundError`: no usable JDK was found.
- :class:`MavenNotFoundError`: the distribution is not cached and Maven is not installed.
- :class:`DistributionError`: downloading, verifying or unpacking the distribution failed.
- :class:`StartupError`: the node could not be launched, died, or was not healthy in time;
  when it ran, the message carries the tail of its log and the log's path.

Invalid :class:`OpenSearchSettings` raise :class:`ValueError` naming the setting.
"""

from __future__ import annotations

from cets.search.embedded_opensearch._cluster import EmbeddedCluster
from cets.search.embedded_opensearch._distribution import (
    DEFAULT_VERSION,
    default_cache_dir,
    default_m2_repo,
    ensure_distribution,
    plugin_descriptor,
)
from cets.search.embedded_opensearch._errors import (
    DistributionError,
    EmbeddedOpenSearchError,
    JavaNotFoundError,
    MavenNotFoundError,
    StartupError,
)
from cets.search.embedded_opensearch._java import (
    MAX_JAVA_MAJOR,
    MIN_JAVA_MAJOR,
    JavaInfo,
    find_java,
    parse_java_major,
)
from cets.search.embedded_opensearch._node import EmbeddedOpenSearch, start_many
from cets.search.embedded_opensearch._settings import (
    OpenSearchSettings,
    render_jvm_options,
    render_opensearch_yml,
)

__all__ = [
    "DEFAULT_VERSION",
    "MAX_JAVA_MAJOR",
    "MIN_JAVA_MAJOR",
    "DistributionError",
    "EmbeddedCluster",
    "EmbeddedOpenSearch",
    "EmbeddedOpenSearchError",
    "JavaInfo",
    "JavaNotFoundError",
    "MavenNotFoundError",
    "OpenSearchSettings",
    "StartupError",
    "default_cache_dir",
    "default_m2_repo",
    "ensure_distribution",
    "find_java",
    "parse_java_major",
    "plugin_descriptor",
    "render_jvm_options",
    "render_opensearch_yml",
    "start_many",
]
