"""One field encoding: every package's quantize is the same function, and it is EZKL's rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import contracts.encoding
import prover.quantize
import verifier
import verinfer.field
from verinfer.field import FIELD_MODULUS, parse_uint256_hex

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, width=32)


def _reference(v: float, scale: int) -> int:
    # Rust's f64::round (EZKL) on the float32 value: halves away from zero.
    a = abs(float(np.float32(v))) * 2.0**scale
    r = math.floor(a) + (1 if a - math.floor(a) >= 0.5 else 0)
    return (-r if v < 0 else r) % FIELD_MODULUS


def test_one_definition_everywhere() -> None:
    assert verifier.quantize is prover.quantize.quantize is verinfer.field.quantize
    assert contracts.encoding.input_hash is verinfer.field.input_hash
    assert prover.quantize.from_felt is contracts.encoding.from_felt


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=1, max_size=16), st.integers(min_value=0, max_value=16))
def test_quantize_is_ezkls_rounding(values: list[float], scale: int) -> None:
    assert verifier.quantize(values, scale) == [_reference(v, scale) for v in values]


def test_ties_and_float32_rounding() -> None:
    ties = [0.5 / 128 * k for k in range(-9, 10)] + [0.1, -0.1, 1 / 3, -2 / 3]
    for scale in (0, 7, 10):
        assert verifier.quantize(ties, scale) == [_reference(v, scale) for v in ties]


def test_input_commitment_is_the_escrows_hash() -> None:
    felts = verifier.quantize([0.0, 0.5, -1.0], 7)
    assert "0x" + verifier.input_commitment(felts).hex() == prover.quantize.input_commitment(felts)


@pytest.mark.parametrize("word", ["0x" + f"{FIELD_MODULUS:064x}", "0x" + "f" * 64, "-0x1"])
def test_non_canonical_instances_are_refused(word: str) -> None:
    with pytest.raises(ValueError):
        parse_uint256_hex([word])
