"""Errors of the models package.

VerinferError
└── ModelError
    ├── UnknownModelError     (a name that is not in the registry)
    ├── ModelNotBuiltError    (registered, files missing: run `verinfer models build`)
    └── ExportError           (PyTorch → ONNX export or the accuracy check failed)
"""

from __future__ import annotations

from verinfer.errors import VerinferError


class ModelError(VerinferError):
    """Something about a model's definition, build or files."""


class UnknownModelError(ModelError):
    """The name is not a registered model."""


class ModelNotBuiltError(ModelError):
    """The model is registered but its ONNX file or card is missing."""


class ExportError(ModelError):
    """Building or exporting the model failed."""
