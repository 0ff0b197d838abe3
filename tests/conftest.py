"""Shared fixtures.

``opensearch_url`` is one real OpenSearch for the whole session, started by the project's own
launcher (or the cluster named by ``OPENSEARCH_URL``). Tests keep apart by agency id: each
gets its own indices on that cluster. If OpenSearch cannot start, the tests that need it fail;
they never skip.

``postgres_url`` (from ``fixtures_postgres``) is one real PostgreSQL server for the session,
started on first use; it fails the same way, never skips.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator

import hypothesis  # noqa: F401 - imported early: see below
import pytest

from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.search.embedded_opensearch import EmbeddedOpenSearch, OpenSearchSettings

# Hypothesis' pytest plugin imports hypothesis lazily at the end of the session; on Python
# 3.11 a late ast.parse after threaded gRPC servers ran can fail spuriously (CPython
# gh-106905), so hypothesis is imported while the process is still single-threaded.

pytest_plugins = ["fixtures_postgres"]

_agency_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    existing = os.environ.get("OPENSEARCH_URL")
    if existing:
        yield existing
        return
    with EmbeddedOpenSearch(OpenSearchSettings(cluster_name="cets-test", heap_mb=512)) as engine:
        yield engine.url


@pytest.fixture(scope="session")
def card_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def agency_id() -> str:
    """A fresh agency id, so each test has indices of its own."""
    return f"t{os.getpid()}-{next(_agency_numbers)}"


@pytest.fixture(scope="session")
def federation(tmp_path_factory: pytest.TempPathFactory) -> LocalFederation:
    """Keys, a signed membership and open policies for the agencies the node tests use."""
    specs = [
        AgencySpec("asker", "Asking Agency", "CA"),
        AgencySpec("node-search", "Searched Agency", "CA"),
        AgencySpec("hanging", "Agency whose OpenSearch hangs", "CA"),
        AgencySpec("unreach", "Agency whose OpenSearch is gone", "CA"),
    ]
    return build_local_federation(tmp_path_factory.mktemp("federation"), specs)
