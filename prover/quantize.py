"""The exact rule mapping floats to the field elements EZKL puts in the public instances.

EZKL quantizes a real input ``x`` at ``input_scale`` s to the integer
``q = sign(x) * floor(|x| * 2**s + 0.5)`` (round half away from zero, computed in float64 on the
float32 value), and embeds it in the BN254 scalar field as ``q`` when ``q >= 0`` and ``p - |q|``
otherwise. In the proof JSON an instance is the field element's 32 bytes, little-endian, as hex;
the EVM verifier takes the same number as a big-endian ``uint256``.

The escrow's input commitment is ``keccak256`` of the input instances' 32-byte big-endian words
concatenated, so a client can compute it from its own input:

Usage::

    from prover.quantize import quantize, input_commitment
    felts = quantize(x, input_scale=7)        # list[int], equal to the proof's input instances
    commitment = input_commitment(felts)      # "0x…", what InferenceEscrow.request expects
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from eth_hash.auto import keccak
from numpy.typing import ArrayLike

# BN254 scalar field modulus (the field of EZKL's Halo2/KZG circuits).
FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617


def quantize_ints(x: ArrayLike, input_scale: int) -> list[int]:
    """Signed fixed-point integers of x (flattened) at 2**input_scale, EZKL's rounding."""
    v = np.asarray(x, dtype=np.float32).astype(np.float64).reshape(-1) * float(2**input_scale)
    q = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return [int(i) for i in q]


def to_felt(q: int) -> int:
    """Embed a signed integer in the field: q, or p - |q| for a negative q."""
    return q % FIELD_MODULUS


def from_felt(f: int) -> int:
    """The signed integer a field element stands for (values above p/2 are negative)."""
    return f - FIELD_MODULUS if f > FIELD_MODULUS // 2 else f


def quantize(x: ArrayLike, input_scale: int) -> list[int]:
    """Field elements of x at input_scale, equal to the proof's input instances."""
    return [to_felt(q) for q in quantize_ints(x, input_scale)]


def felt_from_ezkl_hex(h: str) -> int:
    """Parse an instance as EZKL writes it (little-endian hex of 32 bytes)."""
    return int.from_bytes(bytes.fromhex(h.removeprefix("0x")), "little")


def felt_to_ezkl_hex(f: int) -> str:
    """Format a field element as EZKL writes it (little-endian hex, no prefix)."""
    return f.to_bytes(32, "little").hex()


def felt_to_uint256_hex(f: int) -> str:
    """Format a field element as the EVM verifier's big-endian uint256: "0x" + 64 hex."""
    return "0x" + f.to_bytes(32, "big").hex()


def dequantize(felts: Iterable[int], scale: int) -> list[float]:
    """Real values of field elements at a scale: signed integer / 2**scale."""
    return [from_felt(f) / float(2**scale) for f in felts]


def input_commitment(felts: Sequence[int]) -> str:
    """keccak256 of the input instances as concatenated 32-byte big-endian words, "0x…"."""
    return "0x" + keccak(b"".join(f.to_bytes(32, "big") for f in felts)).hex()
