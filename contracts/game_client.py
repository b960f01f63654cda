"""Typed client for the DisputeGame: one method per move, the reads, and the event readers.

No strategy lives here: which move to make is ``disputes.game.solver``'s job; this module only
sends and reads (docs/optimistic.md, "The game").

Usage::

    game = GameClient(w3, game_address, challenger)
    gid = game.open(rid, my_final, input_roots, fill, siblings, bond=10**17)
    info = game.get_game(gid)              # GameInfo: phase, lo, hi, roots, node, deadline…
    game.choose(gid, 3, game.points_of(gid))
    GameClient(w3, game_address).timeout(gid)   # anyone, after the deadline
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from web3 import Web3
from web3.contract.contract import ContractEvent, ContractFunction

from contracts.bindings import TxResult, call, send
from contracts.build import SOURCES, load_artifact
from contracts.errors import SignerError
from contracts.reverts import ErrorTable, error_table
from contracts.signer import Signer

# Contracts whose errors a game call can surface: the game itself, the escrow hooks and the
# registry reads it calls, and the one-step verifier whose reverts bubble up.
ERROR_SOURCES = ("DisputeGame", "OneStepVerifier", "InferenceEscrow", "ModelRegistry")
TEST_ERROR_SOURCES = ("MockGameEscrow",)


class Phase(IntEnum):
    """Mirror of ``DisputeGame.Phase``."""

    NONE = 0
    DISSECT = 1
    CHOOSE = 2
    SLOT_PROOF = 3
    REVEAL = 4
    PICK = 5
    ROW = 6
    ONE_STEP = 7
    RESOLVED = 8
    CANCELLED = 9

    @property
    def over(self) -> bool:
        return self >= Phase.RESOLVED

    @property
    def challenger_moves(self) -> bool:
        """Whether the challenger is the party to move in this phase."""
        return self in (Phase.CHOOSE, Phase.PICK, Phase.ONE_STEP)


class Reason(IntEnum):
    """Mirror of ``DisputeGame.Reason``: why a game ended."""

    TIMEOUT = 0
    ONE_STEP = 1
    PADDING = 2


@dataclass(frozen=True)
class GameInfo:
    """``getGame``: one game's state (fields in the contract's struct order)."""

    game_id: int
    request_id: int
    asserter: str
    phase: Phase
    deadline: int
    challenger: str
    lo: int
    hi: int
    n_steps: int
    bond: int
    program_root: bytes
    lo_root: bytes
    hi_root: bytes
    posted: bytes
    node: bytes
    index: int
    left: int
    n_rows: int
    width: int
    first_step: int

    @property
    def mover(self) -> str:
        """The address whose move it is (meaningless once the game is over)."""
        return self.challenger if self.phase.challenger_moves else self.asserter


@dataclass(frozen=True)
class Resolution:
    """A ``Resolved`` event."""

    game_id: int
    winner: str
    loser: str
    reason: Reason


def game_error_table() -> ErrorTable:
    """Every custom error a game transaction may revert with, nested ones included."""
    names = [n for n in (*ERROR_SOURCES, *TEST_ERROR_SOURCES) if n in SOURCES]
    return error_table(*(load_artifact(n).abi for n in names))


def _info(game_id: int, g: Sequence[Any]) -> GameInfo:
    return GameInfo(
        game_id=game_id,
        request_id=int(g[0]),
        asserter=str(g[1]),
        phase=Phase(g[2]),
        deadline=int(g[3]),
        challenger=str(g[4]),
        lo=int(g[5]),
        hi=int(g[6]),
        n_steps=int(g[7]),
        bond=int(g[8]),
        program_root=bytes(g[9]),
        lo_root=bytes(g[10]),
        hi_root=bytes(g[11]),
        posted=bytes(g[12]),
        node=bytes(g[13]),
        index=int(g[14]),
        left=int(g[15]),
        n_rows=int(g[16]),
        width=int(g[17]),
        first_step=int(g[18]),
    )


class GameClient:
    """DisputeGame at `address`; moves need a signer (the asserter or the challenger)."""

    def __init__(self, w3: Web3, address: str, signer: Signer | None = None) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=load_artifact("DisputeGame").abi)
        self.signer = signer
        self._errors = game_error_table()

    # ---- plumbing ----

    def _read(self, fn: ContractFunction) -> Any:
        return call(fn.call, self._errors, f"{fn.fn_name} call")

    def _send(self, fn: ContractFunction, value: int = 0) -> TxResult:
        if self.signer is None:
            raise SignerError(f"{fn.fn_name} sends a transaction: create the client with a signer")
        return send(self.w3, self.signer, fn, self._errors, value)

    def move(self, fn: str, args: Sequence[Any]) -> TxResult:
        """Send a move by its contract function's name: ``game.move("bisect", (gid, pts))``."""
        return self._send(self.contract.functions[fn](*args))

    # ---- opening and moves ----

    def open(
        self,
        request_id: int,
        challenger_checkpoint: bytes,
        input_roots: Sequence[bytes],
        fill: Sequence[bytes],
        siblings: Sequence[bytes],
        bond: int,
    ) -> int:
        """Challenge the claim on `request_id` with `bond` wei; returns the game id.

        Usage: ``gid = game.open(rid, my_pn, roots, data.fill, data.siblings, bond=min_bond)``
        """
        fn = self.contract.functions.open(
            request_id, challenger_checkpoint, list(input_roots), list(fill), list(siblings)
        )
        tx = self._send(fn, bond)
        return int(
            self.contract.events.GameOpened().process_receipt({"logs": tx.logs})[0].args.gameId
        )

    def bisect(self, game_id: int, points: Sequence[bytes]) -> TxResult:
        return self.move("bisect", (game_id, list(points)))

    def choose(self, game_id: int, j: int, points: Sequence[bytes]) -> TxResult:
        return self.move("choose", (game_id, j, list(points)))

    def prove_slot(
        self,
        game_id: int,
        step_message: bytes,
        step_proof: Sequence[bytes],
        root: bytes,
        siblings: Sequence[bytes],
    ) -> TxResult:
        args = (game_id, step_message, list(step_proof), root, list(siblings))
        return self.move("proveSlot", args)

    def reveal_nodes(self, game_id: int, nodes: Sequence[bytes]) -> TxResult:
        return self.move("revealNodes", (game_id, list(nodes)))

    def pick_node(self, game_id: int, j: int, nodes: Sequence[bytes]) -> TxResult:
        return self.move("pickNode", (game_id, j, list(nodes)))

    def reveal_row(self, game_id: int, leaf: bytes) -> TxResult:
        return self.move("revealRow", (game_id, leaf))

    def prove_element(self, game_id: int, leaf: bytes, proof: Sequence[Any]) -> TxResult:
        """``proof`` is ``OneStepProof.proof`` (stepMessage, stepProof, element, slots, table)."""
        return self.move("proveElement", (game_id, leaf, tuple(proof)))

    def timeout(self, game_id: int) -> TxResult:
        """End a game whose deadline passed: the party to move loses (anyone may call)."""
        return self._send(self.contract.functions.timeout(game_id))

    def cancel(self, game_id: int) -> TxResult:
        """Cancel a game whose claim another game voided; its bond is credited back."""
        return self._send(self.contract.functions.cancel(game_id))

    def withdraw(self) -> TxResult:
        """Send the signer's credits to the signer."""
        return self._send(self.contract.functions.withdraw())

    # ---- reads ----

    def get_game(self, game_id: int) -> GameInfo:
        """The game's state; phase NONE for an id that was never opened."""
        return _info(game_id, self._read(self.contract.functions.getGame(game_id)))

    def games_of(self, request_id: int) -> list[int]:
        return [int(x) for x in self._read(self.contract.functions.gamesOf(request_id))]

    def game_count(self) -> int:
        return int(self._read(self.contract.functions.gameCount()))

    def credits(self, account: str) -> int:
        return int(self._read(self.contract.functions.credits(Web3.to_checksum_address(account))))

    def burned(self) -> int:
        return int(self._read(self.contract.functions.burned()))

    def arity(self) -> int:
        return int(self._read(self.contract.functions.arity()))

    def move_timeout(self) -> int:
        return int(self._read(self.contract.functions.moveTimeout()))

    def escrow(self) -> str:
        return str(self._read(self.contract.functions.escrow()))

    def positions_of(self, lo: int, hi: int) -> list[int]:
        """The contract's dissection positions p_0..p_m of (lo, hi)."""
        return [int(x) for x in self._read(self.contract.functions.positionsOf(lo, hi))]

    # ---- events: the vectors a move posted (the game stores only their hashes) ----

    def _logs(self, event: ContractEvent, game_id: int, from_block: int) -> list[Any]:
        return list(
            call(
                lambda: event.get_logs(from_block=from_block, argument_filters={"gameId": game_id}),
                self._errors,
                f"{event.event_name} log query",
            )
        )

    def _last(self, name: str, game_id: int, from_block: int) -> Any | None:
        logs = self._logs(self.contract.events[name](), game_id, from_block)
        return logs[-1]["args"] if logs else None

    def points_of(self, game_id: int, from_block: int = 0) -> list[bytes]:
        """The points of the game's latest ``bisect`` ([] before the first)."""
        ev = self._last("Bisected", game_id, from_block)
        return [bytes(p) for p in ev["points"]] if ev else []

    def nodes_of(self, game_id: int, from_block: int = 0) -> list[bytes]:
        """The nodes of the game's latest ``revealNodes`` ([] before the first)."""
        ev = self._last("NodesRevealed", game_id, from_block)
        return [bytes(p) for p in ev["nodes"]] if ev else []

    def row_of(self, game_id: int, from_block: int = 0) -> bytes:
        """The leaf of the game's ``revealRow`` (b"" before it)."""
        ev = self._last("RowRevealed", game_id, from_block)
        return bytes(ev["leaf"]) if ev else b""

    def resolution_of(self, game_id: int, from_block: int = 0) -> Resolution | None:
        """How the game ended (None while it runs or when it was cancelled)."""
        ev = self._last("Resolved", game_id, from_block)
        if ev is None:
            return None
        return Resolution(game_id, str(ev["winner"]), str(ev["loser"]), Reason(ev["reason"]))
