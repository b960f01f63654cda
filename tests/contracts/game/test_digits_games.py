"""Whole games on the digits MLP and CNN: every step of the MLP and every row of the CNN's
first two steps corrupted, the output, padding and wide leaves; one deployment, each game
rolled back with a snapshot. Prints the CNN's moves and gas per party (the bench reuses
``disputes.game.local.play_local`` for the same numbers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from contracts.game_client import Reason
from disputes.execution.executor import load_program
from disputes.game.local import PlayRecord
from disputes.game.solver import Role
from disputes.game.view import CorruptOutput, CorruptStep, PaddingRow, TraceView, View, WideLeaf
from disputes.tracing.trace import Trace, trace
from tests.contracts.conftest import Env
from tests.contracts.game.bed import Bed, settled_game, verifier_bed
from tests.contracts.game.liars import last, liar

RID = 11


@pytest.fixture(scope="module")
def bed(chain_env: Env) -> Bed:
    return verifier_bed(chain_env)


@pytest.fixture(scope="module")
def digits(registry: Any) -> dict[str, Trace]:
    from models.digits import load_digits_split

    x = load_digits_split().x_test[0]
    out = {}
    for name, shape in (("digits-mlp", (1, 64)), ("digits-cnn", (1, 1, 8, 8))):
        program = load_program(registry.onnx_path(name))
        out[name] = trace(program, {program.inputs[0].name: x.reshape(shape)})
    return out


def _n_rows(tr: Trace, s: int) -> int:
    return int(np.prod(tr.program.steps[s].shape[:-1], dtype=np.int64))


def test_every_corrupt_step_of_the_mlp_loses(bed: Bed, digits: dict[str, Trace]) -> None:
    tr = digits["digits-mlp"]
    for s, step in enumerate(tr.program.steps):
        for col in (0, step.shape[-1] - 1):
            played = settled_game(bed, RID, tr, CorruptStep(tr, s, 0, col, delta=-3))
            res = played.record.resolution
            assert res is not None and res.reason == Reason.ONE_STEP, (s, col)
            assert [m.fn for m in played.record.moves][-2:] == ["revealRow", "proveElement"]


def test_every_step_of_the_cnn_loses_when_corrupt(bed: Bed, digits: dict[str, Trace]) -> None:
    tr = digits["digits-cnn"]
    for s, step in enumerate(tr.program.steps):  # conv, relu, reshape, qmatmul
        last_row = _n_rows(tr, s) - 1
        cheat = CorruptStep(tr, s, last_row, step.shape[-1] - 1, delta=9)
        played = settled_game(bed, RID, tr, cheat)
        res, final = played.record.resolution, played.record.final
        assert res is not None and res.reason == Reason.ONE_STEP, (s, step.kind)
        assert final is not None and (final.lo, final.index) == (s, last_row)


def test_every_row_of_the_cnn_conv_and_relu_is_caught(bed: Bed, digits: dict[str, Trace]) -> None:
    tr = digits["digits-cnn"]
    for s in (0, 1):
        assert _n_rows(tr, s) == 24  # (1, 4, 6, 6): 24 rows of 6, padded to 32
        for row in range(24):
            played = settled_game(bed, RID, tr, CorruptStep(tr, s, row, row % 6, delta=5))
            res, final = played.record.resolution, played.record.final
            assert res is not None and res.reason == Reason.ONE_STEP, (s, row)
            assert final is not None and (final.lo, final.index) == (s, row)


def test_every_output_row_and_value_of_the_cnn_is_caught(
    bed: Bed, digits: dict[str, Trace]
) -> None:
    tr = digits["digits-cnn"]
    out = tr.program.output_slot - tr.program.first_step_slot
    for row in range(_n_rows(tr, out)):
        for col in range(tr.program.steps[out].shape[-1]):
            played = settled_game(bed, RID, tr, CorruptOutput(tr, row, col, delta=1))
            res = played.record.resolution
            assert res is not None and res.reason == Reason.ONE_STEP, (row, col)


CHEATS: list[tuple[str, Callable[[Trace], View], Reason, str]] = [
    ("padding-conv", lambda t: PaddingRow(t, 0), Reason.PADDING, ""),
    ("padding-relu", lambda t: PaddingRow(t, 1), Reason.PADDING, ""),
    ("wide-leaf", lambda t: WideLeaf(t, 1, 23), Reason.TIMEOUT, "NonCanonicalLeaf"),
]


@pytest.mark.parametrize(("name", "make", "reason", "error"), CHEATS, ids=[c[0] for c in CHEATS])
def test_cnn_commitment_cheats_lose(
    bed: Bed,
    digits: dict[str, Trace],
    name: str,
    make: Callable[[Trace], View],
    reason: Reason,
    error: str,
) -> None:
    tr = digits["digits-cnn"]
    played = settled_game(bed, RID, tr, make(tr))
    res = played.record.resolution
    assert res is not None and res.reason == reason, played.record.moves
    if error:
        assert (Role.ASSERTER, "revealRow", error) in played.record.errors()


def test_a_challenger_that_picks_padding_loses_at_once(bed: Bed, digits: dict[str, Trace]) -> None:
    tr = digits["digits-cnn"]
    played = settled_game(bed, RID, tr, TraceView(tr), challenger=liar(tr, pick=last))
    res = played.record.resolution
    assert res is not None and res.reason == Reason.PADDING
    assert res.winner == bed.env.provider.address


def _report(title: str, rec: PlayRecord) -> str:
    lines = [title]
    for role in (Role.ASSERTER, Role.CHALLENGER):
        moves = rec.gas_of(role)
        total = sum(g for _, g in moves)
        shown = ", ".join(f"{fn} {gas:,}" for fn, gas in moves)
        lines.append(f"  {role.value}: {len(moves)} moves, {total:,} gas: {shown}")
    return "\n".join(lines)


def test_cnn_moves_and_gas_per_party(bed: Bed, digits: dict[str, Trace]) -> None:
    tr = digits["digits-cnn"]
    reports = []
    for title, view in (
        ("digits-cnn, conv step 0 row 17 corrupt", CorruptStep(tr, 0, 17, 2, 1)),
        ("digits-cnn, output corrupt", CorruptOutput(tr, 0, 3, 1)),
    ):
        rec = settled_game(bed, RID, tr, view).record
        reports.append(_report(title, rec))
        gas = [g for role in Role for _, g in rec.gas_of(role)]
        assert gas and max(gas) < 1_000_000, rec.moves  # every move fits far below a block
        assert not rec.errors()
    print("\n" + "\n".join(reports))
