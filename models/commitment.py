"""The model commitment: keccak256 of the canonical ONNX bytes (graph and weights).

Usage::

    from models.commitment import model_commitment
    digest = model_commitment(Path("digits-mlp.onnx"))  # "0x…" 32 bytes
"""

from __future__ import annotations

from pathlib import Path

import onnx
from eth_hash.auto import keccak


def canonical_onnx_bytes(path: Path) -> bytes:
    """Deterministic serialization of the model: producer metadata and doc strings dropped."""
    model = onnx.load(str(path), load_external_data=True)
    # Producer name/version and doc strings change with the exporter's version but not with
    # what the model computes; dropping them keeps the commitment about the function only.
    model.producer_name = ""
    model.producer_version = ""
    model.doc_string = ""
    model.graph.doc_string = ""
    for node in model.graph.node:
        node.doc_string = ""
    data: bytes = model.SerializeToString(deterministic=True)
    return data


def model_commitment(path: Path) -> str:
    """keccak256 of the canonical ONNX bytes, as 0x-prefixed hex."""
    return "0x" + keccak(canonical_onnx_bytes(path)).hex()
