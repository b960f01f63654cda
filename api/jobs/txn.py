"""One transaction runner for the gateway's stores: a write lock, bounded retries, clear errors.

Writes from this process go through one lock (SQLite has one writer; serialising them here
avoids its immediate "database is locked" when two deferred transactions both upgrade). A call
that meets a transient error (a lock held elsewhere, a dropped connection, an exhausted pool) is
retried for ``retry_s`` seconds, then raises StoreBusyError (HTTP 503 with Retry-After): a
request is never half-accepted. Any other database error is a StoreError at once.

Usage::

    tx = Transactions(engine, "job store", retry_s=30.0)
    job = tx.run("read", lambda s: s.get(_JobRow, job_id))
    tx.run("create", lambda s: s.add(row), write=True)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from api.errors import StoreBusyError, StoreError

__all__ = ["TRANSIENT", "Transactions"]

T = TypeVar("T")
# Lock contention, a dropped connection or an exhausted pool pass; they are retried. Any other
# database error is a bug or a broken store and surfaces at once.
TRANSIENT = (OperationalError, PoolTimeout)
FIRST_PAUSE_S, MAX_PAUSE_S = 0.01, 0.5


class Transactions:
    """Runs ``fn(session)`` in one transaction of ``engine`` (see the module doc)."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        retry_s: float,
        on_conflict: Callable[[IntegrityError], StoreError] | None = None,
    ) -> None:
        self.engine, self.name, self.retry_s = engine, name, retry_s
        self.on_conflict = on_conflict  # a unique key taken: the store's own error for it
        self._write_lock = threading.Lock()

    def run(self, what: str, fn: Callable[[Session], T], write: bool = False) -> T:
        """``fn``'s result once committed (``write``) or read; StoreBusyError past ``retry_s``."""
        deadline, pause = time.monotonic() + self.retry_s, FIRST_PAUSE_S
        while True:
            try:
                return self._once(fn, write)
            except IntegrityError as exc:
                if self.on_conflict is None:
                    raise StoreError(f"{self.name} {what} failed: {exc}") from exc
                raise self.on_conflict(exc) from exc
            except TRANSIENT as exc:
                if time.monotonic() + pause > deadline:
                    raise StoreBusyError(
                        f"the {self.name} is busy ({what} kept failing for {self.retry_s:.0f}s: "
                        f"{getattr(exc, 'orig', None) or exc}); retry shortly"
                    ) from exc
            except SQLAlchemyError as exc:
                raise StoreError(f"{self.name} {what} failed: {exc}") from exc
            time.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_S)

    def _once(self, fn: Callable[[Session], T], write: bool) -> T:
        if not write:
            with Session(self.engine, expire_on_commit=False) as s:
                return fn(s)
        with self._write_lock, Session(self.engine, expire_on_commit=False) as s:
            out = fn(s)
            s.commit()
            return out
