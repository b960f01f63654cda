"""ProofBundle: a proof, its public instances and everything needed to check it again.

Usage::

    bundle = prover.prove(x)
    proof_bytes, instances = bundle.calldata()    # for Halo2Verifier.verifyProof
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from prover.quantize import felt_from_ezkl_hex, felt_to_uint256_hex
from verinfer.field import ezkl_proof_json


class ProofBundle(BaseModel):
    """A zk proof of one inference, with public instances as the EVM verifier wants them."""

    model: str
    commitment: str
    proof_hex: str = Field(description='"0x…" proof bytes for verifyProof')
    instances: list[str] = Field(description='"0x" + 64 hex, big-endian uint256; inputs first')
    n_inputs: int
    outputs: list[float] = Field(description="output instances rescaled by output_scale")
    input_scale: int
    output_scale: int
    vk_digest: str
    logrows: int
    prove_seconds: float
    ezkl_proof: dict[str, Any] = Field(description="EZKL's full proof JSON")

    def instance_ints(self) -> list[int]:
        """Public instances as field elements (ints)."""
        return [int(h, 16) for h in self.instances]

    def calldata(self) -> tuple[bytes, list[int]]:
        """(proof bytes, instances as ints) — the arguments of ``verifyProof``."""
        return bytes.fromhex(self.proof_hex.removeprefix("0x")), self.instance_ints()

    def input_instances(self) -> list[int]:
        """The input field elements (the first n_inputs instances)."""
        return self.instance_ints()[: self.n_inputs]

    def to_ezkl_proof(self) -> dict[str, Any]:
        """EZKL's proof JSON made from ONLY this bundle's proof bytes and instances.

        Nothing of ``ezkl_proof`` is reused: what is verified must be exactly what the escrow
        and the client bind (a copied proof document could carry instances of its own).
        """
        return ezkl_proof_json(*self.calldata())


def instances_from_ezkl(proof: dict[str, Any]) -> list[str]:
    """EZKL's little-endian instance hex → "0x" big-endian uint256 strings."""
    return [felt_to_uint256_hex(felt_from_ezkl_hex(h)) for row in proof["instances"] for h in row]
