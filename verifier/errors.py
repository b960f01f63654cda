"""Errors of the dApp verifier library.

VerinferError
└── VerificationError           (the evidence does not check out: do not trust the output)
    ├── ProofInvalid            (the proof fails verification with the trusted vk/verifier)
    ├── CommitmentMismatch      (the response or proof names another model)
    ├── InputMismatch           (the proof is for a different input than the one you sent)
    ├── OutputMismatch          (the outputs you got are not the outputs that were proven)
    ├── LayoutMismatch          (the instances are not split into inputs/outputs as trusted)
    ├── VerifierMismatch        (the registered verifier's code is not our build of the vk)
    └── GatewayError            (the gateway answered with an error or not at all)
"""

from __future__ import annotations

from verinfer.errors import VerinferError


class VerificationError(VerinferError):
    """The evidence does not support the response: do not act on its output."""


class ProofInvalid(VerificationError):
    """The proof does not verify against the trusted verifying key or verifier contract."""


class CommitmentMismatch(VerificationError):
    """The response or proof is for a different model commitment than the trusted one."""


class InputMismatch(VerificationError):
    """The proof's public inputs are not the quantized form of the caller's input."""


class OutputMismatch(VerificationError):
    """The response's outputs differ from the proof's public outputs."""


class LayoutMismatch(VerificationError):
    """The proof's (or a registry entry's) instance layout is not the trusted circuit's."""


class VerifierMismatch(VerificationError):
    """The contract at the registered verifier address is not the verifier built for this vk."""


class GatewayError(VerificationError):
    """The gateway returned an error, an unexpected body, or nothing in time."""
