"""The dApp's quantization must equal the prover's (which is pinned to EZKL's witness)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from prover.quantize import input_commitment as prover_commitment
from prover.quantize import quantize as prover_quantize
from verifier import input_commitment, quantize

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, width=32)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=1, max_size=16), st.integers(min_value=0, max_value=16))
def test_quantize_equals_the_provers(values: list[float], scale: int) -> None:
    assert quantize(values, scale) == prover_quantize(np.asarray(values, np.float32), scale)


def test_ties_and_float32_rounding_agree() -> None:
    ties = [0.5 / 128 * k for k in range(-9, 10)] + [0.1, -0.1, 1 / 3, -2 / 3]
    for scale in (0, 7, 10):
        assert quantize(ties, scale) == prover_quantize(np.asarray(ties, np.float32), scale)


def test_input_commitment_is_the_escrows_hash() -> None:
    felts = quantize([0.0, 0.5, -1.0], 7)
    assert "0x" + input_commitment(felts).hex() == prover_commitment(felts)
