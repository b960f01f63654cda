"""SPEC v3 program commitment: ABI-encoded leaves that a contract can open one at a time.

The program root is a Merkle tree (``disputes.commitments.merkle`` rules) over ``[header, step_0,
…]``. A leaf is ``keccak256(message)``; a step's message is ``0x03 ‖ abi.encode(kind, inputs,
inShapes, inScales, shape, scale, params, roots)`` and the header's ``0x04 ‖ abi.encode(…)`` (SPEC
§8). The prefixes keep a descriptor from ever passing for a tensor row (0x00/0x02) or an inner node
(0x01). A step's message is self-contained (its operands' shapes and scales are in it), so the
one-step verifier opens exactly one leaf, at index ``i + 1``. ``params`` has one fixed layout per
kind (``PARAM_LAYOUT``); committed constants that are too large to inline (a ``lut`` table) enter as
tensor roots in ``roots``, so one entry can be opened with a proof.

Usage::

    root = program_root(program)
    msg = step_message(program, 5)          # what the verifier receives for step 5
    proof = program_tree(program).proof(6)  # its leaf is at index 6
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from eth_abi.abi import encode
from eth_hash.auto import keccak

from disputes.commitments import merkle
from disputes.errors import LoweringError
from disputes.program.ir import SPEC_VERSION, Program, Step
from disputes.program.window import Window

STEP_PREFIX = b"\x03"
HEADER_PREFIX = b"\x04"
# Fixed codes: the Solidity verifier switches on these numbers, so they never change meaning.
KINDS = (
    "add", "sub", "mul", "div", "relu", "neg", "abs", "max", "min", "rescale", "clip",
    "where", "compare", "lut", "sqrt", "reduce_sum", "reduce_mean", "reduce_max", "matmul",
    "qmatmul", "conv", "reshape", "transpose", "slice", "gather", "embed", "concat", "expand",
    "copy", "gconv", "maxpool", "avgpool",
)  # fmt: skip
KIND_CODE = {k: i for i, k in enumerate(KINDS)}
COMPARE_OPS = ("eq", "ne", "lt", "le", "gt", "ge")
LUT_FUNCTIONS = ("exp", "erf", "tanh", "sigmoid", "gelu", "softplus", "expm1", "mish")
LUT_TAILS = ("clamp", "identity")
CONFIG_KEYS = (
    "act", "wbits", "table_bits", "wscale_max", "lut_out", "exp", "prob", "norm",
    "const_clamp_log2", "mm_wbits", "mm_exact_log2", "mm_min_abits",
)  # fmt: skip


def _flat(step: Step, key: str) -> list[int]:
    return list(step.tp(key))


def _gather(step: Step) -> list[int]:
    shape = _flat(step, "indices_shape")
    return [step.ip("axis"), len(shape), *shape, *_flat(step, "indices")]


def _lut(step: Step) -> list[int]:
    fn, tail = str(step.param("fn")), str(step.param("tail"))
    n = len(step.tp("table")) - 1
    return [LUT_FUNCTIONS.index(fn), step.ip("lo"), step.ip("hi"), LUT_TAILS.index(tail), n]


# kind → the step's int256[] params, in the order the verifier reads them (SPEC §8 table).
PARAM_LAYOUT: dict[str, Callable[[Step], list[int]]] = {
    "matmul": lambda s: [s.ip("shift")],
    "qmatmul": lambda s: [s.ip("amag"), s.ip("shift")],
    "conv": lambda s: [*_flat(s, "kernel"), *_flat(s, "pads"), *_flat(s, "strides"), s.ip("shift")],
    "clip": lambda s: [s.ip("lo"), s.ip("hi")],
    "compare": lambda s: [COMPARE_OPS.index(str(s.param("op")))],
    "lut": _lut,
    "transpose": lambda s: _flat(s, "perm"),
    "slice": lambda s: _flat(s, "slices"),
    "gather": _gather,
    "concat": lambda s: [s.ip("axis")],
    "gconv": lambda s: [*Window.of(s).params(), s.ip("groups"), s.ip("shift")],
    "maxpool": lambda s: Window.of(s).params(),
    "avgpool": lambda s: [*Window.of(s).params(), s.ip("count_include_pad")],
}


def lut_pairs(table: tuple[int, ...]) -> np.ndarray:
    """The committed form of a table: row j = (T[j], T[j+1]), with T[n+1] = T[n].

    One interpolation reads T[i] and T[i+1]; pairing them puts both in one leaf, so the
    verifier opens one short row with one proof instead of the whole table.
    """
    t = np.asarray(table, dtype=np.int64)
    return np.stack([t, np.append(t[1:], t[-1])], axis=1)


@functools.lru_cache(maxsize=64)
def _table_root(table: tuple[int, ...]) -> bytes:
    return merkle.tensor_root(lut_pairs(table))


def step_roots(step: Step) -> list[bytes]:
    """Roots of the step's committed constant tensors (a lut's pair table), in order."""
    return [_table_root(step.tp("table"))] if step.kind == "lut" else []


def step_params(step: Step) -> list[int]:
    """The step's params in its kind's fixed layout (empty for kinds without params)."""
    layout = PARAM_LAYOUT.get(step.kind)
    return layout(step) if layout else []


def step_message(program: Program, i: int) -> bytes:
    """The leaf message of step ``i`` (its keccak256 is leaf ``i + 1`` of the program tree)."""
    step = program.steps[i]
    body = encode(
        ["uint256", "uint256[]", "uint256[][]", "int256[]", "uint256[]", "int256", "int256[]",
         "bytes32[]"],
        [
            KIND_CODE[step.kind],
            list(step.inputs),
            [list(program.slot_shape(j)) for j in step.inputs],
            [program.slot_scale(j) for j in step.inputs],
            list(step.shape),
            step.scale,
            step_params(step),
            step_roots(step),
        ],
    )  # fmt: skip
    return STEP_PREFIX + body


def _names_hash(program: Program) -> bytes:
    names = "\x00".join([*(i.name for i in program.inputs), program.output_name])
    return bytes(keccak(names.encode()))


def header_message(program: Program) -> bytes:
    """Leaf 0: spec version, profile, slot counts, inputs, weights' shapes and scales, output."""
    if set(program.config) != set(CONFIG_KEYS):  # a new knob must get its place in the header
        raise LoweringError(f"config keys {sorted(program.config)} are not SPEC's {CONFIG_KEYS}")
    body = encode(
        ["uint256", "int256[]", "uint256", "uint256", "uint256", "uint256", "uint256[][]",
         "uint256[]", "int256[]", "uint256[][]", "int256[]", "bytes32"],
        [
            SPEC_VERSION,
            [program.config[k] for k in CONFIG_KEYS],
            len(program.inputs),
            len(program.weights),
            len(program.steps),
            program.output_slot,
            [list(i.shape) for i in program.inputs],
            [1 if i.kind == "float" else 0 for i in program.inputs],
            [i.scale for i in program.inputs],
            [list(w.shape) for w in program.weights],
            list(program.weight_scales),
            _names_hash(program),
        ],
    )  # fmt: skip
    return HEADER_PREFIX + body


def program_tree(program: Program) -> merkle.MerkleTree:
    """The Merkle tree over ``[header, step_0, …]`` leaf hashes."""
    steps = [step_message(program, i) for i in range(len(program.steps))]
    leaves = [header_message(program), *steps]
    return merkle.MerkleTree.from_leaves([bytes(keccak(m)) for m in leaves])


def program_root(program: Program) -> bytes:
    """The program root a registration commits to (SPEC §8)."""
    return program_tree(program).root
