"""Errors of the prover package (EZKL pipeline, SRS, artifact cache).

    VerinferError
    └── ProverError
        ├── SrsError              (SRS file missing, unreadable or with the wrong sha256)
        ├── CircuitError          (an EZKL step failed: settings, calibrate, compile, setup)
        ├── TuningError           (no candidate setting proves with enough accuracy)
        ├── ProvingError          (ezkl.prove failed)
        ├── ProofRejected         (a proof or its public instances do not verify)
        ├── NotPreparedError      (a load-only caller found no prepared circuit on this machine)
        └── VerifierExportError   (the Solidity verifier could not be written)

EZKL raises a terse ``RuntimeError``; every call goes through :func:`prover.ezkl_ops.call`, which
re-raises it as one of these with a message that says what to do next.
"""

from __future__ import annotations

from verinfer.errors import VerinferError


class ProverError(VerinferError):
    """Something in the EZKL proving pipeline."""


class SrsError(ProverError):
    """The structured reference string is missing or does not match its expected hash."""


class CircuitError(ProverError):
    """An EZKL circuit step (settings, calibration, compile, setup, witness) failed."""


class TuningError(ProverError):
    """No candidate circuit setting proved with the required accuracy."""


class ProvingError(ProverError):
    """EZKL could not produce a proof for this input."""


class ProofRejected(ProverError):
    """The proof, or the public instances it is checked against, did not verify."""


class NotPreparedError(ProverError):
    """The circuit, keys or SRS of a model are not on this machine, and the caller may not build."""


class VerifierExportError(ProverError):
    """The Solidity verifier could not be generated."""
