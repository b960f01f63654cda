"""The job store: every accepted inference and its proof, persisted before it is acknowledged.

SQLite (WAL) by default; any SQLAlchemy URL (e.g. PostgreSQL) works unchanged.

Usage::

    store = JobStore("sqlite:///jobs.db")
    job = store.create(model="digits-mlp", commitment="0x…", inputs=[0.1, …], outputs=[…])
    store.get(job.id).status  # "pending"
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from api.errors import NotFoundError, StoreError
from api.jobs.txn import TRANSIENT, Transactions
from verinfer.db import Synchronous, UtcDateTime, make_engine

__all__ = ["TRANSIENT", "Job", "JobStore", "Status"]


Status = Literal["pending", "proving", "done", "failed"]


class _Base(DeclarativeBase):
    pass


class _JobRow(_Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model: Mapped[str] = mapped_column(String(100), index=True)
    commitment: Mapped[str] = mapped_column(String(66))
    status: Mapped[str] = mapped_column(String(16), index=True)
    inputs: Mapped[str] = mapped_column(Text)
    outputs: Mapped[str] = mapped_column(Text)
    proof: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


@dataclass(frozen=True)
class Job:
    """One accepted inference request and the state of its proof."""

    id: str
    model: str
    commitment: str
    status: Status
    inputs: list[float]
    outputs: list[float]
    proof: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime


def _to_job(row: _JobRow) -> Job:
    proof = json.loads(row.proof) if row.proof else None
    return Job(
        row.id,
        row.model,
        row.commitment,
        cast(Status, row.status),
        json.loads(row.inputs),
        json.loads(row.outputs),
        proof,
        row.error,
        row.created_at,
        row.updated_at,
    )


class JobStore:
    """CRUD over jobs; every write is committed before the call returns (``api.jobs.txn``)."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_s: float = 10.0,
        retry_s: float = 30.0,
        synchronous: Synchronous = "full",
    ) -> None:
        self.retry_s, self.synchronous = retry_s, synchronous
        try:
            self.engine = make_engine(url, busy_timeout_s, synchronous)
            _Base.metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot open the job store at {url!r}: {exc}; "
                "check VERINFER_DATABASE_URL and that its folder is writable"
            ) from exc
        self.tx = Transactions(self.engine, "job store", retry_s)

    def create(self, model: str, commitment: str, inputs: list[float], outputs: list[float]) -> Job:
        now = datetime.now(UTC)
        row = _JobRow(
            id=str(uuid.uuid4()),
            model=model,
            commitment=commitment,
            status="pending",
            inputs=json.dumps(inputs),
            outputs=json.dumps(outputs),
            proof=None,
            error=None,
            created_at=now,
            updated_at=now,
        )

        def add(s: Session) -> None:
            s.add(row)

        self.tx.run("create", add, write=True)
        return _to_job(row)

    def get(self, job_id: str) -> Job:
        row = self.tx.run("read", lambda s: s.get(_JobRow, job_id), write=False)
        if row is None:
            raise NotFoundError(
                f"no proof job {job_id!r}; use the proof_id from the infer response's parameters"
            )
        return _to_job(row)

    def set_status(
        self,
        job_id: str,
        status: Status,
        *,
        proof: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        proof_json = json.dumps(proof) if proof is not None else None

        def update(s: Session) -> None:
            row = s.get(_JobRow, job_id)
            if row is None:
                raise NotFoundError(f"no proof job {job_id!r}")
            row.status = status
            row.proof = proof_json if proof_json is not None else row.proof
            row.error = error
            row.updated_at = datetime.now(UTC)

        self.tx.run("status update", update, write=True)

    def unfinished(self) -> list[Job]:
        """Jobs accepted but not yet proven: re-queued at start-up so none is lost."""
        stmt = select(_JobRow).where(_JobRow.status.in_(["pending", "proving"]))

        def query(s: Session) -> list[Job]:
            return [_to_job(r) for r in s.scalars(stmt.order_by(_JobRow.created_at))]

        return self.tx.run("unfinished query", query, write=False)
