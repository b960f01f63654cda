"""Check a proof document off-chain (EZKL, trusted vk) or on-chain (the deployed verifier).

Both checks read only ``proof_hex`` and ``instances``, the exact bytes and numbers that the
client binds to its input and outputs and that the escrow sends to the verifier contract. EZKL's
own proof JSON in the document (``ezkl_proof``) is never read: it carries instances of its own,
and verifying those would prove nothing about the outputs the client was given.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from verifier.errors import ProofInvalid, VerifierMismatch
from verifier.field import parse_instances
from verinfer.field import ezkl_proof_json


def calldata(proof: dict[str, Any]) -> tuple[bytes, list[int]]:
    """(proof bytes, instances) exactly as ``verifyProof(bytes, uint256[])`` takes them."""
    raw, instances = proof.get("proof_hex"), proof.get("instances")
    if not isinstance(raw, str) or not isinstance(instances, list) or not instances:
        raise ProofInvalid("proof document needs 'proof_hex' (hex) and 'instances' (hex list)")
    try:
        return bytes.fromhex(raw.removeprefix("0x")), parse_instances(instances)
    except ValueError as exc:
        raise ProofInvalid(f"proof document is malformed: {exc}") from exc


def verify_proof(
    proof: dict[str, Any], *, vk_path: Path, settings_path: Path, srs_path: Path
) -> bool:
    """True when ``proof`` verifies with the trusted vk; raises ProofInvalid otherwise.

    Example::

        verify_proof(doc, vk_path=Path("vk.key"), settings_path=Path("settings.json"),
                     srs_path=Path("kzg10.srs"))
    """
    import ezkl

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "proof.json"
        path.write_text(json.dumps(ezkl_proof_json(*calldata(proof))))
        try:
            ok = ezkl.verify(
                proof_path=str(path),
                settings_path=str(settings_path),
                vk_path=str(vk_path),
                srs_path=str(srs_path),
                reduced_srs=False,
            )
        except RuntimeError as exc:  # EZKL raises on a bad proof instead of returning False
            raise ProofInvalid(f"proof rejected by EZKL with the trusted vk: {exc}") from exc
    if ok is not True:
        raise ProofInvalid("proof rejected by EZKL with the trusted vk")
    return True


def verify_on_chain(proof: dict[str, Any], *, rpc_url: str, verifier_address: str) -> bool:
    """True when the deployed verifier contract accepts ``proof`` (eth_call, no gas spent).

    Example::

        verify_on_chain(doc, rpc_url="http://127.0.0.1:8545", verifier_address="0x…")
    """
    from contracts.bindings import connect, verify_proof_call

    proof_bytes, instances = calldata(proof)
    if not verify_proof_call(connect(rpc_url), verifier_address, proof_bytes, instances):
        raise ProofInvalid(f"verifier contract {verifier_address} rejected the proof")
    return True


def check_verifier_code(*, rpc_url: str, verifier_address: str, expected_runtime: str) -> bool:
    """True when the deployed verifier's runtime code is exactly the one built for this vk.

    The registry lets a provider name any verifier address; a verifier that always says yes
    would make every proof "valid". Rebuild the verifier from the model's vk (``verinfer``
    compiles it with pinned solc) and compare it with what is deployed before trusting it::

        check_verifier_code(rpc_url=url, verifier_address=addr,
                            expected_runtime=artifact.deployed_bytecode)
    """
    from web3 import Web3

    from contracts.bindings import connect

    code = connect(rpc_url).eth.get_code(Web3.to_checksum_address(verifier_address))
    expected = bytes.fromhex(expected_runtime.removeprefix("0x"))
    if bytes(code) != expected:
        raise VerifierMismatch(
            f"the contract at {verifier_address} is not the verifier built "
            "for this model's vk: do not trust its verdicts"
        )
    return True
