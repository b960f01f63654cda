"""How input instances are hashed on-chain, and field-element helpers (BN254 scalar field).

Usage::

    felts = [to_felt(x) for x in quantized_inputs]
    h = input_hash(felts)     # what InferenceEscrow.request expects
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils.crypto import keccak

# BN254 (alt_bn128) scalar field: EZKL's public instances live here.
FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617


def to_felt(x: int) -> int:
    """An integer as a field element: negatives wrap to p - |x|. Usage: ``to_felt(-1)``."""
    if not -FIELD_MODULUS < x < FIELD_MODULUS:
        raise ValueError(f"{x} is outside the BN254 scalar field")
    return x % FIELD_MODULUS


def from_felt(f: int) -> int:
    """Inverse of `to_felt` for small magnitudes: values above p/2 are read as negative."""
    return f - FIELD_MODULUS if f > FIELD_MODULUS // 2 else f


def words(values: Sequence[int]) -> bytes:
    """Concatenated 32-byte big-endian words (abi.encodePacked of a uint256[])."""
    for v in values:
        if not 0 <= v < 2**256:
            raise ValueError(f"{v} does not fit a uint256 word; convert with to_felt first")
    return b"".join(v.to_bytes(32, "big") for v in values)


def input_hash(input_felts: Sequence[int]) -> bytes:
    """keccak256 of the input instances as the escrow computes it. Usage: ``input_hash([1, 2])``."""
    return keccak(words(input_felts))


def output_hash(output_felts: Sequence[int]) -> bytes:
    """keccak256 of the output instances, as recorded by `fulfill`."""
    return keccak(words(output_felts))
