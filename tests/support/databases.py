"""Module-scoped databases for tests that share one migrated world across many cases
(SQLite always; PostgreSQL too when OPENQPP_TEST_DATABASE_URL is set), like `database_url`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from tests.conftest import _database_kinds, _postgres_url

KINDS = _database_kinds()


@contextmanager
def fresh_database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'shared.db'}"
        return
    base = make_url(_postgres_url() or "")
    name = f"openqpp_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        from openqpp.services.database import engine_for

        engine_for.cache_clear()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
