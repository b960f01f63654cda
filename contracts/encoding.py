"""How instances are hashed on-chain and encoded as field elements (BN254 scalar field).

The definitions live in ``verinfer.field`` (one field encoding for every package); this module
is the contracts side's name for them.

Usage::

    felts = [to_felt(x) for x in quantized_inputs]
    h = input_hash(felts)     # what InferenceEscrow.request expects
"""

from __future__ import annotations

from verinfer.field import FIELD_MODULUS, from_felt, input_hash, output_hash, to_felt, words

__all__ = ["FIELD_MODULUS", "from_felt", "input_hash", "output_hash", "to_felt", "words"]
