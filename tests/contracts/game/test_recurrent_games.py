"""Whole dispute games over the LSTM (seq 8, hidden 12) and an MLP with the new table functions:
a provider whose run has one wrong element at a step of each kind loses at the one-step
verifier, on the step it corrupted; an honest LSTM claim survives a lying challenger."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from contracts.game_client import Reason
from disputes.commitments.descriptor import LUT_FUNCTIONS, step_params
from disputes.execution.executor import load_program
from disputes.game.view import CorruptStep, TraceView
from disputes.program.ir import Step
from disputes.tracing.trace import Trace, trace
from tests.contracts.conftest import Env
from tests.contracts.game.bed import Bed, settled_game, verifier_bed
from tests.contracts.game.liars import liar
from tests.disputes.act_models import LastStep, export, sequence_input

RID = 21


@pytest.fixture(scope="module")
def bed(chain_env: Env) -> Bed:
    return verifier_bed(chain_env)


@pytest.fixture(scope="module")
def lstm(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    x = sequence_input()
    path = export(LastStep("lstm"), (x,), tmp_path_factory.mktemp("lstm") / "lstm.onnx")
    return trace(load_program(path), {"x": x.numpy()})


class _Activations(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b = torch.nn.Linear(8, 8), torch.nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.mish(self.a(x)) + torch.nn.functional.softplus(x * 3)
        out: torch.Tensor = torch.nn.functional.hardswish(torch.nn.functional.elu(self.b(h)))
        return out


@pytest.fixture(scope="module")
def activations(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    path = export(_Activations(), (torch.zeros(2, 8),), tmp_path_factory.mktemp("a") / "a.onnx")
    x = np.random.default_rng(1).standard_normal((2, 8)).astype(np.float32) * 2
    return trace(load_program(path), {"x": x})


def _label(step: Step) -> str:
    return f"lut {LUT_FUNCTIONS[step_params(step)[0]]}" if step.kind == "lut" else step.kind


def _first_of_each(tr: Trace) -> dict[str, int]:
    first: dict[str, int] = {}
    for i, step in enumerate(tr.program.steps):
        first.setdefault(_label(step), i)
    return first


def _corrupt_each_kind(bed: Bed, tr: Trace) -> set[str]:
    """Corrupt the last element of the first step of each kind; every game lands on it."""
    caught = set()
    for label, s in _first_of_each(tr).items():
        step = tr.program.steps[s]
        rows = int(np.prod(step.shape[:-1], dtype=np.int64))
        cheat = CorruptStep(tr, s, rows - 1, step.shape[-1] - 1, delta=7)
        played = settled_game(bed, RID, tr, cheat)
        res, final = played.record.resolution, played.record.final
        assert res is not None and res.reason == Reason.ONE_STEP, (label, played.record.moves)
        assert final is not None and (final.lo, final.index) == (s, rows - 1), label
        caught.add(label)
    return caught


def test_a_corrupt_lstm_step_of_each_kind_loses(bed: Bed, lstm: Trace) -> None:
    caught = _corrupt_each_kind(bed, lstm)
    assert {"lut sigmoid", "lut tanh", "slice", "qmatmul", "mul", "add", "concat"} <= caught


def test_a_corrupt_step_late_in_the_lstm_loses(bed: Bed, lstm: Trace) -> None:
    """The cell state of the last time step (its last add), deep in the unrolled sequence."""
    s = max(i for i, step in enumerate(lstm.program.steps) if step.kind == "add")
    played = settled_game(bed, RID, lstm, CorruptStep(lstm, s, 0, 5, delta=-1))
    res, final = played.record.resolution, played.record.final
    assert res is not None and res.reason == Reason.ONE_STEP
    assert final is not None and final.lo == s


def test_an_honest_lstm_claim_survives_a_lying_challenger(bed: Bed, lstm: Trace) -> None:
    played = settled_game(bed, RID, lstm, TraceView(lstm), challenger=liar(lstm))
    res = played.record.resolution
    assert res is not None and res.winner == bed.env.provider.address


def test_a_corrupt_step_of_each_activation_kind_loses(bed: Bed, activations: Trace) -> None:
    caught = _corrupt_each_kind(bed, activations)
    assert {"lut mish", "lut softplus", "lut expm1", "max", "clip"} <= caught


def test_no_step_kind_is_new(lstm: Trace, activations: Trace) -> None:
    """The lowerings add no step kind: the deployed verifier's kinds are all they need."""
    from disputes.commitments.descriptor import KIND_CODE

    kinds = {s.kind for tr in (lstm, activations) for s in tr.program.steps}
    assert max(KIND_CODE[k] for k in kinds) <= KIND_CODE["copy"]
