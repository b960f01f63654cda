"""`verinfer verify BUNDLE.json`: check a saved gateway response with locally trusted artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from api.errors import BadRequestError
from models.registry import Registry
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
    """The commitment, vk and settings this machine built itself: nothing taken from the server."""
    card = Registry.default().card(name)
    paths = ZkProver.for_model(name).paths
    return TrustedModel.from_settings(
        card.commitment,
        paths.settings,
        vk_path=paths.vk,
        srs_path=paths.srs,
        rpc_url=rpc_url,
        verifier_address=verifier,
    )


def verify_bundle(path: Path, rpc_url: str | None, verifier: str | None) -> dict[str, Any]:
    """Run check_response on a bundle; raises a VerificationError when anything is off."""
    doc = load_bundle(path)
    name = str(doc["response"].get("model_name") or doc["proof"].get("model"))
    checked = check_response(
        doc["input"], doc["response"], doc["proof"], trusted_model(name, rpc_url, verifier)
    )
    return {
        "ok": True,
        "model": name,
        "prediction": checked.prediction,
        "outputs": checked.outputs,
        "checked_off_chain": checked.checked_off_chain,
        "checked_on_chain": checked.checked_on_chain,
    }
