"""ZkProver: tune-or-load, compile, keys (all cached), then prove and verify single inferences.

Usage::

    from prover.pipeline import ZkProver
    prover = ZkProver.for_model("digits-mlp")       # first run tunes and makes keys; then instant
    bundle = prover.prove(x)                        # x: float32 array of the model's input shape
    prover.verify(bundle)                           # True, or raises ProofRejected
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from models.card import ModelCard
from models.registry import Registry
from prover import ezkl_ops
from prover.build import Progress, load_or_build, load_prepared
from prover.bundle import ProofBundle, instances_from_ezkl
from prover.cache import CircuitDir, Profile, TuningRecord
from prover.errors import ProofRejected, ProvingError
from prover.quantize import dequantize, felt_from_ezkl_hex, quantize
from prover.srs import is_dev_srs
from verinfer.settings import Settings, get_settings

__all__ = ["ProofBundle", "ProverPaths", "ZkProver"]


@dataclass(frozen=True)
class ProverPaths:
    """Files of one prepared circuit (what a dApp verifier or the contracts side needs)."""

    root: Path
    settings: Path
    compiled: Path
    vk: Path
    pk: Path
    srs: Path
    sol: Path

    @classmethod
    def of(cls, cdir: CircuitDir, keys: Path, srs: Path) -> ProverPaths:
        """The files of a circuit folder and its key folder for one SRS."""
        return cls(
            cdir.root,
            cdir.settings,
            cdir.compiled,
            keys / "vk.key",
            keys / "pk.key",
            srs,
            keys / "Verifier.sol",
        )


class ZkProver:
    """A model's circuit with keys ready: proves and verifies single inferences."""

    def __init__(
        self, card: ModelCard, record: TuningRecord, paths: ProverPaths, dev_srs: bool
    ) -> None:
        self.card = card
        self.record = record
        self.paths = paths
        self.dev_srs = dev_srs
        self.vk_digest = "0x" + hashlib.sha256(paths.vk.read_bytes()).hexdigest()

    @classmethod
    def for_model(
        cls,
        name: str,
        progress: Progress | None = None,
        *,
        profile: Profile = "tuned",
        registry: Registry | None = None,
        settings: Settings | None = None,
    ) -> ZkProver:
        """Load (or tune, compile and set up, once) the circuit of a registered model."""
        s = settings or get_settings()
        card = (registry or Registry(s.models_dir)).build(name)
        onnx = (registry or Registry(s.models_dir)).onnx_path(name)
        record, cdir, keys, srs = load_or_build(card, onnx, s, profile, progress)
        return cls(card, record, ProverPaths.of(cdir, keys, srs), is_dev_srs(s))

    @classmethod
    def load_prepared(cls, name: str, *, settings: Settings | None = None) -> ZkProver:
        """The circuit of a model already prepared on this machine; builds and tunes nothing.

        Verifiers use this: checking a proof must never make the keys or SRS it checks against.
        Usage: ``ZkProver.load_prepared("digits-mlp").paths.vk``
        """
        s = settings or get_settings()
        card = Registry(s.models_dir).card(name)
        record, cdir, keys, srs = load_prepared(card, s)
        return cls(card, record, ProverPaths.of(cdir, keys, srs), is_dev_srs(s))

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def input_scale(self) -> int:
        return int(self.record.settings["run_args"]["input_scale"])

    @property
    def output_scale(self) -> int:
        return int(self.record.settings["model_output_scales"][0])

    @property
    def logrows(self) -> int:
        return self.record.logrows

    @property
    def agreement(self) -> float | None:
        return self.record.agreement

    @property
    def input_shape(self) -> list[int]:
        return list(self.card.inputs[0].shape)

    def quantize_input(self, x: ArrayLike) -> list[int]:
        """Field elements of x at this circuit's input scale (= the proof's input instances)."""
        return quantize(x, self.input_scale)

    def predict(self, x: ArrayLike) -> list[float]:
        """The circuit's own outputs for x (from its witness): exactly what a proof makes public."""
        arr = self._checked_input(x)
        with tempfile.TemporaryDirectory(prefix="verinfer-predict-") as tmp:
            data = ezkl_ops.write_input(Path(tmp) / "input.json", arr)
            witness = ezkl_ops.gen_witness(data, self.paths.compiled, Path(tmp) / "witness.json")
        felts = [felt_from_ezkl_hex(h) for h in witness["outputs"][0]]
        return dequantize(felts, self.output_scale)

    def prove(self, x: ArrayLike) -> ProofBundle:
        """Prove one inference on x (float32, the model's input shape)."""
        arr = self._checked_input(x)
        with tempfile.TemporaryDirectory(prefix="verinfer-prove-") as tmp:
            work = Path(tmp)
            data = ezkl_ops.write_input(work / "input.json", arr)
            ezkl_ops.gen_witness(data, self.paths.compiled, work / "witness.json")
            t0 = time.perf_counter()
            proof = ezkl_ops.prove(
                work / "witness.json",
                self.paths.compiled,
                self.paths.pk,
                work / "proof.json",
                self.paths.srs,
            )
            seconds = time.perf_counter() - t0
        return self._bundle(proof, int(arr.size), seconds)

    def verify(self, bundle: ProofBundle) -> bool:
        """True when the bundle's proof verifies against its instances; else ProofRejected."""
        self._check_binding(bundle)
        with tempfile.TemporaryDirectory(prefix="verinfer-verify-") as tmp:
            proof = Path(tmp) / "proof.json"
            proof.write_text(json.dumps(bundle.to_ezkl_proof()))
            return ezkl_ops.verify(proof, self.paths.settings, self.paths.vk, self.paths.srs)

    def solidity_verifier_path(self) -> Path:
        """Path of the Halo2Verifier .sol for this circuit's vk (written once, cached)."""
        if not self.paths.sol.is_file():
            ezkl_ops.evm_verifier(
                self.paths.vk, self.paths.settings, self.paths.sol, self.paths.srs
            )
        return self.paths.sol

    def _checked_input(self, x: ArrayLike) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float32)
        want = int(np.prod(self.input_shape))
        if arr.size != want or not np.all(np.isfinite(arr)):
            raise ProvingError(
                f"{self.name} takes {want} finite float32 values of shape {self.input_shape}; "
                f"got shape {list(arr.shape)}"
            )
        return arr.reshape(self.input_shape)

    def _bundle(self, proof: dict[str, object], n_inputs: int, seconds: float) -> ProofBundle:
        instances = instances_from_ezkl(proof)
        felts = [int(h, 16) for h in instances[n_inputs:]]
        return ProofBundle(
            model=self.name,
            commitment=self.card.commitment,
            proof_hex=str(proof["hex_proof"]),
            instances=instances,
            n_inputs=n_inputs,
            outputs=dequantize(felts, self.output_scale),
            input_scale=self.input_scale,
            output_scale=self.output_scale,
            vk_digest=self.vk_digest,
            logrows=self.logrows,
            prove_seconds=seconds,
            ezkl_proof=dict(proof),
        )

    def _check_binding(self, bundle: ProofBundle) -> None:
        if bundle.commitment != self.card.commitment or bundle.vk_digest != self.vk_digest:
            raise ProofRejected(
                f"bundle is for commitment {bundle.commitment} / vk {bundle.vk_digest}, but this "
                f"prover serves {self.card.commitment} / {self.vk_digest}; verify it with the "
                "prover (or vk) of that model"
            )
        outs = dequantize(bundle.instance_ints()[bundle.n_inputs :], bundle.output_scale)
        if outs != bundle.outputs:
            raise ProofRejected("bundle.outputs differ from its output instances; it was altered")
