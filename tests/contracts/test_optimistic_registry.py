"""ModelRegistry's optimistic and on-demand models: the header is opened and checked, the layout
comes from it, and every malformed registration reverts with its name."""

from __future__ import annotations

from typing import Any

import pytest
from eth_hash.auto import keccak

from contracts.clients import Mode, OptimisticSpec, ProgramInfo
from disputes.commitments.descriptor import header_message, program_tree
from tests.contracts.conftest import FEE, Env
from tests.contracts.optimistic_fixture import (
    MIN_BOND,
    Case,
    digits_case,
    header_tree,
    register_program,
    register_synthetic,
    reverts,
    spec_of,
    synthetic_header,
)


@pytest.fixture(scope="module")
def mlp(registry: Any) -> Case:
    return digits_case(registry, "digits-mlp")


def test_the_program_comes_from_the_header(env: Env, mlp: Case) -> None:
    p = mlp.program
    reg = env.registry(env.provider)
    mid = register_program(reg, p)
    spec = spec_of(p)
    assert (spec.output_rows, spec.output_width) == (1, 10)
    assert reg.program_of(mid) == ProgramInfo(
        p.program_root, spec.start_hash, len(p.inputs), len(p.weights), len(p.steps),
        p.output_slot, 1, 10,
    )  # fmt: skip
    assert reg.program_of(mid).n_slots == p.n_slots
    assert reg.input_shape_of(mid) == ([1], [64])
    assert (reg.mode_of(mid), reg.min_bond_of(mid)) == (Mode.OPTIMISTIC, MIN_BOND)
    model = reg.get_model(mid)
    assert model.verifier == "0x" + "00" * 20 and (model.n_inputs, model.n_outputs) == (1, 10)
    assert model.owner == env.provider.address and model.fee == FEE and model.active


def test_zk_and_on_demand_terms(env: Env) -> None:
    reg = env.registry(env.provider)
    zk = reg.register(b"\x01" * 32, env.mock, FEE, 4, 3)
    assert (reg.mode_of(zk), reg.min_bond_of(zk)) == (Mode.ZK, 0)
    assert reg.program_of(zk).program_root == bytes(32) and reg.input_shape_of(zk) == ([], [])
    od = reg.register_on_demand(b"\x02" * 32, env.mock, FEE, (4, 3), MIN_BOND)
    assert (reg.mode_of(od), reg.min_bond_of(od)) == (Mode.ON_DEMAND, MIN_BOND)
    assert reg.layout_of(od) == (4, 3) and reg.get_model(od).verifier == env.mock
    with reverts("ZeroBond"):
        reg.register_on_demand(b"\x03" * 32, env.mock, FEE, (4, 3), 0)
    with reverts("ZeroVerifier"):
        reg.register_on_demand(b"\x03" * 32, "0x" + "00" * 20, FEE, (4, 3), MIN_BOND)
    with reverts("UnknownModel", 999):
        reg.mode_of(999)


def test_a_header_that_is_not_leaf_zero_is_refused(env: Env, mlp: Case) -> None:
    p, reg = mlp.program, env.registry(env.provider)
    header, proof = header_message(p), program_tree(p).proof(0)
    bad = bytearray(header)
    bad[40] ^= 1
    with reverts("BadProof", 0):
        reg.register_optimistic(b"\x04" * 32, FEE, MIN_BOND, spec_of(p), (bytes(bad), proof))
    other = OptimisticSpec(keccak(b"another root"), spec_of(p).start_hash, 1, 10)
    with reverts("BadProof", 0):
        reg.register_optimistic(b"\x04" * 32, FEE, MIN_BOND, other, (header, proof))
    with reverts("BadHeader"):  # a step message (0x03) is not a header
        reg.register_optimistic(
            b"\x04" * 32, FEE, MIN_BOND, spec_of(p), (b"\x03" + header[1:], proof)
        )
    with reverts("ZeroBond"):
        reg.register_optimistic(b"\x04" * 32, FEE, 0, spec_of(p), (header, proof))
    register_program(reg, p, b"\x04" * 32)
    with reverts("DuplicateModel"):
        register_program(reg, p, b"\x04" * 32)


def test_the_proof_must_be_as_deep_as_the_header_says(env: Env) -> None:
    reg = env.registry(env.provider)
    header = synthetic_header(n_weights=2, n_steps=3, output_slot=5, input_shapes=[(1, 4)])
    with reverts("WrongHeaderDepth", 3, 2):  # 8 leaves, but nSteps + 1 = 4 leaves is depth 2
        register_synthetic(reg, header, 8)
    mid = register_synthetic(reg, header, 4)
    assert reg.program_of(mid).n_steps == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "args"),
    [
        ({"version": 2}, "UnsupportedVersion", (2,)),
        ({"n_steps": 0, "output_slot": 0}, "ZeroSteps", ()),
        ({"input_shapes": []}, "ZeroInputs", ()),
        ({"output_slot": 6}, "BadOutputSlot", (6, 6)),
        ({"input_shapes": [(1, 4097)]}, "InputTooLarge", (16388, 16384)),
        ({"input_shapes": [(64, 32), (65, 32)]}, "InputTooLarge", (16512, 16384)),
        ({"input_shapes": [(3, 0)]}, "EmptyInput", (0,)),
        ({"input_shapes": [(1, 2), (0, 5)]}, "EmptyInput", (1,)),
    ],
)
def test_malformed_headers(
    env: Env, kwargs: dict[str, Any], error: str, args: tuple[Any, ...]
) -> None:
    fields: dict[str, Any] = {"n_weights": 2, "n_steps": 3, "output_slot": 5}
    fields["input_shapes"] = [(1, 4)]
    fields.update(kwargs)
    header = synthetic_header(**fields)
    leaves = fields["n_steps"] + 1
    with reverts(error, *args):
        register_synthetic(env.registry(env.provider), header, leaves)


def test_rows_and_widths_of_every_rank(env: Env) -> None:
    shapes = [(2, 3, 4), (), (5,), (64, 16)]
    header = synthetic_header(n_weights=1, n_steps=2, output_slot=6, input_shapes=shapes)
    reg = env.registry(env.provider)
    mid = register_synthetic(reg, header, 3)
    assert reg.input_shape_of(mid) == ([6, 1, 1, 64], [4, 1, 5, 16])
    assert reg.program_of(mid).n_inputs == 4


def test_the_output_shape_is_checked(env: Env) -> None:
    reg = env.registry(env.provider)
    header = synthetic_header(n_weights=2, n_steps=3, output_slot=5, input_shapes=[(1, 4)])
    tree = header_tree(header, 4)
    for rows, width, error in [(0, 10, "ZeroOutputs"), (2**16, 2**16 + 1, "BadOutputShape")]:
        spec = OptimisticSpec(tree.root, b"\x05" * 32, rows, width)
        with reverts(error):
            reg.register_optimistic(b"\x06" * 32, FEE, MIN_BOND, spec, (header, tree.proof(0)))
