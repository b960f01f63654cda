"""The agents' store: round trips, the write-ahead transaction log, and what survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from disputes.errors import GameStoreError
from disputes.game.store import ClaimRecord, GameRecord, GameStore
from verinfer.settings import Settings

ME = "0x" + "11" * 20
THEM = "0x" + "22" * 20
CP_A = "0x" + "aa" * 32
CP_B = "0x" + "bb" * 32


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'disputes.db'}"


@pytest.fixture
def store(url: str) -> GameStore:
    return GameStore(url)


def _claim(request_id: int = 7, verdict: str = "wrong", watcher: str = ME) -> ClaimRecord:
    return ClaimRecord(request_id, watcher, 1, THEM, CP_A, CP_B, verdict, 1_700_000_000, 42)  # type: ignore[arg-type]


def _signed(store: GameStore, key: str = "game:3:abc", nonce: int = 5, h: str = "01") -> int:
    rec = store.record_signed(
        key=key,
        kind="bisect",
        sender=ME,
        nonce=nonce,
        tx_hash="0x" + h * 32,
        raw=b"\x02signed-bytes",
        game_id=3,
        request_id=7,
    )
    return rec.id


def test_claims_round_trip_and_upsert(store: GameStore) -> None:
    assert store.claim(7, ME) is None
    store.save_claim(_claim())
    assert store.claim(7, ME) == _claim()
    store.save_claim(_claim(8, "right"))
    store.save_claim(
        ClaimRecord(7, ME, 1, THEM, CP_A, CP_A, "right", 1_700_000_000, 42, "rechecked")
    )
    again = store.claim(7, ME)
    assert again is not None and again.verdict == "right" and again.note == "rechecked"
    assert [c.request_id for c in store.claims()] == [7, 8]
    assert [c.request_id for c in store.claims(verdict="right")] == [7, 8]
    store.mark_settled(8, ME)
    assert [c.request_id for c in store.claims(settled=False)] == [7]
    settled = store.claim(8, ME)
    assert settled is not None and settled.settled


def test_claims_are_keyed_by_watcher(store: GameStore) -> None:
    # The provider finalizing its claim and a watcher giving up on it are separate facts.
    store.save_claim(_claim(watcher=ME))
    store.save_claim(_claim(watcher=THEM, verdict="right"))
    store.mark_settled(7, THEM)
    mine, theirs = store.claim(7, ME), store.claim(7, THEM)
    assert mine is not None and (mine.verdict, mine.settled) == ("wrong", False)
    assert theirs is not None and (theirs.verdict, theirs.settled) == ("right", True)
    assert [c.watcher for c in store.claims(settled=False)] == [ME]
    assert [c.verdict for c in store.claims(watcher=THEM)] == ["right"]


def test_games_are_keyed_by_player(store: GameStore) -> None:
    store.save_game(GameRecord(3, ME, "challenger", 7))
    store.save_game(GameRecord(3, THEM, "asserter", 7, phase="Choose", last_tx="0x" + "cd" * 32))
    mine, theirs = store.game(3, ME), store.game(3, THEM)
    assert mine == GameRecord(3, ME, "challenger", 7)
    assert theirs is not None and theirs.role == "asserter" and theirs.phase == "Choose"
    store.update_game(3, ME, phase="OneStep", status="won", winner=ME)
    assert store.game(3, ME) == GameRecord(3, ME, "challenger", 7, "OneStep", "won", None, ME)
    assert [g.player for g in store.games(status="playing")] == [THEM]
    assert [g.role for g in store.games(player=ME)] == ["challenger"]


def test_update_of_an_unknown_game_fails(store: GameStore) -> None:
    with pytest.raises(GameStoreError, match="not in the store"):
        store.update_game(99, ME, status="won")


def test_a_signed_transaction_survives_a_restart_until_it_is_decided(url: str) -> None:
    first = GameStore(url)
    tx_id = _signed(first)
    first.mark_tx(tx_id, "sent")
    restarted = GameStore(url)  # a new process on the same file
    (pending,) = restarted.in_flight(ME)
    assert pending.id == tx_id and pending.status == "sent"
    assert pending.raw == b"\x02signed-bytes" and pending.nonce == 5
    assert restarted.last_tx("game:3:abc", ME) == pending
    mined = restarted.mark_tx(tx_id, "mined", block=12)
    assert mined.status == "mined" and mined.block == 12
    assert mined.raw is None  # a decided transaction keeps no bytes
    assert restarted.in_flight(ME) == []
    assert restarted.in_flight(THEM) == []


def test_last_tx_is_the_newest_attempt_for_that_key(store: GameStore) -> None:
    old = _signed(store, nonce=5, h="01")
    store.mark_tx(old, "dropped")
    new = _signed(store, nonce=6, h="02")
    _signed(store, key="game:3:other", nonce=7, h="03")
    last = store.last_tx("game:3:abc", ME)
    assert last is not None and last.id == new and last.nonce == 6
    assert store.last_tx("game:3:abc", THEM) is None
    assert [t.nonce for t in store.txs(game_id=3)] == [5, 6, 7]
    assert [t.nonce for t in store.txs(status="dropped")] == [5]


def test_one_hash_is_recorded_once(store: GameStore) -> None:
    _signed(store)
    with pytest.raises(GameStoreError, match="transaction write failed"):
        _signed(store)


def test_cursor_persists(url: str) -> None:
    store = GameStore(url)
    assert store.cursor("watch:0xEscrow") is None
    store.set_cursor("watch:0xEscrow", 10)
    store.set_cursor("watch:0xEscrow", 11)
    assert GameStore(url).cursor("watch:0xEscrow") == 11


def test_sqlite_runs_in_wal_mode(store: GameStore) -> None:
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_from_settings_defaults_to_the_data_dir(tmp_path: Path) -> None:
    store = GameStore.from_settings(Settings(data_dir=tmp_path / "data"))
    store.save_claim(_claim())
    assert (tmp_path / "data" / "disputes.db").is_file()
    named = GameStore.from_settings(
        Settings(data_dir=tmp_path, disputes_database_url=f"sqlite:///{tmp_path / 'x.db'}")
    )
    assert named.url.endswith("x.db") and named.claim(7, ME) is None


def test_an_unopenable_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GameStoreError, match="cannot open the dispute store"):
        GameStore(f"sqlite:///{tmp_path / 'missing' / 'folder' / 'd.db'}")
