"""DisputeGame on anvil: whole games between views on the tiny block, every misuse by name."""

from __future__ import annotations

import pytest

from contracts.bindings import deploy
from contracts.build import load_artifact
from contracts.game_client import Phase, Reason
from disputes.execution.executor import load_program
from disputes.game.view import CorruptStep, TraceView
from disputes.tracing.trace import Trace, trace
from tests.contracts.conftest import Env
from tests.contracts.game.bed import Bed, check_settled, deploy_bed, play
from tests.disputes.tiny import tiny_block, tiny_input


@pytest.fixture(scope="module")
def osv(chain_env: Env) -> str:
    return deploy(chain_env.w3, chain_env.deployer, load_artifact("OneStepVerifier"))


@pytest.fixture(scope="module")
def bed(chain_env: Env, osv: str) -> Bed:
    return deploy_bed(chain_env, osv)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    program = load_program(tiny_block(tmp_path_factory.mktemp("game") / "tiny.onnx"))
    return trace(program, {"x": tiny_input()})


def test_a_corrupt_step_loses_to_the_honest_challenger(env: Env, bed: Bed, tiny: Trace) -> None:
    played = play(bed, 1, tiny, CorruptStep(tiny, 20, row=3, col=0, delta=7))
    check_settled(bed, played, provider_lost=True, reason=Reason.ONE_STEP)
    fns = [m.fn for m in played.record.moves]
    assert "proveElement" in fns and "revealNodes" in fns, played.record.moves
    assert played.record.final is not None and played.record.final.phase == Phase.RESOLVED
    print(played.record.moves)
