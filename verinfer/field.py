"""The one field encoding: fixed-point reals ↔ BN254 field elements, exactly as EZKL does it.

EZKL quantizes a real ``x`` at scale ``s`` to ``q = sign(x) * floor(|x| * 2**s + 0.5)`` (round
half away from zero, in float64 on the float32 value) and embeds ``q`` in the BN254 scalar field
as ``q`` when ``q >= 0`` and ``p - |q|`` otherwise. Its proof JSON writes an instance as the 32
field bytes little-endian in hex; the EVM verifier takes the same number as a big-endian
``uint256``. Every package (prover, contracts, verifier) uses these functions: a second copy
of a rounding rule is a proof that silently stops matching its client.

Usage::

    felts = quantize([0.5, -1.0], scale=7)   # [64, p - 128]
    dequantize(felts, 7)                     # [0.5, -1.0]
    felt_to_ezkl_hex(felts[0])               # "4000…00" (little-endian)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from eth_hash.auto import keccak
from numpy.typing import ArrayLike

# BN254 (alt_bn128) scalar field: EZKL's Halo2/KZG public instances live here.
FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617


def to_felt(x: int) -> int:
    """A signed integer as a field element: negatives wrap to p - |x|. Usage: ``to_felt(-1)``."""
    if not -FIELD_MODULUS < x < FIELD_MODULUS:
        raise ValueError(f"{x} is outside the BN254 scalar field")
    return x % FIELD_MODULUS


def from_felt(f: int) -> int:
    """The signed integer a field element stands for (values above p/2 are negative)."""
    return f - FIELD_MODULUS if f > FIELD_MODULUS // 2 else f


def quantize_ints(x: ArrayLike, scale: int) -> list[int]:
    """Signed fixed-point integers of x (flattened, as float32) at 2**scale, EZKL's rounding."""
    v = np.asarray(x, dtype=np.float32).astype(np.float64).reshape(-1) * float(2**scale)
    q = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return [int(i) for i in q]


def quantize(x: ArrayLike, scale: int) -> list[int]:
    """Field elements EZKL uses for ``x`` at fixed-point ``scale`` (negatives wrap mod p)."""
    return [to_felt(q) for q in quantize_ints(x, scale)]


def dequantize(felts: Iterable[int], scale: int) -> list[float]:
    """Real values of field elements at fixed-point ``scale``: signed integer / 2**scale."""
    return [from_felt(f) / float(2**scale) for f in felts]


def felt_from_ezkl_hex(h: str) -> int:
    """An instance as EZKL writes it (little-endian hex of 32 bytes) → field element."""
    return int.from_bytes(bytes.fromhex(h.removeprefix("0x")), "little")


def felt_to_ezkl_hex(f: int) -> str:
    """A field element as EZKL writes it (little-endian hex, no prefix)."""
    return f.to_bytes(32, "little").hex()


def felt_to_uint256_hex(f: int) -> str:
    """A field element as the EVM verifier's big-endian uint256: "0x" + 64 hex."""
    return "0x" + f.to_bytes(32, "big").hex()


def ezkl_proof_json(proof: bytes, instances: Sequence[int]) -> dict[str, Any]:
    """The smallest proof JSON ``ezkl.verify`` accepts: these bytes and instances, nothing else."""
    return {"instances": [[felt_to_ezkl_hex(f) for f in instances]], "proof": list(proof)}


def parse_uint256_hex(words: Sequence[str]) -> list[int]:
    """Instances as the gateway sends them ("0x" big-endian uint256) → field elements.

    Raises ValueError on anything that is not a canonical field element, so a hostile document
    cannot smuggle a value that the EVM and EZKL would reduce differently.
    """
    out = []
    for w in words:
        if not isinstance(w, str):
            raise ValueError(f"instance {w!r} is not a hex string")
        f = int(w, 16)
        if not 0 <= f < FIELD_MODULUS:
            raise ValueError(f"instance {w} is not a BN254 field element")
        out.append(f)
    return out


def words(values: Sequence[int]) -> bytes:
    """Concatenated 32-byte big-endian words (abi.encodePacked of a uint256[])."""
    for v in values:
        if not 0 <= v < 2**256:
            raise ValueError(f"{v} does not fit a uint256 word; convert with to_felt first")
    return b"".join(v.to_bytes(32, "big") for v in values)


def input_hash(input_felts: Sequence[int]) -> bytes:
    """keccak256 of the input instances' words: the escrow's ``inputHash``. ``input_hash([1])``."""
    return keccak(words(input_felts))


def output_hash(output_felts: Sequence[int]) -> bytes:
    """keccak256 of the output instances' words, as ``fulfill`` records it."""
    return keccak(words(output_felts))
