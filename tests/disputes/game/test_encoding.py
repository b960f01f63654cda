"""disputes.game.encoding: be32 inputs and outputs, the roots and hashes the contracts check."""

from __future__ import annotations

import numpy as np
import pytest
from eth_hash.auto import keccak

from disputes.commitments import merkle
from disputes.commitments.commit import StartData
from disputes.errors import ExecutionInputError
from disputes.execution.executor import quantize_inputs
from disputes.game.encoding import (
    input_bytes,
    input_roots,
    inputs_from_bytes,
    inputs_hash,
    leaf_values,
    output_bytes,
    start_hash,
)
from disputes.program.ir import InputSpec, Program
from tests.disputes.tiny import tiny_input


def _mixed() -> Program:
    """Two inputs, an int one and a float one (no steps: encoding needs only the inputs)."""
    specs = [InputSpec("ids", (2, 3), "int", 0), InputSpec("x", (4,), "float", 8)]
    return Program(specs, [], [], [], 0, "y", {})


def test_bytes_are_be32_in_slot_order_row_major() -> None:
    p = _mixed()
    ids = np.array([[1, -2, 3], [2**31 - 1, -(2**31), 0]], dtype=np.int64)
    x = np.array([0.5, -1.25, 3.0, 1 / 3], dtype=np.float32)
    data = input_bytes(p, {"ids": ids, "x": x})
    assert len(data) == 4 * (6 + 4)
    assert data[:4] == (1).to_bytes(4, "big", signed=True)
    assert data[4:8] == (-2).to_bytes(4, "big", signed=True)
    assert data[24:28] == (128).to_bytes(4, "big", signed=True)  # 0.5 at scale 8
    assert data[36:] == (85).to_bytes(4, "big", signed=True)  # round(256 / 3)


def test_inputs_come_back_to_the_same_integers() -> None:
    p = _mixed()
    rng = np.random.default_rng(0)
    inputs = {"ids": rng.integers(-1000, 1000, (2, 3)), "x": rng.standard_normal(4) * 50}
    back = inputs_from_bytes(p, input_bytes(p, inputs))
    assert back["ids"].dtype == np.int64 and back["x"].dtype == np.float64
    for a, b in zip(quantize_inputs(p, back), quantize_inputs(p, inputs), strict=True):
        assert np.array_equal(a, b)


def test_values_outside_int32_and_wrong_lengths_are_refused() -> None:
    p = _mixed()
    with pytest.raises(ExecutionInputError, match="int32"):
        input_bytes(p, {"ids": np.full((2, 3), 2**31), "x": np.zeros(4)})
    with pytest.raises(ExecutionInputError, match="int32"):
        output_bytes(np.array([-(2**31) - 1]))
    with pytest.raises(ExecutionInputError, match="40"):
        inputs_from_bytes(p, b"\x00" * 36)


def test_output_bytes() -> None:
    assert output_bytes(np.array([[1, -1], [7, 0]])) == bytes.fromhex(
        "00000001" "ffffffff" "00000007" "00000000"
    )  # fmt: skip


def test_roots_and_hashes(tiny_program: Program) -> None:
    x = {"x": tiny_input()}
    roots = input_roots(tiny_program, x)
    assert roots == [merkle.tensor_root(q) for q in quantize_inputs(tiny_program, x)]
    again = input_roots(tiny_program, inputs_from_bytes(tiny_program, input_bytes(tiny_program, x)))
    assert again == roots
    assert inputs_hash(roots) == keccak(b"".join(roots))
    empty = start_hash(StartData(1, (), ()))
    head = (64).to_bytes(32, "big") + (96).to_bytes(32, "big") + bytes(64)
    assert empty == keccak(head)  # abi.encode(bytes32[0], bytes32[0])
    assert start_hash(StartData(1, (b"\x01" * 32,), ())) != start_hash(
        StartData(1, (), (b"\x01" * 32,))
    )


def test_leaf_values_read_both_encodings() -> None:
    narrow, wide = np.array([1, -5, 2**31 - 1]), np.array([1, -(2**40)])
    assert leaf_values(merkle.leaf_message(narrow)) == [1, -5, 2**31 - 1]
    assert leaf_values(merkle.leaf_message(wide)) == [1, -(2**40)]
    with pytest.raises(ValueError, match="not a leaf"):
        leaf_values(b"\x01" + bytes(4))
    with pytest.raises(ValueError, match="not a leaf"):
        leaf_values(b"\x02" + bytes(3))
