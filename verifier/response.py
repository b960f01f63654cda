"""Check a gateway response against the caller's own input and a trusted model description."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.errors import (
    CommitmentMismatch,
    InputMismatch,
    LayoutMismatch,
    OutputMismatch,
    VerificationError,
)
from verifier.field import dequantize, quantize
from verifier.proof import calldata, verify_on_chain, verify_proof


@dataclass(frozen=True)
class TrustedModel:
    """What the dApp trusts about a model: its commitment, fixed-point scales and checkers.

    Give vk/settings/SRS paths to verify off-chain, an RPC URL and verifier address to verify
    on-chain, or both. Example::

        model = TrustedModel.from_settings("0xf6cb…", Path("settings.json"), vk_path=Path("vk"),
                                           srs_path=Path("kzg10.srs"))
    """

    commitment: str
    input_scale: int
    output_scale: int
    n_inputs: int
    n_outputs: int
    settings_path: Path | None = None
    vk_path: Path | None = None
    srs_path: Path | None = None
    rpc_url: str | None = None
    verifier_address: str | None = None

    @classmethod
    def from_settings(cls, commitment: str, settings_path: Path, **kw: Any) -> TrustedModel:
        """Scales and instance layout read from the EZKL settings file the vk was made with."""
        doc = json.loads(settings_path.read_text())
        n_inputs, n_outputs = instance_layout(doc)
        return cls(
            commitment=commitment,
            input_scale=int(doc["model_input_scales"][0]),
            output_scale=int(doc["model_output_scales"][0]),
            n_inputs=n_inputs,
            n_outputs=n_outputs,
            settings_path=settings_path,
            **kw,
        )


def instance_layout(settings: dict[str, Any]) -> tuple[int, int]:
    """(input instances, output instances) of a circuit whose inputs and outputs are public."""
    run_args = settings.get("run_args") or {}
    for side in ("input", "output"):
        if str(run_args.get(f"{side}_visibility")) != "Public":
            raise VerificationError(
                f"the circuit's {side}s are not public instances "
                f"({side}_visibility={run_args.get(f'{side}_visibility')!r}); verinfer binds "
                "the client's input and the outputs only through public instances"
            )
    shapes = [math.prod(s) for s in settings["model_instance_shapes"]]
    n_in_tensors = len(settings["model_input_scales"])
    return sum(shapes[:n_in_tensors]), sum(shapes[n_in_tensors:])


@dataclass(frozen=True)
class CheckedResponse:
    """A response whose outputs are proven for this model and this input."""

    outputs: list[float]
    proof_id: str
    model_commitment: str
    checked_off_chain: bool
    checked_on_chain: bool

    @property
    def prediction(self) -> int:
        """Index of the largest output (the class, for a classifier)."""
        return max(range(len(self.outputs)), key=self.outputs.__getitem__)


def _check_commitments(
    model: TrustedModel, response: dict[str, Any], proof: dict[str, Any]
) -> None:
    params = response.get("parameters") or {}
    if params.get("verification") != "zk":
        raise VerificationError(
            f"response verification is {params.get('verification')!r}, "
            "not 'zk'; use the optimistic checks for this model"
        )
    for where, got in (
        ("response", params.get("model_commitment")),
        ("proof", proof.get("model_commitment")),
    ):
        if str(got).lower() != model.commitment.lower():
            raise CommitmentMismatch(f"{where} is for model {got}, expected {model.commitment}")
    if params.get("proof_id") != proof.get("proof_id"):
        raise VerificationError("proof document is not the one the response names")


def _check_layout(model: TrustedModel, proof: dict[str, Any], instances: list[int]) -> None:
    # The split between inputs and outputs comes from the trusted circuit, never from the
    # document: a wrong split would let input instances pass as outputs.
    want = model.n_inputs + model.n_outputs
    claimed = proof.get("n_inputs", model.n_inputs)
    if len(instances) != want or claimed != model.n_inputs:
        raise LayoutMismatch(
            f"the proof has {len(instances)} instances ({claimed} inputs); the trusted circuit "
            f"has {model.n_inputs} inputs and {model.n_outputs} outputs"
        )


def _check_inputs(model: TrustedModel, x: Sequence[float], instances: list[int]) -> None:
    n_inputs = model.n_inputs
    expected = quantize(list(x), model.input_scale)
    if n_inputs != len(expected) or instances[:n_inputs] != expected:
        raise InputMismatch(
            "the proof's public inputs are not your input: the proof is for "
            "another request; do not use this output"
        )


def _check_outputs(
    model: TrustedModel, response: dict[str, Any], instances: list[int]
) -> list[float]:
    proven = dequantize(instances[model.n_inputs :], model.output_scale)
    try:
        got = [float(v) for v in response["outputs"][0]["data"]]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise OutputMismatch(f"the response has no numeric outputs[0].data ({exc!r})") from None
    tol = 2.0**-model.output_scale
    if len(got) != len(proven) or any(
        not math.isclose(a, b, abs_tol=tol) for a, b in zip(got, proven, strict=True)
    ):
        raise OutputMismatch(
            "the response's outputs are not the proven outputs; do not use this output"
        )
    return proven


def check_response(
    x: Sequence[float], response: dict[str, Any], proof: dict[str, Any], model: TrustedModel
) -> CheckedResponse:
    """Confirm ``proof`` is valid, for ``model``, for input ``x`` and for the response's outputs.

    Example::

        resp = client.infer("digits-mlp", pixels)
        proof = client.proof("digits-mlp", resp["parameters"]["proof_id"])
        checked = check_response(pixels, resp, proof, trusted)
        print(checked.prediction)
    """
    _check_commitments(model, response, proof)
    _proof_bytes, instances = calldata(proof)
    _check_layout(model, proof, instances)
    _check_inputs(model, x, instances)
    outputs = _check_outputs(model, response, instances)
    off = _verify_off_chain(model, proof)
    on = _verify_on_chain(model, proof)
    if not (off or on):
        raise VerificationError(
            "TrustedModel has neither vk/settings/srs paths nor an "
            "rpc_url and verifier_address: nothing to verify the proof with"
        )
    return CheckedResponse(outputs, str(proof["proof_id"]), model.commitment, off, on)


def _verify_off_chain(model: TrustedModel, proof: dict[str, Any]) -> bool:
    if not (model.vk_path and model.settings_path and model.srs_path):
        return False
    return verify_proof(
        proof, vk_path=model.vk_path, settings_path=model.settings_path, srs_path=model.srs_path
    )


def _verify_on_chain(model: TrustedModel, proof: dict[str, Any]) -> bool:
    if not (model.rpc_url and model.verifier_address):
        return False
    return verify_on_chain(proof, rpc_url=model.rpc_url, verifier_address=model.verifier_address)
