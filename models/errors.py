"""Errors of the models package.

VerinferError
└── ModelError
    ├── UnknownModelError     (a name that is not in the registry)
    ├── ModelNotBuiltError    (registered, files missing: run `verinfer models build`)
    ├── ExportError           (PyTorch → ONNX export or the accuracy check failed)
    ├── InvalidModelError     (an ONNX file `models add` refuses: unreadable, invalid, dynamic
    │                          shapes, a taken name)
    ├── UnsupportedOpsError   (ops the executor cannot lower: every one listed at once)
    ├── CalibrationError      (calibration samples unreadable or not fitting the inputs)
    └── FidelityError         (the served model is further from onnxruntime than the tolerance)
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


class InvalidModelError(ModelError):
    """The ONNX file cannot be added as it is (the message says how to fix it)."""


class UnsupportedOpsError(ModelError):
    """The executor cannot lower some of the model's ops (all of them are listed)."""


class CalibrationError(ModelError):
    """Calibration samples that cannot be read or do not fit the model's inputs."""


class FidelityError(ModelError):
    """The model as served (circuit or executor) is beyond the output-error tolerance."""
