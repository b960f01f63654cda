"""The agents' store suite (tests/disputes/game/test_store.py) re-run on a real PostgreSQL.

Every test of that module runs here again, unchanged, with its ``url`` fixture overridden to a
fresh PostgreSQL database; only the ones about SQLite files themselves stay there, and each has
a PostgreSQL counterpart below. A test added there runs here too.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from disputes.errors import GameStoreError
from disputes.game.store import GameStore
from tests.disputes.game import test_store as suite
from tests.pg import free_port
from verinfer.settings import Settings

# About SQLite files (WAL pragma, the data-dir default file, a missing folder): not portable.
SQLITE_ONLY = {
    "test_sqlite_runs_in_wal_mode",
    "test_from_settings_defaults_to_the_data_dir",
    "test_an_unopenable_database_is_a_clear_error",
}
RERUN = sorted(n for n in dir(suite) if n.startswith("test_") and n not in SQLITE_ONLY)
globals().update({name: getattr(suite, name) for name in RERUN})
store = suite.store  # their fixture, which asks for the `url` below


@pytest.fixture
def url(pg_url: str) -> str:
    return pg_url


def test_the_whole_suite_is_rerun_here() -> None:
    assert set(dir(suite)) >= SQLITE_ONLY  # a renamed SQLite test must be looked at again
    assert len(RERUN) >= 7 and "test_one_hash_is_recorded_once" in RERUN


def test_postgres_sessions_bound_lock_waits(pg_url: str) -> None:
    with GameStore(pg_url, busy_timeout_s=0.25).engine.connect() as conn:
        assert conn.execute(text("SHOW lock_timeout")).scalar() == "250ms"


def test_from_settings_uses_the_postgres_url(pg_url: str, tmp_path: Path) -> None:
    store = GameStore.from_settings(Settings(data_dir=tmp_path, database_url=pg_url))
    store.save_claim(suite._claim())
    tx = suite._signed(store)
    assert store.url == pg_url and not list(tmp_path.iterdir())  # no SQLite file made
    (row,) = store.txs()
    assert row.id == tx and row.raw == b"\x02signed-bytes"
    assert row.created_at.tzinfo is not None and row.created_at.utcoffset() == UTC.utcoffset(None)


def test_an_unreachable_postgres_is_a_clear_error(pg_url: str) -> None:
    down = make_url(pg_url).set(port=free_port()).render_as_string(False)  # nothing listens
    with pytest.raises(GameStoreError, match="cannot open the dispute store"):
        GameStore(down)
