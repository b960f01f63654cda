"""Open Inference Protocol datatypes: their numpy dtypes, and which a model's input accepts.

Binary tensors are little-endian and row-major (Triton's binary tensor data extension), so
every dtype here is little-endian explicitly, whatever the machine.

Usage::

    oip_datatype("int64")            # "INT64" (a model card's dtype -> the OIP name)
    numpy_dtype("FP32")              # dtype('<f4')
    accepted("FP32")                 # ("FP32", "FP64"): what a request may send for it
"""

from __future__ import annotations

import numpy as np

from api.errors import BadRequestError

__all__ = ["BYTES", "DATATYPES", "accepted", "numpy_dtype", "oip_datatype"]

BYTES = "BYTES"
DATATYPES: dict[str, np.dtype[np.generic]] = {
    "BOOL": np.dtype("?"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
_CARD = {dt.name: name for name, dt in DATATYPES.items()}
# A wider request type is accepted where every value it can carry is checked to fit: JSON
# numbers are doubles anyway, and int32 ids are int64 ids.
_WIDER = {"FP32": ("FP32", "FP64"), "INT64": ("INT64", "INT32"), "INT32": ("INT32",)}


def oip_datatype(card_dtype: str) -> str:
    """The OIP datatype of a model card's numpy dtype name (``float32`` -> ``FP32``)."""
    name = np.dtype(card_dtype).name
    if name not in _CARD:
        raise BadRequestError(f"the model's dtype {card_dtype!r} has no OIP datatype")
    return _CARD[name]


def numpy_dtype(datatype: str) -> np.dtype[np.generic]:
    """The little-endian numpy dtype of an OIP datatype; 422 for an unknown one."""
    if datatype not in DATATYPES:
        known = ", ".join([*DATATYPES, BYTES])
        raise BadRequestError(f"datatype {datatype!r} is not an OIP datatype ({known})")
    return DATATYPES[datatype]


def accepted(model_datatype: str) -> tuple[str, ...]:
    """The request datatypes a model input of ``model_datatype`` accepts."""
    return _WIDER.get(model_datatype, (model_datatype,))
