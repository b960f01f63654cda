"""Whole dispute games on anvil over the MobileNet-style block and the 1-D conv net (built from
PyTorch in the test): a provider whose run has one wrong element in a step of any kind, the
new window kinds (gconv, maxpool, avgpool) and conv included, loses at the one-step verifier on
the step and row it corrupted; an honest claim survives a lying challenger."""

from __future__ import annotations

import numpy as np
import pytest

from contracts.game_client import Reason
from disputes.execution.executor import load_program
from disputes.game.view import CorruptStep, TraceView
from disputes.tracing.trace import Trace, trace
from tests.contracts.conftest import Env
from tests.contracts.game.bed import Bed, settled_game, verifier_bed
from tests.contracts.game.liars import liar
from tests.disputes import spatial_models as sm

RID = 31
NEW_KINDS = {"gconv", "maxpool", "avgpool"}


@pytest.fixture(scope="module")
def bed(chain_env: Env) -> Bed:
    return verifier_bed(chain_env)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Trace]:
    d = tmp_path_factory.mktemp("spatial-games")
    out = {}
    for name, make, shape in (
        ("mobile", sm.mobile_block, sm.MOBILE_SHAPE),
        ("conv1d", sm.conv1d_net, sm.CONV1D_SHAPE),
    ):
        program = load_program(make(d / f"{name}.onnx"))
        out[name] = trace(program, {"x": sm.sample(shape, 3)})
    return out


def _rows(tr: Trace, s: int) -> int:
    return int(np.prod(tr.program.steps[s].shape[:-1], dtype=np.int64))


def _caught(bed: Bed, tr: Trace, s: int, row: int, col: int, delta: int) -> None:
    played = settled_game(bed, RID, tr, CorruptStep(tr, s, row, col, delta))
    res, final = played.record.resolution, played.record.final
    kind = tr.program.steps[s].kind
    assert res is not None and res.reason == Reason.ONE_STEP, (kind, played.record.moves)
    assert res.winner == bed.env.client.address  # the challenger (check_settled: credits)
    assert final is not None and (final.lo, final.index) == (s, row), (kind, row)
    assert not played.record.errors(), (kind, played.record.errors())


def test_every_step_of_the_mobile_block_loses_when_corrupt(
    bed: Bed, models: dict[str, Trace]
) -> None:
    tr = models["mobile"]
    kinds = set()
    for s, step in enumerate(tr.program.steps):
        _caught(bed, tr, s, _rows(tr, s) - 1, step.shape[-1] - 1, delta=5)
        kinds.add(step.kind)
    assert NEW_KINDS | {"conv", "clip", "reduce_mean", "qmatmul"} <= kinds


def test_inner_rows_of_each_window_step_are_caught(bed: Bed, models: dict[str, Trace]) -> None:
    """Rows whose windows touch no padding and rows on the border, in every window kind of
    both models (the 1-D net's gconv is dilated and grouped, its conv reads a 1 × 5 window)."""
    seen = set()
    for tr in models.values():
        for s, step in enumerate(tr.program.steps):
            if step.kind not in NEW_KINDS | {"conv"}:
                continue
            n = _rows(tr, s)
            for row in sorted({0, n // 2, n - 1}):
                _caught(bed, tr, s, row, (row * 3) % step.shape[-1], delta=-2)
            seen.add(step.kind)
    assert seen == NEW_KINDS | {"conv"}


def test_an_honest_claim_survives_a_lying_challenger(bed: Bed, models: dict[str, Trace]) -> None:
    tr = models["mobile"]
    played = settled_game(bed, RID, tr, TraceView(tr), challenger=liar(tr))
    res = played.record.resolution
    assert res is not None and res.winner == bed.env.provider.address
