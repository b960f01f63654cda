"""SPEC v3 commitments: the program tree of ABI leaves, lut pair tables, the start checkpoint."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from eth_abi.abi import decode
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from disputes.commitments import commit, merkle
from disputes.commitments.descriptor import (
    KIND_CODE,
    KINDS,
    STEP_PREFIX,
    header_message,
    lut_pairs,
    program_root,
    program_tree,
    step_message,
    step_params,
)
from disputes.execution.ops import KERNELS
from disputes.program.ir import Program

STEP_TYPES = [
    "uint256", "uint256[]", "uint256[][]", "int256[]", "uint256[]", "int256", "int256[]",
    "bytes32[]",
]  # fmt: skip


def test_every_executor_kind_has_a_fixed_code() -> None:
    assert set(KINDS) == set(KERNELS)
    assert len(set(KIND_CODE.values())) == len(KINDS)


def test_each_step_leaf_opens_to_its_description(tiny_program: Program) -> None:
    tree = program_tree(tiny_program)
    assert tree.root == tiny_program.program_root == program_root(tiny_program)
    for i, step in enumerate(tiny_program.steps):
        msg = step_message(tiny_program, i)
        leaf = bytes(keccak(msg))
        assert merkle.verify_proof(leaf, i + 1, tree.proof(i + 1), tree.root)
        assert msg[:1] == STEP_PREFIX
        kind, inputs, in_shapes, in_scales, shape, scale, params, roots = decode(
            STEP_TYPES, msg[1:]
        )
        assert KINDS[kind] == step.kind and list(inputs) == list(step.inputs)
        assert [list(s) for s in in_shapes] == [
            list(tiny_program.slot_shape(j)) for j in step.inputs
        ]
        assert list(in_scales) == [tiny_program.slot_scale(j) for j in step.inputs]
        assert (list(shape), scale, list(params)) == (
            list(step.shape),
            step.scale,
            step_params(step),
        )
        assert len(roots) == (1 if step.kind == "lut" else 0)
    assert bytes(keccak(header_message(tiny_program))) == tree.leaf(0)


def test_any_change_to_a_step_changes_the_root(tiny_program: Program) -> None:
    base = program_root(tiny_program)
    first = tiny_program.steps[0]
    rescaled = [dataclasses.replace(first, scale=first.scale + 1), *tiny_program.steps[1:]]
    assert program_root(dataclasses.replace(tiny_program, steps=rescaled)) != base
    i, step = next((i, s) for i, s in enumerate(tiny_program.steps) if "shift" in dict(s.params))
    params = tuple((k, v + 1 if k == "shift" else v) for k, v in step.params)  # type: ignore[operator]
    shifted = list(tiny_program.steps)
    shifted[i] = dataclasses.replace(step, params=params)
    assert program_root(dataclasses.replace(tiny_program, steps=shifted)) != base
    swapped = dataclasses.replace(tiny_program, output_slot=tiny_program.output_slot - 1)
    assert program_root(swapped) != base
    assert program_root(dataclasses.replace(tiny_program, steps=tiny_program.steps)) == base


def test_a_lut_table_is_committed_as_pairs(tiny_program: Program) -> None:
    luts = [s for s in tiny_program.steps if s.kind == "lut"]
    assert luts, "the tiny block has a lut step"
    table = luts[0].tp("table")
    pairs = lut_pairs(table)
    assert pairs.shape == (len(table), 2)
    assert pairs[3].tolist() == [table[3], table[4]] and pairs[-1].tolist() == [table[-1]] * 2
    i = tiny_program.steps.index(luts[0])
    *_, roots = decode(STEP_TYPES, step_message(tiny_program, i)[1:])
    assert roots[0] == merkle.tensor_root(pairs)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(0, 40), st.integers(0, 30))
def test_start_checkpoint_is_c0(n_inputs: int, n_weights: int, n_steps: int) -> None:
    rng = np.random.default_rng(n_inputs * 1000 + n_weights * 10 + n_steps)
    weights = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)) for _ in range(n_weights)]
    inputs = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)) for _ in range(n_inputs)]
    n_slots = n_inputs + n_weights + n_steps
    data = commit.start_data(weights, n_inputs, n_slots)
    want = merkle.checkpoint_root([*inputs, *weights], n_slots)
    assert commit.start_checkpoint(inputs, data) == want
    other = [bytes(32), *inputs[1:]]
    assert commit.start_checkpoint(other, data) != want


def test_start_checkpoint_of_a_real_program(tiny_program: Program) -> None:
    roots = [os.urandom(32) for _ in tiny_program.inputs]
    data = commit.start_data(tiny_program.weight_roots, len(roots), tiny_program.n_slots)
    want = merkle.checkpoint_root([*roots, *tiny_program.weight_roots], tiny_program.n_slots)
    assert commit.start_checkpoint(roots, data) == want
    with pytest.raises(ValueError, match="input roots"):
        commit.start_checkpoint(roots + roots, data)
