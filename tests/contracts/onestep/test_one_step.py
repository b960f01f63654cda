"""OneStepVerifier on real traces: every step returns the trace's value; every cheat reverts."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from web3 import Web3

from contracts.bindings import call, deploy
from contracts.build import SOURCES, load_artifact
from contracts.compiler import Artifact
from contracts.errors import ContractRevert
from contracts.reverts import error_table
from disputes.execution.executor import load_program
from disputes.osp import OneStepProof, one_step_proof
from disputes.tracing.trace import Trace, trace
from tests.contracts.conftest import Env
from tests.disputes.tiny import tiny_block, tiny_input

SOURCE = SOURCES["OneStepVerifier"]


@pytest.fixture(scope="module")
def artifact() -> Artifact:
    return load_artifact("OneStepVerifier")  # the committed build (test_artifacts: no drift)


@pytest.fixture(scope="module")
def osv(chain_env: Env, artifact: Artifact) -> Any:
    address = deploy(chain_env.w3, chain_env.deployer, artifact)
    return chain_env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=artifact.abi)


@pytest.fixture(scope="module")
def tiny_trace(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    program = load_program(tiny_block(tmp_path_factory.mktemp("osp") / "tiny.onnx"))
    return trace(program, {"x": tiny_input()})


@pytest.fixture(scope="module")
def digits_traces(registry: Any) -> list[Trace]:
    from models.digits import load_digits_split

    x = load_digits_split().x_test[0]
    out = []
    for name, shape in (("digits-mlp", (1, 64)), ("digits-cnn", (1, 1, 8, 8))):
        program = load_program(registry.onnx_path(name))
        out.append(trace(program, {program.inputs[0].name: x.reshape(shape)}))
    return out


def _verify(osv: Any, artifact: Artifact, osp: OneStepProof) -> int:
    fn = osv.functions.verify(osp.claim, osp.proof)
    return int(call(fn.call, error_table(artifact.abi), "verify"))


def _elements(shape: tuple[int, ...], rng: random.Random, n: int = 3) -> list[tuple[int, ...]]:
    first, last = tuple(0 for _ in shape), tuple(d - 1 for d in shape)
    picks = [tuple(rng.randrange(d) for d in shape) for _ in range(n)]
    return list(dict.fromkeys([first, last, *picks]))


def _check_every_step(osv: Any, artifact: Artifact, tr: Trace, per_step: int = 3) -> set[str]:
    rng = random.Random(0)
    kinds = set()
    for i, step in enumerate(tr.program.steps):
        for el in _elements(step.shape, rng, per_step):
            osp = one_step_proof(tr, i, el)
            got = _verify(osv, artifact, osp)
            assert got == osp.value, (i, step.kind, el)
        kinds.add(step.kind)
    return kinds


def test_every_step_of_the_tiny_block(osv: Any, artifact: Artifact, tiny_trace: Trace) -> None:
    kinds = _check_every_step(osv, artifact, tiny_trace)
    assert {"lut", "qmatmul", "reduce_mean", "transpose"} <= kinds


def test_every_step_of_the_digits_models(
    osv: Any, artifact: Artifact, digits_traces: list[Trace]
) -> None:
    kinds = set()
    for tr in digits_traces:
        kinds |= _check_every_step(osv, artifact, tr, per_step=4)
    assert "conv" in kinds and "qmatmul" in kinds


def _reverts(osv: Any, artifact: Artifact, osp: OneStepProof, name: str) -> None:
    with pytest.raises(ContractRevert) as err:
        _verify(osv, artifact, osp)
    assert err.value.name == name, err.value


def _mutated(osp: OneStepProof, edit: Callable[[list[Any], list[Any]], None]) -> OneStepProof:
    claim, proof = list(osp.claim), [list(x) if isinstance(x, list) else x for x in osp.proof]
    proof[3] = [[s[0], s[1], list(s[2]), [list(r) for r in s[3]]] for s in osp.proof[3]]
    edit(claim, proof)
    return OneStepProof(tuple(claim), tuple(proof), osp.value)  # type: ignore[arg-type]


def _flip(leaf: bytes) -> bytes:
    return leaf[:-1] + bytes([leaf[-1] ^ 1])


def test_every_kind_of_tampering_reverts_with_its_name(
    osv: Any, artifact: Artifact, tiny_trace: Trace
) -> None:
    i = next(k for k, s in enumerate(tiny_trace.program.steps) if s.kind == "qmatmul")
    osp = one_step_proof(
        tiny_trace, i, (0, 0, 1) if len(tiny_trace.program.steps[i].shape) == 3 else (0, 1)
    )
    assert _verify(osv, artifact, osp) == osp.value
    cases: dict[str, Callable[[list[Any], list[Any]], None]] = {
        "BadProof": lambda c, p: p[3][0][3][0].__setitem__(1, _flip(p[3][0][3][0][1])),
        "WrongDepth": lambda c, p: p[3][0][3][0][2].pop(),
        "OperandOutOfRange": lambda c, p: p[3][0].__setitem__(0, 9),
        "MissingRow": lambda c, p: p[3].pop(0),
    }
    for name, edit in cases.items():
        _reverts(osv, artifact, _mutated(osp, edit), name)
    wrong_checkpoint = _mutated(osp, lambda c, p: c.__setitem__(2, bytes(32)))
    _reverts(osv, artifact, wrong_checkpoint, "BadProof")
    other_step = _mutated(osp, lambda c, p: c.__setitem__(3, c[3] + 1))
    _reverts(osv, artifact, other_step, "BadProof")


def test_a_padding_row_and_a_non_canonical_leaf_are_refused(
    osv: Any, artifact: Artifact, tiny_trace: Trace
) -> None:
    i = next(k for k, s in enumerate(tiny_trace.program.steps) if s.kind in ("add", "mul"))
    step = tiny_trace.program.steps[i]
    osp = one_step_proof(tiny_trace, i, tuple(0 for _ in step.shape))
    row = osp.proof[3][0][3][0]
    values = np.frombuffer(row[1][1:], dtype=">i4").astype(np.int64)
    wide = b"\x00" + values.astype(">i8").tobytes()
    _reverts(
        osv,
        artifact,
        _mutated(osp, lambda c, p: p[3][0][3][0].__setitem__(1, wide)),
        "NonCanonicalLeaf",
    )
    n_rows = int(np.prod(tiny_trace.program.slot_shape(tiny_trace.program.steps[i].inputs[0])[:-1]))
    _reverts(
        osv,
        artifact,
        _mutated(osp, lambda c, p: p[3][0][3][0].__setitem__(0, n_rows)),
        "RowOutOfRange",
    )


def test_a_lut_needs_the_right_table_row(osv: Any, artifact: Artifact, tiny_trace: Trace) -> None:
    i = next(k for k, s in enumerate(tiny_trace.program.steps) if s.kind == "lut")
    step = tiny_trace.program.steps[i]
    osp = one_step_proof(tiny_trace, i, tuple(0 for _ in step.shape))
    assert _verify(osv, artifact, osp) == osp.value
    t = osp.proof[4]
    _reverts(
        osv,
        artifact,
        _mutated(osp, lambda c, p: p.__setitem__(4, (t[0] + 1, t[1], t[2]))),
        "WrongTableRow",
    )
    _reverts(
        osv,
        artifact,
        _mutated(osp, lambda c, p: p.__setitem__(4, (t[0], _flip(t[1]), t[2]))),
        "BadProof",
    )


def test_the_artifact_fits_the_code_size_limit(artifact: Artifact) -> None:
    assert len(bytes.fromhex(artifact.deployed_bytecode[2:])) <= 24_576
    assert Path(SOURCE).is_file()


@pytest.fixture(scope="module")
def minilm_trace() -> Trace:
    from models.minilm import tokenize
    from models.registry import Registry

    reg = Registry.default()
    reg.build("minilm-l6")
    program = load_program(reg.onnx_path("minilm-l6"))
    ids, mask = tokenize(["a one-step proof of one element of MiniLM"])
    return trace(program, {"input_ids": ids, "attention_mask": mask})


def _widest(tr: Trace) -> dict[str, int]:
    """Per step kind, the step whose first operand has the widest rows (its largest product)."""
    best: dict[str, int] = {}
    p = tr.program
    for i, step in enumerate(p.steps):
        width = p.slot_shape(step.inputs[0])[-1] if p.slot_shape(step.inputs[0]) else 1
        j = best.get(step.kind)
        if j is None or width > (p.slot_shape(p.steps[j].inputs[0]) or (1,))[-1]:
            best[step.kind] = i
    return best


def test_a_sample_of_minilm_steps_covering_every_kind(
    osv: Any, artifact: Artifact, minilm_trace: Trace
) -> None:
    rng = random.Random(1)
    picks = _widest(minilm_trace)
    assert {"qmatmul", "embed", "lut", "reduce_mean", "sqrt", "div"} <= set(picks)
    for kind, i in sorted(picks.items()):
        shape = minilm_trace.program.steps[i].shape
        el = tuple(rng.randrange(d) for d in shape)
        osp = one_step_proof(minilm_trace, i, el)
        assert _verify(osv, artifact, osp) == osp.value, (kind, i, el)


def test_another_slot_or_another_row_does_not_pass(
    osv: Any, artifact: Artifact, tiny_trace: Trace
) -> None:
    p = tiny_trace.program
    i = next(k for k, s in enumerate(p.steps) if s.kind == "qmatmul" and p.steps[k].shape[-2] > 1)
    shape = p.steps[i].shape
    here = tuple(0 for _ in shape)
    there = (*here[:-2], 1, 0)  # the next row of the activation operand
    osp, other = one_step_proof(tiny_trace, i, here), one_step_proof(tiny_trace, i, there)
    # The row an element needs, swapped for another genuine row of the same tensor.
    swapped_row = _mutated(osp, lambda c, q: q[3][0].__setitem__(3, other.proof[3][0][3]))
    _reverts(osv, artifact, swapped_row, "MissingRow")
    # The activation operand's opening replaced by a genuine opening of another slot (weights).
    wrong_slot = _mutated(osp, lambda c, q: q[3][0].__setitem__(1, osp.proof[3][1][1]))
    _reverts(osv, artifact, wrong_slot, "BadProof")


@pytest.mark.parametrize("n_inputs", [1, 2, 3, 5])
def test_the_start_checkpoint_is_computed_on_chain(
    osv: Any, artifact: Artifact, n_inputs: int
) -> None:
    from disputes.commitments.commit import start_checkpoint, start_data
    from disputes.commitments.merkle import checkpoint_root

    rng = np.random.default_rng(n_inputs)
    weights = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)) for _ in range(11)]
    inputs = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)) for _ in range(n_inputs)]
    n_slots = n_inputs + len(weights) + 40
    data = start_data(weights, n_inputs, n_slots)
    want = checkpoint_root([*inputs, *weights], n_slots)
    got = osv.functions.startCheckpoint(inputs, list(data.fill), list(data.siblings)).call()
    assert bytes(got) == want == start_checkpoint(inputs, data)
    with pytest.raises(ContractRevert) as err:
        call(
            osv.functions.startCheckpoint(inputs, [*data.fill, bytes(32)], []).call,
            error_table(artifact.abi),
            "start",
        )
    assert err.value.name == "BadStartBlock"


def test_prove_step_cli_checks_one_element_on_chain(
    osv: Any, chain_env: Env, tmp_path: Path, registry: Any
) -> None:
    import json
    import os
    import subprocess
    import sys

    from models.digits import load_digits_split

    x = load_digits_split().x_test[0].reshape(1, 64).astype(np.float32)
    np.savez(tmp_path / "in.npz", input=x)
    exe = str(Path(sys.executable).with_name("verinfer"))
    args = [exe, "challenge", "prove-step", "digits-mlp", str(tmp_path / "in.npz"), "0", "0,7"]
    chain = ["--rpc-url", chain_env.node.rpc_url, "--verifier", osv.address]
    run = subprocess.run([*args, *chain], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    doc = json.loads(run.stdout)
    assert doc["kind"] == "qmatmul" and doc["agrees"] is True and doc["gas"] > 21_000
    assert doc["on_chain_value"] == doc["value"]
    bad = subprocess.run(
        [*args[:-1], "0,x"], capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )
    assert bad.returncode == 1 and "comma-separated integers" in bad.stderr
