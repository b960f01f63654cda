"""check_response's binding checks on hand-made documents (real proofs: tests/e2e)."""

from __future__ import annotations

from typing import Any

import pytest

import verifier
from contracts.encoding import FIELD_MODULUS
from verifier import (
    CommitmentMismatch,
    InputMismatch,
    OutputMismatch,
    TrustedModel,
    VerificationError,
    check_response,
    dequantize,
    quantize,
)
from verifier.response import _check_commitments, _check_inputs, _check_outputs

COMMIT = "0x" + "ab" * 32
MODEL = TrustedModel(commitment=COMMIT, input_scale=7, output_scale=7)


def test_quantize_rounds_half_away_from_zero_and_wraps_negatives() -> None:
    assert quantize([0.5, 1 / 256, 3 / 256, -3 / 256, -1.0], 7) == [
        64,
        1,
        2,
        FIELD_MODULUS - 2,
        FIELD_MODULUS - 128,
    ]
    assert dequantize(quantize([-1.25, 0.75], 7), 7) == [-1.25, 0.75]


def _docs(x: list[float], outputs: list[float]) -> tuple[dict[str, Any], dict[str, Any]]:
    felts = quantize(x, 7) + quantize(outputs, 7)
    proof = {
        "proof_id": "p1",
        "model_commitment": COMMIT,
        "n_inputs": len(x),
        "instances": [f"0x{f:064x}" for f in felts],
    }
    response = {
        "outputs": [{"name": "logits", "data": outputs}],
        "parameters": {"verification": "zk", "model_commitment": COMMIT, "proof_id": "p1"},
    }
    return response, proof


def test_binding_checks_accept_matching_documents() -> None:
    x, out = [0.0, 0.5, 1.0], [1.5, -2.0]
    response, proof = _docs(x, out)
    _check_commitments(MODEL, response, proof)
    felts = [int(h, 16) for h in proof["instances"]]
    _check_inputs(MODEL, x, felts, 3)
    assert _check_outputs(MODEL, response, felts, 3) == out


def test_proof_for_another_input_is_rejected() -> None:
    response, proof = _docs([0.0, 0.5, 1.0], [1.5])
    with pytest.raises(InputMismatch, match="another request"):
        check_response([0.0, 0.5, 0.75], response, proof, MODEL)


def test_tampered_output_is_rejected() -> None:
    response, proof = _docs([0.0, 0.5], [1.5, -2.0])
    response["outputs"][0]["data"] = [-2.0, 1.5]
    with pytest.raises(OutputMismatch):
        check_response([0.0, 0.5], response, proof, MODEL)


@pytest.mark.parametrize("where", ["response", "proof"])
def test_other_model_is_rejected(where: str) -> None:
    response, proof = _docs([0.5], [1.0])
    other = "0x" + "cd" * 32
    if where == "response":
        response["parameters"]["model_commitment"] = other
    else:
        proof["model_commitment"] = other
    with pytest.raises(CommitmentMismatch, match=where):
        check_response([0.5], response, proof, MODEL)


def test_nothing_to_verify_with_is_an_error_not_a_pass() -> None:
    response, proof = _docs([0.5], [1.0])
    with pytest.raises(VerificationError, match="nothing to verify the proof with"):
        check_response([0.5], response, proof, MODEL)


def test_library_surface_is_small_and_has_no_fastapi() -> None:
    import subprocess
    import sys

    assert "check_response" in verifier.__all__
    assert all(hasattr(verifier, name) for name in verifier.__all__)
    code = "import sys, verifier; assert 'fastapi' not in sys.modules, 'fastapi imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
