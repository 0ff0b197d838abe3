"""The ``postgres_url`` fixture: one real PostgreSQL server for the whole session.

The server starts the first time a test asks for ``postgres_url`` (so runs that need no
PostgreSQL never start one) and stops when the session ends. Tests keep apart by naming
their own tables or schemas. If PostgreSQL is missing or cannot start, the tests that need
it fail; they never skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from postgres_server import running_postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL (``postgresql+psycopg://...``) of a database on the session's server."""
    with running_postgres(database="cets_test") as server:
        yield server.url
