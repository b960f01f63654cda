"""OneStepVerifier on real traces of the activation MLPs, the LSTM and the GRU: every step's
sampled elements come back as the trace's value (the new table functions softplus, expm1 and
mish need nothing new on-chain: the table and its domain are committed in the step leaf)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from web3 import Web3

from contracts.bindings import call, deploy
from contracts.build import load_artifact
from contracts.compiler import Artifact
from contracts.reverts import error_table
from disputes.commitments.descriptor import LUT_FUNCTIONS, step_params
from disputes.execution.executor import load_program
from disputes.osp import one_step_proof
from disputes.tracing.trace import Trace, trace
from tests.contracts.conftest import Env
from tests.disputes.act_models import ACTIVATIONS, LastStep, export, mlp, sequence_input


@pytest.fixture(scope="module")
def artifact() -> Artifact:
    return load_artifact("OneStepVerifier")


@pytest.fixture(scope="module")
def osv(chain_env: Env, artifact: Artifact) -> Any:
    address = deploy(chain_env.w3, chain_env.deployer, artifact)
    return chain_env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=artifact.abi)


def _trace(path: Path, x: np.ndarray) -> Trace:
    return trace(load_program(path), {"x": x})


def _check_every_step(osv: Any, artifact: Artifact, tr: Trace, seed: int = 0) -> set[str]:
    """First, last and two random elements of every step; the kinds (lut: its fn) seen."""
    rng = random.Random(seed)
    errors = error_table(artifact.abi)
    seen = set()
    for i, step in enumerate(tr.program.steps):
        shape = step.shape
        picks = [tuple(rng.randrange(d) for d in shape) for _ in range(2)]
        for el in dict.fromkeys([tuple(0 for _ in shape), tuple(d - 1 for d in shape), *picks]):
            osp = one_step_proof(tr, i, el)
            got = int(call(osv.functions.verify(osp.claim, osp.proof).call, errors, "verify"))
            assert got == osp.value, (i, step.kind, el)
        fn = LUT_FUNCTIONS[step_params(step)[0]] if step.kind == "lut" else ""
        seen.add(f"lut {fn}" if fn else step.kind)
    return seen


def test_every_step_of_each_activation_mlp(osv: Any, artifact: Artifact, tmp_path: Path) -> None:
    x = np.random.default_rng(4).standard_normal((3, 6)).astype(np.float32) * 2
    seen: set[str] = set()
    for name in sorted(ACTIVATIONS):
        path = export(mlp(name), (torch.zeros(3, 6),), tmp_path / f"{name}.onnx")
        seen |= _check_every_step(osv, artifact, _trace(path, x))
    assert {"lut softplus", "lut expm1", "lut mish", "max", "where", "compare", "clip"} <= seen


@pytest.mark.parametrize(
    ("cell", "bidirectional"), [("lstm", False), ("gru", False), ("lstm", True)]
)
def test_every_step_of_the_recurrent_models(
    osv: Any, artifact: Artifact, tmp_path: Path, cell: str, bidirectional: bool
) -> None:
    x = sequence_input()
    path = export(LastStep(cell, bidirectional), (x,), tmp_path / f"{cell}.onnx")
    seen = _check_every_step(osv, artifact, _trace(path, x.numpy()))
    assert {"lut sigmoid", "lut tanh", "slice", "qmatmul", "mul", "add", "concat"} <= seen
