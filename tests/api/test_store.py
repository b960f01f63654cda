"""The job store on SQLite (WAL) and on a real PostgreSQL server: the same suite, unchanged.

Round trips, status moves, what survives a restart, concurrent writers in two stores (two
processes' worth of engines and write locks), a lock held elsewhere (retried, then StoreBusyError;
never half-accepted) and the per-backend session settings that make those waits bounded.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from api.errors import NotFoundError, StoreBusyError, StoreError
from api.jobs.store import Job, JobStore
from tests.pg import free_port

COMMITMENT = "0x" + "ab" * 32


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database: a SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    return str(request.getfixturevalue("pg_url"))


@contextlib.contextmanager
def _sqlite_write_lock(path: str) -> Iterator[None]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")  # in WAL mode readers still read
    try:
        yield
    finally:
        conn.execute("COMMIT")
        conn.close()


@contextlib.contextmanager
def _pg_write_lock(conninfo: str) -> Iterator[None]:
    import psycopg

    # EXCLUSIVE conflicts with every write (ROW EXCLUSIVE) and with no plain read; it is held
    # until the block's transaction ends.
    with psycopg.connect(conninfo) as conn:
        conn.execute(b"LOCK TABLE jobs IN EXCLUSIVE MODE")
        yield


def write_lock_elsewhere(url: str) -> contextlib.AbstractContextManager[None]:
    """Another connection, not the store's, holds the jobs table's write lock (reads pass)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_write_lock(str(parsed.database))
    return _pg_write_lock(parsed.set(drivername="postgresql").render_as_string(False))


