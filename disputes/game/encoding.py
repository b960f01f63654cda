"""Bytes the optimistic contracts take: be32 inputs and outputs, input roots, the start hash.

A request's ``input`` is every input tensor's quantized values in slot order, row-major, each
as 4 bytes big-endian two's complement (int32, a narrow leaf's payload); the escrow builds the
input roots from it, and a watcher rebuilds the inputs from the event to re-execute.

Usage::

    data = input_bytes(program, {"input": x})
    again = inputs_from_bytes(program, data)          # quantizes to the same integers
    roots = input_roots(program, again)                # what the escrow computes on-chain
    assert inputs_hash(roots) == keccak(b"".join(roots))
    h = start_hash(osp.start_data(program))           # registered with the model
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from eth_abi.abi import encode
from eth_hash.auto import keccak
from numpy.typing import ArrayLike, NDArray

from disputes.commitments import merkle
from disputes.commitments.commit import StartData
from disputes.errors import ExecutionInputError
from disputes.execution.executor import ArrayIn, quantize_inputs
from disputes.program.fixedpoint import dequantize
from disputes.program.ir import Program

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
BE32 = np.dtype(">i4")


def _be32(q: NDArray[np.int64], what: str) -> bytes:
    if q.size and (int(q.min()) < INT32_MIN or int(q.max()) > INT32_MAX):
        raise ExecutionInputError(
            f"{what} has values outside int32 ({int(q.min())}..{int(q.max())}); the optimistic "
            "encoding carries 4 bytes per value"
        )
    return bytes(np.ascontiguousarray(q).astype(BE32).tobytes())


def input_bytes(program: Program, inputs: Mapping[str, ArrayIn]) -> bytes:
    """The request's ``input``: quantized values of every input, slot order, be32 each."""
    qs = quantize_inputs(program, inputs)
    return b"".join(_be32(q, f"input {s.name!r}") for s, q in zip(program.inputs, qs, strict=True))


def output_bytes(tensor: ArrayLike) -> bytes:
    """A claim's ``output``: the output tensor's integers, row-major, be32 each."""
    return _be32(np.asarray(tensor, dtype=np.int64), "output")


def input_lengths(program: Program) -> list[int]:
    """Bytes of each input in ``input_bytes`` (4 per value)."""
    return [4 * int(np.prod(s.shape, dtype=np.int64)) for s in program.inputs]


def inputs_from_bytes(program: Program, data: bytes) -> dict[str, NDArray[np.generic]]:
    """The inputs back from a request's bytes: ints as int64, floats dequantized (float64).

    Float values are ``q / 2**scale`` exactly, so ``quantize_inputs`` gives back ``q``.
    """
    want = sum(input_lengths(program))
    if len(data) != want:
        raise ExecutionInputError(f"input is {len(data)} bytes; the program takes {want}")
    out: dict[str, NDArray[np.generic]] = {}
    at = 0
    for spec, n in zip(program.inputs, input_lengths(program), strict=True):
        q = np.frombuffer(data[at : at + n], dtype=BE32).astype(np.int64).reshape(spec.shape)
        at += n
        out[spec.name] = q if spec.kind == "int" else dequantize(q, spec.scale)
    return out


def input_roots(program: Program, inputs: Mapping[str, ArrayIn]) -> list[bytes]:
    """Each input's tensor root (SPEC §8), as the escrow computes them from the bytes."""
    return [merkle.tensor_root(q) for q in quantize_inputs(program, inputs)]


def inputs_hash(roots: Sequence[bytes]) -> bytes:
    """``keccak256(abi.encodePacked(bytes32[] inputRoots))``: a request's ``inputHash``."""
    return bytes(keccak(b"".join(roots)))


def start_hash(data: StartData) -> bytes:
    """``keccak256(abi.encode(bytes32[] fill, bytes32[] siblings))``, registered per model."""
    return bytes(keccak(encode(["bytes32[]", "bytes32[]"], [list(data.fill), list(data.siblings)])))


def leaf_values(leaf: bytes) -> list[int]:
    """The values of a leaf message (narrow ``0x02`` be32s or wide ``0x00`` be64s)."""
    body = leaf[1:]
    if leaf[:1] == merkle.NARROW_PREFIX and len(body) % 4 == 0:
        return [int(v) for v in np.frombuffer(body, dtype=BE32)]
    if leaf[:1] == merkle.LEAF_PREFIX and len(body) % 8 == 0:
        return [int(v) for v in np.frombuffer(body, dtype=">i8")]
    raise ValueError(f"not a leaf message: {leaf[:1].hex() or 'empty'}, {len(leaf)} bytes")
