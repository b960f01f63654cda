"""Fixed-point ↔ BN254 field elements, exactly as EZKL encodes public instances.

The definitions live in ``verinfer.field`` (one field encoding for every package).

Usage::

    felts = quantize([0.5, -1.0], scale=7)   # [64, p - 128]
    input_commitment(felts)                  # what InferenceEscrow.request expects
"""

from __future__ import annotations

from collections.abc import Sequence

from verinfer.field import dequantize, input_hash, parse_uint256_hex, quantize

__all__ = ["dequantize", "input_commitment", "parse_instances", "quantize"]


def parse_instances(hex_words: Sequence[str]) -> list[int]:
    """Instances as sent by the gateway (0x-prefixed big-endian uint256) → field elements."""
    return parse_uint256_hex(hex_words)


def input_commitment(felts: Sequence[int]) -> bytes:
    """keccak256 over the 32-byte big-endian input felts: the escrow's ``inputHash``."""
    return input_hash(felts)
