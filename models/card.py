"""The model card: the JSON written next to each ONNX file, and its typed form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

Mode = Literal["zk", "optimistic", "zk-on-demand"]
Source = Literal["catalogue", "user"]


class TensorSpec(BaseModel):
    """Name, shape and dtype of one model input or output."""

    name: str
    shape: list[int]
    dtype: str = "float32"
    description: str = ""
    min: float | None = Field(default=None, description="smallest accepted value, if bounded")
    max: float | None = Field(default=None, description="largest accepted value, if bounded")


class ModelCard(BaseModel):
    """What a built model is, how well it does, and the commitment that names it."""

    name: str
    mode: Mode
    description: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    commitment: str = Field(description="keccak256 of the canonical ONNX bytes")
    onnx_file: str
    metrics: dict[str, float] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    source: Source = Field(
        default="catalogue", description="built from this repository, or added by its owner"
    )
    decision: dict[str, Any] | None = Field(
        default=None, description="how `models add` chose the mode, with the numbers it used"
    )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.model_dump(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        return cls.model_validate_json(path.read_text())
