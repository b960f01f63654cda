"""The one SQLAlchemy engine helper: SQLite in WAL mode with a busy timeout, or any other URL.

Both stores (the gateway's jobs, the dispute agents' claims and games) open their database
here, so the durability settings are chosen once.

Usage::

    engine = make_engine("sqlite:///jobs.db", busy_timeout_s=10.0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine


def sqlite_wal(engine: Engine, busy_timeout_s: float) -> None:
    """Set WAL, a busy timeout and full fsync on every new SQLite connection of `engine`."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets readers (the gateway's status reads, `verinfer challenge list`) run while a
        # writer commits; synchronous=FULL because a committed row is a promise (a job accepted,
        # a move about to be sent) that must survive a crash.
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()


def make_engine(url: str, busy_timeout_s: float = 10.0) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and a pool sized for threads.

    Usage: ``engine = make_engine(settings.effective_database_url)``
    """
    if not url.startswith("sqlite"):
        return create_engine(url, future=True, pool_pre_ping=True)
    # One connection per request thread at peak: the pool must not be what makes a request fail.
    engine = create_engine(
        url,
        future=True,
        pool_size=16,
        max_overflow=48,
        connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
    )
    sqlite_wal(engine, busy_timeout_s)
    return engine


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file. Usage: ``sqlite_url(data_dir / "disputes.db")``."""
    return f"sqlite:///{path}"
