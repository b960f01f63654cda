"""check_response's binding checks on hand-made documents (real proofs: tests/e2e)."""

from __future__ import annotations

from typing import Any

import pytest

import verifier
from contracts.encoding import FIELD_MODULUS
from verifier import (
    CommitmentMismatch,
    InputMismatch,
    LayoutMismatch,
    OutputMismatch,
    TrustedModel,
    VerificationError,
    check_response,
    dequantize,
    quantize,
)
from verifier.response import _check_commitments, _check_inputs, _check_outputs

COMMIT = "0x" + "ab" * 32


def _model(n_inputs: int, n_outputs: int) -> TrustedModel:
    return TrustedModel(
        commitment=COMMIT, input_scale=7, output_scale=7, n_inputs=n_inputs, n_outputs=n_outputs
    )


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
        "proof_hex": "0x00",
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
    model = _model(3, 2)
    _check_commitments(model, response, proof)
    felts = [int(h, 16) for h in proof["instances"]]
    _check_inputs(model, x, felts)
    assert _check_outputs(model, response, felts) == out


def test_proof_for_another_input_is_rejected() -> None:
    response, proof = _docs([0.0, 0.5, 1.0], [1.5])
    with pytest.raises(InputMismatch, match="another request"):
        check_response([0.0, 0.5, 0.75], response, proof, _model(3, 1))


def test_tampered_output_is_rejected() -> None:
    response, proof = _docs([0.0, 0.5], [1.5, -2.0])
    response["outputs"][0]["data"] = [-2.0, 1.5]
    with pytest.raises(OutputMismatch):
        check_response([0.0, 0.5], response, proof, _model(2, 2))


@pytest.mark.parametrize("where", ["response", "proof"])
def test_other_model_is_rejected(where: str) -> None:
    response, proof = _docs([0.5], [1.0])
    other = "0x" + "cd" * 32
    if where == "response":
        response["parameters"]["model_commitment"] = other
    else:
        proof["model_commitment"] = other
    with pytest.raises(CommitmentMismatch, match=where):
        check_response([0.5], response, proof, _model(1, 1))


def test_nothing_to_verify_with_is_an_error_not_a_pass() -> None:
    response, proof = _docs([0.5], [1.0])
    with pytest.raises(VerificationError, match="nothing to verify the proof with"):
        check_response([0.5], response, proof, _model(1, 1))


def test_layout_comes_from_the_trusted_model_not_the_document() -> None:
    # A document that calls an input instance an output (n_inputs one short) must not pass,
    # nor one with an extra or a missing instance.
    x, out = [0.25, 0.5], [1.0]
    response, proof = _docs(x, out)
    shifted = dict(proof, n_inputs=1)
    shifted_response = {**response, "outputs": [{"name": "y", "data": [0.5, 1.0]}]}
    with pytest.raises(LayoutMismatch, match="2 inputs and 1 outputs"):
        check_response(x[:1], shifted_response, shifted, _model(2, 1))
    for instances in (proof["instances"][:-1], [*proof["instances"], proof["instances"][0]]):
        with pytest.raises(LayoutMismatch):
            check_response(x, response, dict(proof, instances=instances), _model(2, 1))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.pop("proof_hex"),
        lambda p: p.update(proof_hex="0xzz"),
        lambda p: p.update(instances=["0x" + "f" * 64] * 3),
        lambda p: p.update(instances=[17, 18, 19]),
    ],
)
def test_malformed_documents_are_a_verification_error(mutate: Any) -> None:
    response, proof = _docs([0.25, 0.5], [1.0])
    proof["proof_hex"] = "0x" + "00" * 8
    mutate(proof)
    with pytest.raises(VerificationError):
        check_response([0.25, 0.5], response, proof, _model(2, 1))


def test_non_numeric_outputs_are_an_output_mismatch() -> None:
    response, proof = _docs([0.25], [1.0])
    proof["proof_hex"] = "0x00"
    response["outputs"] = [{"data": [["nested"]]}]
    with pytest.raises(OutputMismatch, match="no numeric"):
        check_response([0.25], response, proof, _model(1, 1))


def test_library_surface_is_small_and_has_no_fastapi() -> None:
    import subprocess
    import sys

    assert "check_response" in verifier.__all__
    assert all(hasattr(verifier, name) for name in verifier.__all__)
    code = "import sys, verifier; assert 'fastapi' not in sys.modules, 'fastapi imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
