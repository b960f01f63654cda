"""The integer program: slots (inputs, weights, step outputs) and the steps that fill them.

Example::

    step = Step("relu", inputs=(0,), shape=(1, 32), scale=12)
    step.param("k", 0)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from eth_hash.auto import keccak
from numpy.typing import NDArray

Param = int | str | tuple[int, ...]
SPEC_VERSION = 2  # disputes/SPEC.md: bump whenever any step's integer definition changes
InputKind = Literal["int", "float"]


@dataclass(frozen=True)
class Step:
    """One integer operation producing one tensor (slot) from operand slots."""

    kind: str
    inputs: tuple[int, ...]
    shape: tuple[int, ...]
    scale: int
    params: tuple[tuple[str, Param], ...] = ()
    node: str = ""  # ONNX node it came from; for messages only, not committed

    def param(self, key: str, default: Param | None = None) -> Param:
        for k, v in self.params:
            if k == key:
                return v
        if default is None:
            raise KeyError(f"step {self.kind} has no parameter {key!r}")
        return default

    def ip(self, key: str) -> int:
        v = self.param(key)
        assert isinstance(v, int)
        return v

    def tp(self, key: str) -> tuple[int, ...]:
        v = self.param(key)
        assert isinstance(v, tuple)
        return v

    def describe(self) -> dict[str, object]:
        """The committed description: kind, operand slots, shape, scale, constants."""
        return {
            "kind": self.kind,
            "inputs": list(self.inputs),
            "shape": list(self.shape),
            "scale": self.scale,
            "params": [[k, _jsonable(v)] for k, v in self.params],
        }


def _jsonable(v: Param) -> object:
    return list(v) if isinstance(v, tuple) else v


@dataclass(frozen=True)
class InputSpec:
    """A model input: its ONNX name, shape, kind and (for float inputs) quantization scale."""

    name: str
    shape: tuple[int, ...]
    kind: InputKind
    scale: int


@dataclass
class Program:
    """Lowered, quantized model. Slots: inputs, then weights, then one per step."""

    inputs: list[InputSpec]
    weights: list[NDArray[np.int64]]
    weight_scales: list[int]
    steps: list[Step]
    output_slot: int
    output_name: str
    config: dict[str, int]
    weights_f64: list[NDArray[np.float64] | None] = field(default_factory=list)
    weight_roots: list[bytes] = field(default_factory=list)  # filled by executor.prepare
    names: dict[str, int] = field(default_factory=dict)  # ONNX tensor → slot (debugging only)
    program_root: bytes = b""
    weights_root: bytes = b""

    @property
    def n_slots(self) -> int:
        return len(self.inputs) + len(self.weights) + len(self.steps)

    @property
    def first_step_slot(self) -> int:
        return len(self.inputs) + len(self.weights)

    def slot_of_step(self, i: int) -> int:
        return self.first_step_slot + i

    def slot_shape(self, slot: int) -> tuple[int, ...]:
        n_in, n_w = len(self.inputs), len(self.weights)
        if slot < n_in:
            return self.inputs[slot].shape
        if slot < n_in + n_w:
            return tuple(self.weights[slot - n_in].shape)
        return self.steps[slot - n_in - n_w].shape

    def slot_scale(self, slot: int) -> int:
        n_in, n_w = len(self.inputs), len(self.weights)
        if slot < n_in:
            return self.inputs[slot].scale
        if slot < n_in + n_w:
            return self.weight_scales[slot - n_in]
        return self.steps[slot - n_in - n_w].scale

    def describe(self) -> dict[str, object]:
        """Everything the program root commits to (weights enter through ``weights_root``)."""
        return {
            "version": SPEC_VERSION,
            "config": dict(sorted(self.config.items())),
            "inputs": [[i.name, list(i.shape), i.kind, i.scale] for i in self.inputs],
            "weights": [
                [list(w.shape), s] for w, s in zip(self.weights, self.weight_scales, strict=True)
            ],
            "steps": [s.describe() for s in self.steps],
            "output": [self.output_name, self.output_slot],
        }


def program_root(program: Program) -> bytes:
    """keccak256 of the canonical JSON of the step list (sorted keys, no spaces)."""
    blob = json.dumps(program.describe(), sort_keys=True, separators=(",", ":"))
    return bytes(keccak(blob.encode()))