def _count(store: JobStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM jobs")).scalar_one())


def test_create_then_get_round_trips_every_value(url: str) -> None:
    store = JobStore(url)
    inputs, outputs = [0.1, -0.0, 1e-300, 3.4028234663852886e38], [float(i) / 7 for i in range(10)]
    job = store.create("digits-mlp", COMMITMENT, inputs, outputs)
    got = store.get(job.id)
    assert got == job  # every field, timestamps included
    assert got.status == "pending" and got.proof is None and got.error is None
    assert got.inputs == inputs and got.outputs == outputs
    assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == UTC.utcoffset(None)


def test_status_moves_on_and_keeps_the_proof(url: str) -> None:
    store = JobStore(url)
    job = store.create("digits-mlp", COMMITMENT, [0.5], [1.0])
    store.set_status(job.id, "proving")
    assert store.get(job.id).status == "proving"
    proof = {"proof_hex": "0x" + "cd" * 2000, "instances": ["0x01"], "note": "ünïcødé 'q' \"dq\""}
    store.set_status(job.id, "done", proof=proof)
    store.set_status(job.id, "done", error="re-checked: ✓")  # no proof given: the old one stays
    done = store.get(job.id)
    assert (done.status, done.proof, done.error) == ("done", proof, "re-checked: ✓")
    assert done.updated_at >= done.created_at == job.created_at


def test_an_unknown_job_is_not_found(url: str) -> None:
    store = JobStore(url)
    with pytest.raises(NotFoundError, match="no proof job 'nope'"):
        store.get("nope")
    with pytest.raises(NotFoundError, match="no proof job 'nope'"):
        store.set_status("nope", "done")
    assert _count(store) == 0


def test_unfinished_is_pending_and_proving_oldest_first(url: str) -> None:
    store = JobStore(url)
    jobs = [store.create("m", COMMITMENT, [float(i)], [0.0]) for i in range(5)]
    store.set_status(jobs[1].id, "proving")
    store.set_status(jobs[2].id, "done", proof={"p": 1})
    store.set_status(jobs[3].id, "failed", error="boom")
    assert [j.id for j in store.unfinished()] == [jobs[0].id, jobs[1].id, jobs[4].id]


def test_jobs_survive_a_restart(url: str) -> None:
    first = JobStore(url)
    pending = first.create("m", COMMITMENT, [1.0], [2.0])
    first.set_status(first.create("m", COMMITMENT, [3.0], [4.0]).id, "done", proof={"p": 2})
    first.engine.dispose()  # the old process's connections are gone
    restarted = JobStore(url)  # create_all on existing tables is a no-op
    assert [j.id for j in restarted.unfinished()] == [pending.id]
    assert restarted.get(pending.id) == pending
    assert _count(restarted) == 2


def _churn(store: JobStore, n: int) -> list[Job]:
    out = []
    for i in range(n):
        job = store.create("m", COMMITMENT, [float(i)], [0.0])
        store.set_status(job.id, "proving")
        assert store.get(job.id).status == "proving"
        store.set_status(job.id, "done", proof={"i": i})
        out.append(job)
    return out


def test_concurrent_writers_in_two_stores_all_commit(url: str) -> None:
    # Two stores are two processes' worth of engines and in-process write locks: their writes
    # meet only at the database's own locks (SQLite busy timeout, PostgreSQL row and table locks).
    stores = [JobStore(url), JobStore(url)]
    with ThreadPoolExecutor(16) as pool:
        batches = list(pool.map(lambda i: _churn(stores[i % 2], 10), range(16)))
        ids = [j.id for batch in batches for j in batch]
        # More readers at once than either pool holds: they queue for connections, none fails.
        read = list(pool.map(lambda i: stores[i % 2].get(ids[i]).status, range(len(ids))))
    assert len(set(ids)) == 160 and read == ["done"] * 160
    assert stores[0].unfinished() == [] and _count(stores[1]) == 160


def test_a_write_behind_a_lock_held_elsewhere_is_store_busy_and_never_half_done(url: str) -> None:
    store = JobStore(url, busy_timeout_s=0.05, retry_s=0.3)
    kept = store.create("m", COMMITMENT, [1.0], [2.0])
    with write_lock_elsewhere(url):
        assert store.get(kept.id) == kept  # readers are not blocked by a writer
        with pytest.raises(StoreBusyError, match="retry shortly"):
            store.create("m", COMMITMENT, [3.0], [4.0])
        with pytest.raises(StoreBusyError, match="status update kept failing"):
            store.set_status(kept.id, "done", proof={"p": 1})
    assert _count(store) == 1 and store.get(kept.id).status == "pending"
    assert store.create("m", COMMITMENT, [3.0], [4.0]).status == "pending"
    assert _count(store) == 2


def test_a_write_retried_past_a_lock_commits_exactly_once(url: str) -> None:
    store = JobStore(url, busy_timeout_s=0.05, retry_s=60.0)
    failed = threading.Event()
    # The engine's own error hook: set once the write has met the lock at least once.
    event.listen(store.engine, "handle_error", lambda _ctx: failed.set())
    result: list[Any] = []
    with write_lock_elsewhere(url):
        writer = threading.Thread(
            target=lambda: result.append(store.create("m", COMMITMENT, [5.0], [6.0]))
        )
        writer.start()
        assert failed.wait(30), "the write never met the lock"
        assert result == []  # still retrying while the lock is held
    writer.join(60)
    (job,) = result
    assert store.get(job.id) == job and _count(store) == 1


def test_an_unreachable_database_is_a_clear_error(url: str, tmp_path: Path) -> None:
    if make_url(url).get_backend_name() == "sqlite":
        bad = f"sqlite:///{tmp_path / 'missing' / 'folder' / 'jobs.db'}"
    else:
        bad = make_url(url).set(port=free_port()).render_as_string(False)  # nothing listens
    with pytest.raises(StoreError, match="cannot open the job store") as info:
        JobStore(bad)
    assert "VERINFER_DATABASE_URL" in str(info.value)


def test_sessions_bound_lock_waits_per_backend(url: str) -> None:
    store = JobStore(url, busy_timeout_s=1.5)
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 1500
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        else:
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "1500ms"
            assert conn.execute(text("SHOW TimeZone")).scalar() == "UTC"


def _synchronous(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("PRAGMA synchronous")).scalar_one())


def test_the_gateway_stores_fsync_policy_is_chosen_and_the_dispute_store_stays_full(
    tmp_path: Path,
) -> None:
    from api.modes.store import ClaimStore
    from disputes.game.store import GameStore

    url = f"sqlite:///{tmp_path / 'v.db'}"
    assert _synchronous(JobStore(url, synchronous="normal").engine) == 1  # NORMAL
    assert _synchronous(ClaimStore(url, synchronous="normal").engine) == 1
    assert _synchronous(JobStore(url).engine) == 2  # FULL unless asked
    assert _synchronous(GameStore(f"sqlite:///{tmp_path / 'd.db'}").engine) == 2


def test_a_plain_postgresql_url_and_its_own_options_work_unchanged(pg_url: str) -> None:
    # What an operator types: no driver name, and settings of their own in the URL.
    plain = make_url(pg_url).set(drivername="postgresql")
    plain = plain.update_query_dict({"options": "-c statement_timeout=5000"})
    store = JobStore(plain.render_as_string(False), busy_timeout_s=2.0)
    assert store.engine.dialect.driver == "psycopg"
    job = store.create("m", COMMITMENT, [1.0], [2.0])
    assert JobStore(pg_url).get(job.id) == job  # one database, whichever spelling
    with store.engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "5s"
        assert conn.execute(text("SHOW lock_timeout")).scalar() == "2s"
