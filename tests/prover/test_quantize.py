"""The float → field element rule, unit-level and against EZKL's own witness generation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prover import ezkl_ops
from prover.pipeline import ZkProver
from prover.quantize import (
    FIELD_MODULUS,
    dequantize,
    felt_from_ezkl_hex,
    felt_to_ezkl_hex,
    felt_to_uint256_hex,
    input_commitment,
    quantize,
    quantize_ints,
)


def test_rounds_half_away_from_zero() -> None:
    xs = [0.5 / 128, 1.5 / 128, 2.5 / 128, -0.5 / 128, -1.5 / 128, 0.3, -0.3, 1.0, -3.7]
    assert quantize_ints(xs, 7) == [1, 2, 3, -1, -2, 38, -38, 128, -474]


def test_negative_is_p_minus_abs() -> None:
    assert quantize([-1.0], 7) == [FIELD_MODULUS - 128]
    assert dequantize(quantize([-1.0, 0.25], 7), 7) == [-1.0, 0.25]


def test_hex_encodings_roundtrip() -> None:
    f = FIELD_MODULUS - 5
    assert felt_from_ezkl_hex(felt_to_ezkl_hex(f)) == f
    be = felt_to_uint256_hex(f)
    assert be.startswith("0x") and len(be) == 66 and int(be, 16) == f


def test_input_commitment_is_keccak_of_be_words() -> None:
    from eth_hash.auto import keccak

    felts = [1, FIELD_MODULUS - 1]
    want = "0x" + keccak((1).to_bytes(32, "big") + (FIELD_MODULUS - 1).to_bytes(32, "big")).hex()
    assert input_commitment(felts) == want


@pytest.mark.slow
def test_quantize_matches_gen_witness(mlp_prover: ZkProver, work: Path) -> None:
    s = mlp_prover.input_scale
    rng = np.random.default_rng(1)
    halves = (rng.integers(-300, 300, size=32) + 0.5) / 2**s  # exact .5 ties, both signs
    values = np.concatenate([halves, rng.uniform(-2, 2, size=32)]).astype(np.float32)
    data = ezkl_ops.write_input(work / "in.json", values.reshape(mlp_prover.input_shape))
    w = ezkl_ops.gen_witness(data, mlp_prover.paths.compiled, work / "w.json")
    got = [felt_from_ezkl_hex(h) for h in w["inputs"][0]]
    assert got == mlp_prover.quantize_input(values)
