"""Fixed-point ↔ BN254 field elements, exactly as EZKL encodes public instances.

Usage::

    felts = quantize([0.5, -1.0], scale=7)   # [64, p - 128]
    input_commitment(felts)                  # what InferenceEscrow.request expects
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from contracts.encoding import FIELD_MODULUS, from_felt, input_hash


def _round_half_away(v: float) -> int:
    # EZKL quantizes with Rust's f64::round, which rounds halves away from zero.
    a = abs(v)
    r = math.floor(a)
    r += 1 if a - r >= 0.5 else 0  # exact: a - floor(a) never rounds for a float64
    return -r if v < 0 else r


def quantize(values: Iterable[float], scale: int) -> list[int]:
    """Field elements EZKL uses for ``values`` at fixed-point ``scale`` (negatives wrap mod p)."""
    # Inputs travel as FP32: quantize the float32 value, as the gateway and EZKL do.
    return [_round_half_away(float(np.float32(v)) * 2.0**scale) % FIELD_MODULUS for v in values]


def dequantize(felts: Iterable[int], scale: int) -> list[float]:
    """Real values of field elements at fixed-point ``scale``."""
    return [from_felt(f) / 2.0**scale for f in felts]


def parse_instances(hex_words: Sequence[str]) -> list[int]:
    """Instances as sent by the gateway (0x-prefixed big-endian uint256) → ints."""
    return [int(h, 16) for h in hex_words]


def input_commitment(felts: Sequence[int]) -> bytes:
    """keccak256 over the 32-byte big-endian input felts: the escrow's ``inputHash``."""
    return input_hash(felts)
