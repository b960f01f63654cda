"""What the dispute agents remember: claims checked, games played, and every transaction sent.

Only small facts are kept: a request's input, the trace and the game state are all on the chain
or re-computable from it, so a lost database costs re-execution, never money. What the chain
cannot tell is whether *we* are about to send a move: each transaction is written here signed,
before it is broadcast (``signed`` → ``sent`` → ``mined``), so a restart rebroadcasts the same
bytes (same nonce: it cannot execute twice) instead of signing a second move.

SQLite (WAL) by default: ``<data dir>/disputes.db``, or ``VERINFER_DATABASE_URL``.

Usage::

    store = GameStore.from_settings()
    store.save_claim(ClaimRecord(7, me, 1, provider, "0xaa…", "0xbb…", "wrong", 1700000000, 42))
    store.save_game(GameRecord(3, "0xMe…", "challenger", 7))
    store.games(status="playing")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    LargeBinary,
    String,
    Text,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from disputes.errors import GameStoreError
from verinfer.db import UtcDateTime, make_engine, sqlite_url
from verinfer.settings import Settings, get_settings

T = TypeVar("T")
Role = Literal["asserter", "challenger"]
Verdict = Literal["right", "wrong", "unknown"]
GameStatus = Literal["playing", "won", "lost", "cancelled"]
TxStatus = Literal["signed", "sent", "mined", "reverted", "dropped"]
IN_FLIGHT: tuple[TxStatus, ...] = ("signed", "sent")
FILE_NAME = "disputes.db"


class _Base(DeclarativeBase):
    pass


class _ClaimRow(_Base):
    __tablename__ = "claims"
    request_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Keyed by watcher too: what is left to do on a claim (finalize it, challenge it) is each
    # party's own, even when a provider and a watcher share one data dir.
    watcher: Mapped[str] = mapped_column(String(42), primary_key=True)
    model_id: Mapped[int] = mapped_column(BigInteger)
    provider: Mapped[str] = mapped_column(String(42), index=True)
    claimed: Mapped[str] = mapped_column(String(66))
    honest: Mapped[str | None] = mapped_column(String(66), nullable=True)
    verdict: Mapped[str] = mapped_column(String(8))
    window_end: Mapped[int] = mapped_column(BigInteger)
    block: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class _GameRow(_Base):
    __tablename__ = "games"
    game_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Keyed by player too: one database may hold both sides of a game (a provider defending
    # and a watcher challenging from the same data dir) without either overwriting the other.
    player: Mapped[str] = mapped_column(String(42), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    request_id: Mapped[int] = mapped_column(BigInteger, index=True)
    phase: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), index=True)
    last_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    winner: Mapped[str | None] = mapped_column(String(42), nullable=True)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class _TxRow(_Base):
    __tablename__ = "transactions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    game_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    request_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sender: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66), unique=True)
    # The signed bytes only while in flight (a rebroadcast needs them); cleared once decided.
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class _CursorRow(_Base):
    __tablename__ = "cursors"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    block: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True)
class ClaimRecord:
    """A claim `watcher` saw and what re-execution said about it (checkpoints as 0x-hex).

    ``watcher`` is the address that recorded it ("" for a check made without a signer).
    """

    request_id: int
    watcher: str
    model_id: int
    provider: str
    claimed: str
    honest: str | None
    verdict: Verdict
    window_end: int
    block: int
    note: str = ""
    settled: bool = False


@dataclass(frozen=True)
class GameRecord:
    """A game we play, as we last saw it (the chain is the truth; this is our bookmark)."""

    game_id: int
    player: str
    role: Role
    request_id: int
    phase: str = ""
    status: GameStatus = "playing"
    last_tx: str | None = None
    winner: str | None = None
    withdrawn: bool = False


@dataclass(frozen=True)
class TxRecord:
    """One transaction we signed: what it was for (``key``), and how far it got."""

    id: int
    key: str
    kind: str
    game_id: int | None
    request_id: int | None
    sender: str
    nonce: int
    tx_hash: str
    raw: bytes | None
    status: TxStatus
    block: int | None
    created_at: datetime = field(compare=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _claim(row: _ClaimRow) -> ClaimRecord:
    return ClaimRecord(
        row.request_id,
        row.watcher,
        row.model_id,
        row.provider,
        row.claimed,
        row.honest,
        row.verdict,  # type: ignore[arg-type]
        row.window_end,
        row.block,
        row.note,
        row.settled,
    )


def _game(row: _GameRow) -> GameRecord:
    return GameRecord(
        row.game_id,
        row.player,
        row.role,  # type: ignore[arg-type]
        row.request_id,
        row.phase,
        row.status,  # type: ignore[arg-type]
        row.last_tx,
        row.winner,
        row.withdrawn,
    )


def _tx(row: _TxRow) -> TxRecord:
    return TxRecord(
        row.id,
        row.key,
        row.kind,
        row.game_id,
        row.request_id,
        row.sender,
        row.nonce,
        row.tx_hash,
        row.raw,
        row.status,  # type: ignore[arg-type]
        row.block,
        row.created_at,
    )


class GameStore:
    """Claims, games, signed transactions and block cursors; every write commits at once.

    Usage: ``store = GameStore("sqlite:///disputes.db")``
    """

    def __init__(self, url: str, *, busy_timeout_s: float = 10.0) -> None:
        self.url = url
        try:
            self.engine = make_engine(url, busy_timeout_s)
            _Base.metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise GameStoreError(
                f"cannot open the dispute store at {url!r}: {exc}; check "
                "VERINFER_DISPUTES_DATABASE_URL and that its folder exists and is writable"
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> GameStore:
        """The store the settings name: ``<data dir>/disputes.db`` unless a URL is set."""
        s = settings or get_settings()
        url = s.disputes_database_url or s.database_url
        if url is None:
            s.data_dir.mkdir(parents=True, exist_ok=True)
            url = sqlite_url(s.data_dir / FILE_NAME)
        return cls(url, busy_timeout_s=s.store_busy_timeout_s)

    def _run(self, what: str, fn: Callable[[Session], T]) -> T:
        try:
            with Session(self.engine, expire_on_commit=False) as s:
                out = fn(s)
                s.commit()
                return out
        except SQLAlchemyError as exc:
            raise GameStoreError(f"dispute store {what} failed: {exc}") from None

    # claims

    def save_claim(self, rec: ClaimRecord) -> ClaimRecord:
        """Insert or replace the claim on ``rec.request_id`` as ``rec.watcher`` sees it."""

        def upsert(s: Session) -> None:
            key = (rec.request_id, rec.watcher)
            row = s.get(_ClaimRow, key) or _ClaimRow(request_id=rec.request_id, watcher=rec.watcher)
            for name in ("model_id", "provider", "claimed", "honest", "verdict"):
                setattr(row, name, getattr(rec, name))
            row.window_end, row.block, row.note = rec.window_end, rec.block, rec.note
            row.settled, row.updated_at = rec.settled, _now()
            s.add(row)

        self._run("claim write", upsert)
        return rec

    def claim(self, request_id: int, watcher: str) -> ClaimRecord | None:
        row = self._run("claim read", lambda s: s.get(_ClaimRow, (request_id, watcher)))
        return _claim(row) if row else None

    def claims(
        self,
        *,
        watcher: str | None = None,
        verdict: Verdict | None = None,
        settled: bool | None = None,
    ) -> list[ClaimRecord]:
        """Claims seen, oldest request first; optionally one watcher's, verdict or state."""
        stmt = select(_ClaimRow).order_by(_ClaimRow.request_id, _ClaimRow.watcher)
        if watcher is not None:
            stmt = stmt.where(_ClaimRow.watcher == watcher)
        if verdict is not None:
            stmt = stmt.where(_ClaimRow.verdict == verdict)
        if settled is not None:
            stmt = stmt.where(_ClaimRow.settled == settled)
        return self._run("claims query", lambda s: [_claim(r) for r in s.scalars(stmt)])

    def mark_settled(self, request_id: int, watcher: str) -> None:
        """Nothing is left for `watcher` to do on this claim (finalized, voided or given up)."""

        def update(s: Session) -> None:
            row = s.get(_ClaimRow, (request_id, watcher))
            if row is not None:
                row.settled, row.updated_at = True, _now()

        self._run("claim update", update)

    # games

    def save_game(self, rec: GameRecord) -> GameRecord:
        """Insert or replace ``rec`` (keyed by game id and player)."""

        def upsert(s: Session) -> None:
            key = (rec.game_id, rec.player)
            row = s.get(_GameRow, key) or _GameRow(game_id=rec.game_id, player=rec.player)
            for name in ("role", "request_id", "phase", "status", "last_tx", "winner"):
                setattr(row, name, getattr(rec, name))
            row.withdrawn, row.updated_at = rec.withdrawn, _now()
            s.add(row)

        self._run("game write", upsert)
        return rec

    def game(self, game_id: int, player: str) -> GameRecord | None:
        row = self._run("game read", lambda s: s.get(_GameRow, (game_id, player)))
        return _game(row) if row else None

    def update_game(self, game_id: int, player: str, **changes: object) -> GameRecord:
        """Change some fields of a stored game; GameStoreError when it was never saved."""
        rec = self.game(game_id, player)
        if rec is None:
            raise GameStoreError(f"game {game_id} of {player} is not in the store")
        return self.save_game(replace(rec, **changes))  # type: ignore[arg-type]

    def games(
        self, *, player: str | None = None, status: GameStatus | None = None
    ) -> list[GameRecord]:
        """Games in the store, oldest first, optionally one player's or one status."""
        stmt = select(_GameRow).order_by(_GameRow.game_id, _GameRow.player)
        if player is not None:
            stmt = stmt.where(_GameRow.player == player)
        if status is not None:
            stmt = stmt.where(_GameRow.status == status)
        return self._run("games query", lambda s: [_game(r) for r in s.scalars(stmt)])

    # transactions

    def record_signed(
        self,
        *,
        key: str,
        kind: str,
        sender: str,
        nonce: int,
        tx_hash: str,
        raw: bytes,
        game_id: int | None = None,
        request_id: int | None = None,
    ) -> TxRecord:
        """Remember a signed transaction before it is broadcast (the write-ahead step)."""
        now = _now()
        row = _TxRow(
            key=key,
            kind=kind,
            game_id=game_id,
            request_id=request_id,
            sender=sender,
            nonce=nonce,
            tx_hash=tx_hash,
            raw=raw,
            status="signed",
            block=None,
            created_at=now,
            updated_at=now,
        )
        self._run("transaction write", lambda s: s.add(row))
        return _tx(row)

    def mark_tx(self, tx_id: int, status: TxStatus, block: int | None = None) -> TxRecord:
        """Move a transaction on (sent / mined / reverted / dropped)."""

        def update(s: Session) -> _TxRow:
            row = s.get(_TxRow, tx_id)
            if row is None:
                raise GameStoreError(f"transaction {tx_id} is not in the store")
            row.status, row.updated_at = status, _now()
            row.block = block if block is not None else row.block
            if status not in IN_FLIGHT:
                row.raw = None
            return row

        return _tx(self._run("transaction update", update))

    def last_tx(self, key: str, sender: str) -> TxRecord | None:
        """The newest transaction `sender` signed for `key` (one game state, one action)."""
        stmt = (
            select(_TxRow)
            .where(_TxRow.key == key, _TxRow.sender == sender)
            .order_by(_TxRow.id.desc())
            .limit(1)
        )
        row = self._run("transaction read", lambda s: s.scalars(stmt).first())
        return _tx(row) if row else None

    def txs(
        self,
        *,
        sender: str | None = None,
        game_id: int | None = None,
        status: TxStatus | None = None,
    ) -> list[TxRecord]:
        """Signed transactions, oldest first, filtered by sender, game or status."""
        stmt = select(_TxRow).order_by(_TxRow.id)
        if sender is not None:
            stmt = stmt.where(_TxRow.sender == sender)
        if game_id is not None:
            stmt = stmt.where(_TxRow.game_id == game_id)
        if status is not None:
            stmt = stmt.where(_TxRow.status == status)
        return self._run("transactions query", lambda s: [_tx(r) for r in s.scalars(stmt)])

    def in_flight(self, sender: str) -> list[TxRecord]:
        """`sender`'s transactions signed or sent but not yet known mined (resume these first)."""
        return [t for t in self.txs(sender=sender) if t.status in IN_FLIGHT]

    # cursors

    def cursor(self, name: str) -> int | None:
        """The last block a follower (``watch:<escrow>``) has fully processed, if any."""
        row = self._run("cursor read", lambda s: s.get(_CursorRow, name))
        return row.block if row else None

    def set_cursor(self, name: str, block: int) -> None:
        def upsert(s: Session) -> None:
            row = s.get(_CursorRow, name) or _CursorRow(name=name)
            row.block = block
            s.add(row)

        self._run("cursor write", upsert)
