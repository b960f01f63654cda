"""Find the registry entry a client can trust: its commitment, its verifier's code, its layout.

The registry is open: anyone may register any commitment with any verifier (entries are unique
per owner and commitment, so a squatter can neither block nor replace an honest provider). A
client therefore picks the entry it pays by checking it, not by trusting whoever registered it:
the commitment must be the model's, the verifier's runtime code must be our own build of the
model's vk, and the instance layout must be the trusted circuit's (a wrong split would let the
escrow take input instances for outputs).
"""

from __future__ import annotations

from verifier.errors import (
    CommitmentMismatch,
    LayoutMismatch,
    VerificationError,
    VerifierMismatch,
)
from verifier.proof import check_verifier_code
from verifier.response import TrustedModel


def check_model_entry(
    trusted: TrustedModel, model_id: int, *, registry: str, expected_runtime: str
) -> bool:
    """True when registry entry ``model_id`` is the trusted model; a VerificationError otherwise.

    Example::

        check_model_entry(trusted, 3, registry=dep.registry, expected_runtime=art.deployed_bytecode)
    """
    from contracts.bindings import connect
    from contracts.clients import RegistryClient

    if not trusted.rpc_url:
        raise VerifierMismatch("TrustedModel has no rpc_url: cannot read the registry")
    entry = RegistryClient(connect(trusted.rpc_url), registry).get_model(model_id)
    if "0x" + entry.commitment.hex() != trusted.commitment.lower():
        raise CommitmentMismatch(
            f"registry entry {model_id} is for commitment 0x{entry.commitment.hex()}, "
            f"not {trusted.commitment}"
        )
    if (entry.n_inputs, entry.n_outputs) != (trusted.n_inputs, trusted.n_outputs):
        raise LayoutMismatch(
            f"registry entry {model_id} splits instances {entry.n_inputs}+{entry.n_outputs}, "
            f"the trusted circuit {trusted.n_inputs}+{trusted.n_outputs}"
        )
    return check_verifier_code(
        rpc_url=trusted.rpc_url, verifier_address=entry.verifier, expected_runtime=expected_runtime
    )


def find_models(trusted: TrustedModel, *, registry: str, expected_runtime: str) -> list[int]:
    """Ids of the active entries for the trusted model that pass ``check_model_entry``.

    Example::

        ids = find_models(trusted, registry=dep.registry, expected_runtime=art.deployed_bytecode)
    """
    from contracts.bindings import connect
    from contracts.clients import RegistryClient

    if not trusted.rpc_url:
        raise VerifierMismatch("TrustedModel has no rpc_url: cannot read the registry")
    reg = RegistryClient(connect(trusted.rpc_url), registry)
    commitment = bytes.fromhex(trusted.commitment.removeprefix("0x"))
    found = []
    for model_id in reg.models_of(commitment):
        try:
            check_model_entry(
                trusted, model_id, registry=registry, expected_runtime=expected_runtime
            )
        except VerificationError:
            continue  # a squatter's or a misregistered entry: never the one to pay
        if reg.get_model(model_id).active:
            found.append(model_id)
    return found
