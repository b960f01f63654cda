"""The one SQLAlchemy engine helper: SQLite (WAL) by default, PostgreSQL (or any URL) unchanged.

Both stores (the gateway's jobs, the dispute agents' claims and games) open their database
here, so the durability, lock-wait and pool settings are chosen once, per backend.

Usage::

    engine = make_engine("sqlite:///jobs.db", busy_timeout_s=10.0)
    engine = make_engine("postgresql+psycopg://verinfer@db.internal/verinfer")
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import URL, Dialect, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.types import TypeDecorator

# A server that does not answer within this is down or unreachable; failing fast turns it
# into the stores' "cannot open" error (or a retried transient one) instead of a hung request.
CONNECT_TIMEOUT_S = 10
# Each PostgreSQL connection is a server process and the server's default max_connections is
# 100: 10 + 20 per engine leaves room for a gateway and both dispute agents on one server.
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 20
# Recycle before the idle cut-offs of common proxies and firewalls (often 30-60 min).
PG_POOL_RECYCLE_S = 1800
# SQLite's fsync policy. "full": a commit is on disk before it returns (survives a power cut).
# "normal" (in WAL): a commit is in the WAL before it returns, so it survives any crash of the
# process (kill -9 included) and the database never corrupts; a power cut may lose the last
# commits. It saves one fsync per commit (about 2 ms on this machine's disk).
Synchronous = Literal["full", "normal"]


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite alone drops the zone on read).

    Usage: ``created_at: Mapped[datetime] = mapped_column(UtcDateTime())``
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware UTC datetimes only")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite hands back what was written (UTC) without its zone; PostgreSQL an aware value.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_wal(engine: Engine, busy_timeout_s: float, synchronous: Synchronous = "full") -> None:
    """Set WAL, a busy timeout and the fsync policy on every new SQLite connection of `engine`."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets readers (the gateway's status reads, `verinfer challenge list`) run while a
        # writer commits. The dispute store stays "full": its rows are moves about to be sent,
        # and a move lost after it was sent could be signed again differently.
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cur.close()


def _sqlite_engine(url: URL, busy_timeout_s: float, synchronous: Synchronous) -> Engine:
    # One connection per request thread at peak: the pool must not be what makes a request fail.
    engine = create_engine(
        url,
        pool_size=16,
        max_overflow=48,
        connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
    )
    sqlite_wal(engine, busy_timeout_s, synchronous)
    return engine


def pg_options(url: URL, busy_timeout_s: float) -> str:
    """The libpq ``options`` for `url`: a lock wait bounded like SQLite's, UTC, then the URL's own.

    Usage: ``pg_options(make_url("postgresql://h/db"), 10.0)  # "-c lock_timeout=10000 ..."``
    """
    # Without lock_timeout a write behind a lock held elsewhere waits forever; with it the wait
    # fails as OperationalError after the same busy timeout as SQLite, which the stores retry.
    ours = f"-c lock_timeout={max(1, int(busy_timeout_s * 1000))} -c TimeZone=UTC"
    given = url.query.get("options")
    extra = given if isinstance(given, str) else " ".join(given or ())
    # Options later on the line win, so an operator's own settings in the URL still apply.
    return f"{ours} {extra}".strip()


def _pg_engine(url: URL, busy_timeout_s: float) -> Engine:
    return create_engine(
        url,
        pool_size=PG_POOL_SIZE,
        max_overflow=PG_MAX_OVERFLOW,
        pool_pre_ping=True,
        pool_recycle=PG_POOL_RECYCLE_S,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": pg_options(url, busy_timeout_s),
        },
    )


def make_engine(
    url: str, busy_timeout_s: float = 10.0, synchronous: Synchronous = "full"
) -> Engine:
    """An engine for `url`; a write waits at most `busy_timeout_s` for a lock held elsewhere.

    SQLite gets WAL, a busy timeout, the fsync policy `synchronous` and a pool sized for
    threads (PostgreSQL's own ``synchronous_commit`` is the server's to set); PostgreSQL (``postgresql://``
    or ``postgresql+psycopg://``) a lock timeout, UTC sessions, pre-ping and a bounded pool.

    Usage: ``engine = make_engine(settings.effective_database_url)``
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            return _sqlite_engine(parsed, busy_timeout_s, synchronous)
        if backend == "postgresql":
            return _pg_engine(parsed, busy_timeout_s)
        return create_engine(parsed, pool_pre_ping=True)
    except ImportError as exc:
        # An ArgumentError, so each store reports it as its own "cannot open" error.
        raise ArgumentError(
            f"no database driver for {parsed.drivername!r} ({exc}); PostgreSQL uses "
            "postgresql+psycopg:// with psycopg from requirements.lock"
        ) from exc


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file. Usage: ``sqlite_url(data_dir / "disputes.db")``."""
    return f"sqlite:///{path}"
