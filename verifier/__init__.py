"""verinfer's dApp library: check that a gateway's answer is what the registered model computes.

Example::

    from verifier import Client, TrustedModel, check_response
    with Client("http://127.0.0.1:8000") as c:
        resp = c.infer("digits-mlp", pixels, shape=[1, 64])
        proof = c.proof("digits-mlp", resp["parameters"]["proof_id"])
    checked = check_response(pixels, resp, proof, trusted_model)
"""

from __future__ import annotations

from verifier.client import Client
from verifier.errors import (
    CommitmentMismatch,
    GatewayError,
    InputMismatch,
    LayoutMismatch,
    OutputMismatch,
    ProofInvalid,
    VerificationError,
    VerifierMismatch,
)
from verifier.field import dequantize, input_commitment, quantize
from verifier.proof import calldata, check_verifier_code, verify_on_chain, verify_proof
from verifier.registry import check_model_entry, find_models
from verifier.response import CheckedResponse, TrustedModel, check_response, instance_layout

__all__ = [
    "CheckedResponse",
    "Client",
    "CommitmentMismatch",
    "GatewayError",
    "InputMismatch",
    "LayoutMismatch",
    "OutputMismatch",
    "ProofInvalid",
    "TrustedModel",
    "VerificationError",
    "VerifierMismatch",
    "calldata",
    "check_model_entry",
    "check_response",
    "check_verifier_code",
    "dequantize",
    "find_models",
    "input_commitment",
    "instance_layout",
    "quantize",
    "verify_on_chain",
    "verify_proof",
]
