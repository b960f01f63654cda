"""Root of verinfer's error hierarchy.

Each package family has its own ``errors.py`` whose classes derive from :class:`VerinferError`::

    VerinferError
    ├── models.errors.ModelError          (build, export, registry, commitment)
    ├── prover.errors.ProverError         (EZKL pipeline, SRS, artifact cache)
    ├── disputes.errors.DisputeError      (executor, trace, Merkle proofs, bisection)
    ├── contracts.errors.ChainError       (compile, anvil, web3 calls, reverts)
    ├── verifier.errors.VerificationError (a response, proof or claim that does not check)
    └── api.errors.ApiError               (gateway input, job store)

Messages say what was wrong and what to do next; library exceptions (web3, EZKL, onnx) are
wrapped, never leaked.
"""

from __future__ import annotations


class VerinferError(Exception):
    """Base of every error verinfer raises on purpose."""
