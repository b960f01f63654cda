"""OneStepVerifier on real traces of conv / pool models: every step returns the trace's value.

The models are built in the test from PyTorch (tests/disputes/spatial_models.py): a
MobileNet-style block, a 1-D conv net and the pooling variants. Prints the one-step gas of
each window kind (the report in the commit and README quotes these numbers).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from contracts.bindings import call, deploy
from contracts.build import load_artifact
from contracts.compiler import Artifact
from contracts.reverts import error_table
from disputes.execution.executor import load_program
from disputes.osp import OneStepProof, one_step_proof
from disputes.tracing.trace import Trace, trace
from tests.contracts.conftest import Env
from tests.disputes import spatial_models as sm

WINDOW_KINDS = {"conv", "gconv", "maxpool", "avgpool"}


@pytest.fixture(scope="module")
def artifact() -> Artifact:
    return load_artifact("OneStepVerifier")


@pytest.fixture(scope="module")
def osv(chain_env: Env, artifact: Artifact) -> Any:
    address = deploy(chain_env.w3, chain_env.deployer, artifact)
    return chain_env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=artifact.abi)


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Trace]:
    d = tmp_path_factory.mktemp("spatial")
    out = {}
    for name, make, shape in (
        ("mobile", sm.mobile_block, sm.MOBILE_SHAPE),
        ("conv1d", sm.conv1d_net, sm.CONV1D_SHAPE),
        ("pools", sm.pools_net, sm.POOLS_SHAPE),
    ):
        program = load_program(make(d / f"{name}.onnx"))
        out[name] = trace(program, {"x": sm.sample(shape, 7)})
    return out


def _verify(osv: Any, artifact: Artifact, osp: OneStepProof) -> tuple[int, int]:
    fn = osv.functions.verify(osp.claim, osp.proof)
    table = error_table(artifact.abi)
    return int(call(fn.call, table, "verify")), int(call(fn.estimate_gas, table, "gas"))


def _elements(shape: tuple[int, ...], rng: random.Random, n: int) -> list[tuple[int, ...]]:
    first, last = tuple(0 for _ in shape), tuple(d - 1 for d in shape)
    return list(
        dict.fromkeys([first, last, *(tuple(rng.randrange(d) for d in shape) for _ in range(n))])
    )


@pytest.mark.parametrize("name", ["mobile", "conv1d", "pools"])
def test_every_step_of_the_spatial_models(
    osv: Any, artifact: Artifact, traces: dict[str, Trace], name: str
) -> None:
    tr = traces[name]
    rng = random.Random(name)
    gas: dict[str, int] = {}
    for i, step in enumerate(tr.program.steps):
        per_step = 6 if step.kind in WINDOW_KINDS else 2
        for el in _elements(step.shape, rng, per_step):
            osp = one_step_proof(tr, i, el)
            value, used = _verify(osv, artifact, osp)
            assert value == osp.value, (name, i, step.kind, el)
            gas[step.kind] = max(gas.get(step.kind, 0), used)
    kinds = set(gas)
    want = {"mobile": {"conv", "gconv", "maxpool", "avgpool", "clip", "reduce_mean"},
            "conv1d": {"conv", "gconv", "maxpool", "avgpool", "reshape"},
            "pools": {"conv", "maxpool", "avgpool", "mul", "add", "concat"}}[name]  # fmt: skip
    assert want <= kinds
    shown = ", ".join(f"{k} {gas[k]:,}" for k in sorted(gas) if k in WINDOW_KINDS)
    print(f"\n{name}: largest one-step gas per window kind: {shown}")
    assert max(gas.values()) < 2_000_000


def test_the_artifact_still_fits_the_code_size_limit(artifact: Artifact) -> None:
    assert len(bytes.fromhex(artifact.deployed_bytecode[2:])) <= 24_576
    assert Path(artifact.source_name).name == "OneStepVerifier.sol"
