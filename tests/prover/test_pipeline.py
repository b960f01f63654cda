"""The real EZKL pipeline on the digits MLP: tuning, proofs, tampering, cache, verifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prover import build
from prover.errors import ProofRejected
from prover.pipeline import ProofBundle, ZkProver
from prover.quantize import input_commitment
from prover.tuning import MIN_AGREEMENT, agreement, onnx_argmax
from verinfer.settings import Settings

pytestmark = pytest.mark.slow


def test_tuned_mlp_is_small_and_accurate(
    mlp_prover: ZkProver, digits_x: np.ndarray, work: Path
) -> None:
    assert mlp_prover.logrows <= 11
    assert mlp_prover.record.agreement is not None
    assert mlp_prover.record.agreement >= MIN_AGREEMENT
    assert mlp_prover.record.n_agreement_samples == 360
    xs = digits_x[::6].reshape([-1, *mlp_prover.input_shape[1:]])  # recompute on 60 samples
    onnx = mlp_prover.paths.root.parents[2] / "models" / "digits-mlp" / "model.onnx"
    ref = onnx_argmax(onnx, xs)
    assert agreement(mlp_prover.paths.compiled, xs, ref, work) >= MIN_AGREEMENT


def test_proof_verifies_and_binds_input(
    mlp_prover: ZkProver, mlp_bundle: ProofBundle, digits_x: np.ndarray
) -> None:
    assert mlp_prover.verify(mlp_bundle) is True
    x = digits_x[7]
    assert mlp_bundle.input_instances() == mlp_prover.quantize_input(x)
    assert len(mlp_bundle.instances) == 64 + 10 and mlp_bundle.n_inputs == 64
    assert all(h.startswith("0x") and len(h) == 66 for h in mlp_bundle.instances)
    assert input_commitment(mlp_bundle.input_instances()).startswith("0x")
    proof, inst = mlp_bundle.calldata()
    assert len(proof) > 1000 and inst == mlp_bundle.instance_ints()
    assert mlp_bundle.logrows == mlp_prover.logrows
    assert mlp_bundle.vk_digest == mlp_prover.vk_digest


def test_bundle_roundtrips_json(mlp_prover: ZkProver, mlp_bundle: ProofBundle) -> None:
    again = ProofBundle.model_validate_json(mlp_bundle.model_dump_json())
    assert mlp_prover.verify(again)


def test_tampered_proof_byte_rejected(mlp_prover: ZkProver, mlp_bundle: ProofBundle) -> None:
    raw = bytearray(bytes.fromhex(mlp_bundle.proof_hex[2:]))
    raw[100] ^= 0x01
    bad = mlp_bundle.model_copy(update={"proof_hex": "0x" + raw.hex()})
    with pytest.raises(ProofRejected, match="altered"):
        mlp_prover.verify(bad)


def test_tampered_input_instance_rejected(mlp_prover: ZkProver, mlp_bundle: ProofBundle) -> None:
    inst = list(mlp_bundle.instances)
    inst[0] = "0x" + (int(inst[0], 16) + 1).to_bytes(32, "big").hex()
    with pytest.raises(ProofRejected):
        mlp_prover.verify(mlp_bundle.model_copy(update={"instances": inst}))


def test_tampered_output_rejected(mlp_prover: ZkProver, mlp_bundle: ProofBundle) -> None:
    outs = list(mlp_bundle.outputs)
    outs[0] += 1.0
    with pytest.raises(ProofRejected):
        mlp_prover.verify(mlp_bundle.model_copy(update={"outputs": outs}))


def test_cache_hit_does_not_redo_setup(mlp_prover: ZkProver, prover_settings: Settings) -> None:
    calls = build.SETUP_CALLS
    mtime = mlp_prover.paths.pk.stat().st_mtime_ns
    again = ZkProver.for_model("digits-mlp", settings=prover_settings)
    assert calls == build.SETUP_CALLS
    assert again.paths.pk.stat().st_mtime_ns == mtime
    assert again.record == mlp_prover.record and again.vk_digest == mlp_prover.vk_digest


def test_solidity_verifier_written(mlp_prover: ZkProver) -> None:
    sol = mlp_prover.solidity_verifier_path()
    assert sol.is_file() and "contract Halo2Verifier" in sol.read_text()
    assert mlp_prover.solidity_verifier_path() == sol  # cached


def test_wrong_shape_is_a_clear_error(mlp_prover: ZkProver) -> None:
    from prover.errors import ProvingError

    with pytest.raises(ProvingError, match="64 finite float32"):
        mlp_prover.prove(np.zeros(10, dtype=np.float32))
