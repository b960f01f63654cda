"""The rule mapping floats to the field elements EZKL puts in the public instances.

The definitions live in ``verinfer.field`` (one field encoding for every package); this module
is the prover's name for them. ``input_commitment`` is the escrow's input hash as "0x…" hex.

Usage::

    from prover.quantize import quantize, input_commitment
    felts = quantize(x, 7)                    # list[int], equal to the proof's input instances
    commitment = input_commitment(felts)      # "0x…", what InferenceEscrow.request expects
"""

from __future__ import annotations

from collections.abc import Sequence

from verinfer.field import (
    FIELD_MODULUS,
    dequantize,
    felt_from_ezkl_hex,
    felt_to_ezkl_hex,
    felt_to_uint256_hex,
    from_felt,
    input_hash,
    quantize,
    quantize_ints,
    to_felt,
)

__all__ = [
    "FIELD_MODULUS",
    "dequantize",
    "felt_from_ezkl_hex",
    "felt_to_ezkl_hex",
    "felt_to_uint256_hex",
    "from_felt",
    "input_commitment",
    "quantize",
    "quantize_ints",
    "to_felt",
]


def input_commitment(felts: Sequence[int]) -> str:
    """keccak256 of the input instances as concatenated 32-byte big-endian words, "0x…"."""
    return "0x" + input_hash(felts).hex()
