"""The claim store: every optimistic or on-demand answer, and every paid request, until settled.

One row per claim the gateway owes: an HTTP answer whose claim is still to be posted, or an
on-chain request its fulfiller picked up (or both: an HTTP request naming a paid request id is
the same row). The row is written before the answer is sent or the request is acted on, and
moves through ``stage`` as the work is done; the transactions themselves are written ahead by
``disputes.game.outbox.Outbox`` (the one write-ahead mechanism for anything sent on chain).

Stages: ``tracing`` (optimistic: waiting for the trace), ``awaiting_input`` (a paid zk or
on-demand request whose input only arrives over HTTP), ``ready`` (everything known: the
fulfiller requests if needed and claims or fulfils; a batched optimistic claim waits here for
its batch, marked with its ``batch_key`` before the batch is sent), ``proving`` (a proof job
runs), ``claimed`` (on chain, watched), ``local`` (no chain: nothing to post), ``settled`` and
``failed``.

Usage::

    store = ClaimStore("sqlite:///verinfer.db")
    rec = store.create(ClaimRecord.new("minilm-l6", "optimistic", "http", stage="tracing"))
    store.update(rec.id, {"tracing"}, stage="ready", final_checkpoint="0x…")
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import BigInteger, Engine, LargeBinary, String, Text, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from api.errors import OverloadedError, StoreError
from api.jobs.txn import Transactions
from disputes.game.batch import Response
from verinfer.db import Synchronous, UtcDateTime, make_engine

__all__ = ["STAGES", "ClaimRecord", "ClaimStore", "DuplicateRequest", "Source", "Stage"]

T = TypeVar("T")
Stage = Literal[
    "tracing", "awaiting_input", "ready", "proving", "claimed", "local", "settled", "failed"
]
Source = Literal["http", "chain"]
STAGES: tuple[Stage, ...] = (
    "tracing", "awaiting_input", "ready", "proving", "claimed", "local", "settled", "failed",
)  # fmt: skip
OPEN_STAGES: tuple[Stage, ...] = ("tracing", "awaiting_input", "ready", "proving", "claimed")
UNPOSTED: tuple[Stage, ...] = ("tracing", "ready")


class DuplicateRequest(StoreError):
    """Another row already owns this on-chain request id (read that row instead)."""


class _Base(DeclarativeBase):
    pass


class _ClaimRow(_Base):
    __tablename__ = "gateway_claims"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model: Mapped[str] = mapped_column(String(100), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(8))
    stage: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(12), index=True)
    # Unique: one paid request is one claim, whichever of HTTP or the event follower saw it first.
    request_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)
    model_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    input_data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    inputs: Mapped[str | None] = mapped_column(Text, nullable=True)
    input_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    output: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    outputs: Mapped[str | None] = mapped_column(Text, nullable=True)
    output_root: Mapped[str | None] = mapped_column(String(66), nullable=True)
    output_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    final_checkpoint: Mapped[str | None] = mapped_column(String(66), nullable=True)
    output_proof: Mapped[str | None] = mapped_column(Text, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    challenge_deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    bond: Mapped[str | None] = mapped_column(String(78), nullable=True)
    claim_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    # A batched claim: the fulfiller's batch key (written before the claimBatch is sent), then
    # the escrow's batch id and this request's leaf (index, proof) once it is mined.
    batch_key: Mapped[str | None] = mapped_column(String(48), nullable=True, index=True)
    batch_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    batch_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    batch_proof: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


@dataclass(frozen=True)
class ClaimRecord:
    """One claim the gateway owes (see the module doc for the stages).

    ``input_data``/``output`` are the be32 bytes of an optimistic request and claim;
    ``inputs`` (JSON floats) and ``outputs`` (JSON field elements) those of a zk model's.
    ``state`` is the last public status seen: pending, claimed, challenged, final, lost, failed.
    ``batch_key`` names the claimBatch a ready row belongs to (set before it is sent);
    ``batch_id``/``batch_index``/``batch_proof`` (JSON hex list) are its leaf once on chain.
    """

    id: str
    model: str
    mode: str
    source: Source
    stage: Stage
    state: str = "pending"
    request_id: int | None = None
    model_id: int | None = None
    input_data: bytes | None = None
    inputs: str | None = None
    input_hash: str | None = None
    output: bytes | None = None
    outputs: str | None = None
    output_root: str | None = None
    output_hash: str | None = None
    final_checkpoint: str | None = None
    output_proof: str | None = None
    job_id: str | None = None
    challenge_deadline: int | None = None
    bond: str | None = None
    claim_tx: str | None = None
    batch_key: str | None = None
    batch_id: int | None = None
    batch_index: int | None = None
    batch_proof: str | None = None
    error: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC), compare=False)

    def response(self) -> Response | None:
        """The traced answer of a paid request (what finalizing needs), None before it is."""
        if None in (self.request_id, self.output, self.final_checkpoint, self.output_proof):
            return None
        proof = [bytes.fromhex(h.removeprefix("0x")) for h in json.loads(self.output_proof or "")]
        p_n = bytes.fromhex((self.final_checkpoint or "").removeprefix("0x"))
        return Response(self.request_id or 0, p_n, self.output or b"", proof)

    @classmethod
    def new(cls, model: str, mode: str, source: Source, **values: Any) -> ClaimRecord:
        """A fresh record with a new id. Usage: ``ClaimRecord.new("m", "optimistic", "http")``."""
        values.setdefault("stage", "tracing")
        return cls(str(uuid.uuid4()), model, mode, source, **values)


_COLUMNS = [f.name for f in fields(ClaimRecord) if f.name != "created_at"]


def _add_missing_columns(engine: Engine) -> None:
    """Add the nullable columns a newer version has to a table an older one created."""
    have = {c["name"] for c in inspect(engine).get_columns(_ClaimRow.__tablename__)}
    with engine.begin() as conn:
        for col in _ClaimRow.__table__.columns:
            if col.name not in have and col.nullable:
                kind = col.type.compile(engine.dialect)
                conn.execute(
                    text(f"ALTER TABLE {_ClaimRow.__tablename__} ADD COLUMN {col.name} {kind}")
                )


def _record(row: _ClaimRow) -> ClaimRecord:
    values = {name: getattr(row, name) for name in _COLUMNS}
    return ClaimRecord(**values, created_at=row.created_at)


class ClaimStore:
    """CRUD over claim rows; every write is committed before the call returns.

    Transient database errors (a lock held elsewhere, a dropped connection) are retried for
    ``retry_s`` seconds, then StoreBusyError (HTTP 503 + Retry-After): never half-written.
    """

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
            _add_missing_columns(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the claim store at {url!r}: {exc}") from exc
        self.tx = Transactions(self.engine, "claim store", retry_s, _duplicate)

    def assign_batch(self, claim_ids: Sequence[str], key: str) -> list[ClaimRecord]:
        """Mark the ``ready`` rows of no batch yet as members of batch ``key``, in one transaction.

        Returns the rows marked. Why one transaction: a request must never be in two batches
        (the escrow would refuse the second with AlreadySettled, failing all its other rows).
        """

        def mark(s: Session) -> list[_ClaimRow]:
            rows = [s.get(_ClaimRow, i) for i in claim_ids]
            free = [r for r in rows if r is not None and r.stage == "ready" and not r.batch_key]
            for row in free:
                row.batch_key, row.updated_at = key, datetime.now(UTC)
            return free

        return [_record(r) for r in self.tx.run("batch", mark, write=True)]

    def create(self, rec: ClaimRecord, unposted_limit: int | None = None) -> ClaimRecord:
        """Insert ``rec``; DuplicateRequest when its request id already has a row.

        With ``unposted_limit``, OverloadedError (nothing written) when that many rows already
        wait to be traced or posted: the count and the insert are one transaction, so two
        admissions at once cannot both pass the bound.
        """
        now = datetime.now(UTC)
        row = _ClaimRow(**{n: getattr(rec, n) for n in _COLUMNS}, created_at=now, updated_at=now)

        def insert(s: Session) -> None:
            if unposted_limit is not None and _unposted(s) >= unposted_limit:
                raise OverloadedError(
                    f"{unposted_limit} claims are waiting to be traced or posted; retry shortly"
                )
            s.add(row)

        self.tx.run("create", insert, write=True)
        return replace(rec, created_at=now)

    def get(self, claim_id: str) -> ClaimRecord | None:
        row = self.tx.run("read", lambda s: s.get(_ClaimRow, claim_id))
        return _record(row) if row is not None else None

    def by_request(self, request_id: int) -> ClaimRecord | None:
        """The row of an on-chain request id, if any."""
        stmt = select(_ClaimRow).where(_ClaimRow.request_id == request_id)
        row = self.tx.run("read", lambda s: s.scalars(stmt).first())
        return _record(row) if row is not None else None

    def update(
        self, claim_id: str, expect: Collection[str] | None = None, **changes: Any
    ) -> ClaimRecord | None:
        """Change a row if its stage is in ``expect`` (any stage when None); None when not.

        The stage check makes every move a compare-and-set: the HTTP path and the fulfiller
        may both try to advance one row, and only one of them can.
        """

        def change(s: Session) -> _ClaimRow | None:
            row = s.get(_ClaimRow, claim_id)
            if row is None or (expect is not None and row.stage not in expect):
                return None
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = datetime.now(UTC)
            return row

        row = self.tx.run("update", change, write=True)
        return _record(row) if row is not None else None

    def in_stage(self, *stages: Stage) -> list[ClaimRecord]:
        """Rows in any of ``stages``, oldest first."""
        stmt = select(_ClaimRow).where(_ClaimRow.stage.in_(stages)).order_by(_ClaimRow.created_at)
        return self.tx.run("query", lambda s: [_record(r) for r in s.scalars(stmt)])

    def count(self, *stages: Stage) -> int:
        """Rows in any of ``stages``."""
        stmt = select(func.count()).select_from(_ClaimRow).where(_ClaimRow.stage.in_(stages))
        return int(self.tx.run("count", lambda s: s.scalar(stmt) or 0))

    def counts(self) -> dict[str, dict[str, int]]:
        """{model: {state: rows}}: what the claims-by-state metric shows."""
        stmt = select(_ClaimRow.model, _ClaimRow.state, func.count()).group_by(
            _ClaimRow.model, _ClaimRow.state
        )
        out: dict[str, dict[str, int]] = {}
        for model, state, n in self.tx.run("count", lambda s: list(s.execute(stmt))):
            out.setdefault(model, {})[state] = int(n)
        return out


def _unposted(s: Session) -> int:
    # Each unposted claim is a transaction (and a bond) to come: admission bounds them.
    stmt = select(func.count()).select_from(_ClaimRow).where(_ClaimRow.stage.in_(UNPOSTED))
    return int(s.scalar(stmt) or 0)


def _duplicate(exc: IntegrityError) -> StoreError:
    return DuplicateRequest(f"claim store: {exc.orig}")
