"""The integer program: slots (inputs, weights, step outputs) and the steps that fill them.

Example::

    step = Step("relu", inputs=(0,), shape=(1, 32), scale=12)
    step.param("k", 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Param = int | str | tuple[int, ...]
SPEC_VERSION = 3  # disputes/SPEC.md: bump when a step's integer definition or a commitment changes
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
