"""`openqpp db upgrade` started twice at once on one fresh PostgreSQL database (two release
jobs, two hosts): they take turns on the migration lock, both end without error, the first
migrates and the second finds the schema at head."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from tests.conftest import _postgres_url
from tests.support.databases import fresh_database

from openqpp.db import migrate
from openqpp.services import database

pytestmark = pytest.mark.skipif(
    _postgres_url() is None,
    reason="the migration lock is PostgreSQL's (an advisory lock); set OPENQPP_TEST_DATABASE_URL",
)

WAITERS = """
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND NOT granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def _upgrade(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "openqpp.cli", "db", "upgrade", "--url", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_two_upgrades_at_once_take_turns_and_both_end_at_head(tmp_path: Path) -> None:
    with fresh_database("postgresql", tmp_path) as url:
        engine = create_engine(url, poolclass=NullPool)
        processes: list[subprocess.Popen[str]] = []
        try:
            with engine.connect() as holder:
                holder = holder.execution_options(isolation_level="AUTOCOMMIT")
                # Hold the lock first, so both commands are surely running before either migrates.
                holder.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": database.MIGRATION_LOCK}
                )
                processes = [_upgrade(url), _upgrade(url)]
                deadline = time.monotonic() + 60
                while holder.execute(text(WAITERS)).scalar() != 2:
                    assert all(p.poll() is None for p in processes), [
                        p.communicate()[0] for p in processes
                    ]
                    assert time.monotonic() < deadline, "the commands did not wait for the lock"
                    time.sleep(0.1)
                holder.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": database.MIGRATION_LOCK}
                )
            outputs = [" ".join(p.communicate(timeout=120)[0].split()) for p in processes]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            engine.dispose()
        head = migrate.head_revision()
        assert [p.returncode for p in processes] == [0, 0], outputs
        assert all("Another `openqpp db upgrade` is migrating this database" in o for o in outputs)
        assert sorted("migrated from empty" in o for o in outputs) == [False, True], outputs
        assert any(f"Database already at revision {head}." in o for o in outputs), outputs
        assert database.current_revision(url) == head
        assert migrate.model_differences(url) == []
