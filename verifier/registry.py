"""Find the registry entry a client can trust: its commitment, its verifier's code, its layout.

The registry is open: anyone may register any commitment with any verifier (entries are unique
per owner and commitment, so a squatter can neither block nor replace an honest provider). A
client therefore picks the entry it pays by checking it, not by trusting whoever registered it:
the commitment must be the model's, the verifier's runtime code must be our own build of the
model's vk, and the instance layout must be the trusted circuit's (a wrong split would let the
escrow take input instances for outputs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from verifier.errors import (
    CommitmentMismatch,
    LayoutMismatch,
    VerificationError,
    VerifierMismatch,
)
from verifier.proof import check_verifier_code
from verifier.response import TrustedModel

if TYPE_CHECKING:
    from contracts.clients import ModelInfo, RegistryClient


def _registry(trusted: TrustedModel, registry: str) -> tuple[RegistryClient, str]:
    from contracts.bindings import connect
    from contracts.clients import RegistryClient

    if not trusted.rpc_url:
        raise VerifierMismatch("TrustedModel has no rpc_url: cannot read the registry")
    return RegistryClient(connect(trusted.rpc_url), registry), trusted.rpc_url


def _check_entry(
    trusted: TrustedModel, entry: ModelInfo, expected_runtime: str, rpc_url: str
) -> bool:
    if "0x" + entry.commitment.hex() != trusted.commitment.lower():
        raise CommitmentMismatch(
            f"registry entry {entry.model_id} is for commitment 0x{entry.commitment.hex()}, "
            f"not {trusted.commitment}"
        )
    if (entry.n_inputs, entry.n_outputs) != (trusted.n_inputs, trusted.n_outputs):
        raise LayoutMismatch(
            f"registry entry {entry.model_id} splits instances {entry.n_inputs}+"
            f"{entry.n_outputs}, the trusted circuit {trusted.n_inputs}+{trusted.n_outputs}"
        )
    return check_verifier_code(
        rpc_url=rpc_url, verifier_address=entry.verifier, expected_runtime=expected_runtime
    )


def check_model_entry(
    trusted: TrustedModel, model_id: int, *, registry: str, expected_runtime: str
) -> bool:
    """True when registry entry ``model_id`` is the trusted model; a VerificationError otherwise.

    Example::

        check_model_entry(trusted, 3, registry=dep.registry, expected_runtime=art.deployed_bytecode)
    """
    reg, rpc_url = _registry(trusted, registry)
    return _check_entry(trusted, reg.get_model(model_id), expected_runtime, rpc_url)


def find_models(trusted: TrustedModel, *, registry: str, expected_runtime: str) -> list[int]:
    """Ids of the active entries for the trusted model that pass ``check_model_entry``.

    Example::

        ids = find_models(trusted, registry=dep.registry, expected_runtime=art.deployed_bytecode)
    """
    reg, rpc_url = _registry(trusted, registry)
    commitment = bytes.fromhex(trusted.commitment.removeprefix("0x"))
    found = []
    for model_id in reg.models_of(commitment):
        entry = reg.get_model(model_id)  # read once: checked and its active flag
        try:
            _check_entry(trusted, entry, expected_runtime, rpc_url)
        except VerificationError:
            continue  # a squatter's or a misregistered entry: never the one to pay
        if entry.active:
            found.append(model_id)
    return found
