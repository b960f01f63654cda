"""`verinfer verify BUNDLE.json --model NAME`: check a saved response against a trusted model.

The trusted model always comes from the user (a model prepared on this machine, or the files
of one), never from the bundle: a bundle that named its own model, vk or verifier could vouch
for itself. Verifying reads files only; it never builds, tunes or makes keys or an SRS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.errors import BadRequestError
from prover.pipeline import ZkProver
from verifier import TrustedModel, check_response


def load_bundle(path: Path) -> dict[str, Any]:
    """A saved {"input", "response", "proof"} document, checked for those three keys."""
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadRequestError(f"cannot read {path}: {exc}") from exc
    missing = [k for k in ("input", "response", "proof") if k not in doc]
    if missing:
        raise BadRequestError(
            f"{path} lacks {', '.join(missing)}; save the client's input, "
            "the infer response and the proof document together"
        )
    return doc


def trusted_model(name: str, rpc_url: str | None, verifier: str | None) -> TrustedModel:
    """The commitment, vk and settings this machine prepared itself; builds and tunes nothing.

    Usage: ``trusted_model("digits-mlp", None, None)`` after ``verinfer models prepare``.
    """
    prover = ZkProver.load_prepared(name)
    return TrustedModel.from_settings(
        prover.card.commitment,
        prover.paths.settings,
        vk_path=prover.paths.vk,
        srs_path=prover.paths.srs,
        rpc_url=rpc_url,
        verifier_address=verifier,
    )


@dataclass(frozen=True)
class TrustedFiles:
    """A trusted model given by its files (a vk obtained out of band), not by a local name."""

    commitment: str
    settings: Path
    vk: Path
    srs: Path

    def model(self, rpc_url: str | None, verifier: str | None) -> TrustedModel:
        return TrustedModel.from_settings(
            self.commitment,
            self.settings,
            vk_path=self.vk,
            srs_path=self.srs,
            rpc_url=rpc_url,
            verifier_address=verifier,
        )


def verify_bundle(path: Path, trusted: TrustedModel) -> dict[str, Any]:
    """Run check_response on a bundle against the caller's ``trusted`` model (never the bundle's).

    Usage: ``verify_bundle(Path("saved.json"), trusted_model("digits-mlp", None, None))``
    """
    doc = load_bundle(path)
    checked = check_response(doc["input"], doc["response"], doc["proof"], trusted)
    return {
        "ok": True,
        "model_commitment": trusted.commitment,
        "prediction": checked.prediction,
        "outputs": checked.outputs,
        "checked_off_chain": checked.checked_off_chain,
        "checked_on_chain": checked.checked_on_chain,
    }
