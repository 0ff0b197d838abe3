"""The session's PostgreSQL server is a real one, of our own: nothing here is mocked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = sa.create_engine(postgres_url)
    yield engine
    engine.dispose()


def test_a_postgresql_server_of_our_own_on_loopback(engine: Engine, postgres_url: str) -> None:
    with engine.connect() as connection:
        version = connection.execute(sa.text("select version()")).scalar_one()
        address, port = connection.execute(
            sa.text("select host(inet_server_addr()), inet_server_port()")
        ).one()
        settings = dict(
            connection.execute(
                sa.text(
                    "select name, current_setting(name) from pg_settings "
                    "where name in ('max_connections', 'shared_buffers', 'listen_addresses')"
                )
            ).all()
        )
    assert "PostgreSQL" in version
    assert (address, port) == ("127.0.0.1", sa.make_url(postgres_url).port)
    assert settings == {
        "max_connections": "50",
        "shared_buffers": "32MB",
        "listen_addresses": "127.0.0.1",
    }


def test_a_second_connection_sees_rows_once_committed(engine: Engine) -> None:
    table = sa.Table(
        f"cases_{uuid.uuid4().hex[:12]}",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
    )
    table.metadata.create_all(engine)
    try:
        count = sa.select(sa.func.count()).select_from(table)
        with engine.connect() as writer, engine.connect() as reader:
            writer.execute(table.insert(), [{"id": 1, "title": "first"}, {"id": 2, "title": "b"}])
            assert reader.execute(count).scalar_one() == 0  # not yet committed
            writer.commit()
            assert reader.execute(count).scalar_one() == 2
            titles = reader.execute(sa.select(table.c.title).order_by(table.c.id)).scalars()
            assert list(titles) == ["first", "b"]
    finally:
        table.metadata.drop_all(engine)


def test_a_wrong_password_is_refused(postgres_url: str) -> None:
    url = sa.make_url(postgres_url).set(password="not-the-password")
    engine = sa.create_engine(url)
    try:
        with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
            engine.connect().close()
    finally:
        engine.dispose()
