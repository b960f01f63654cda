"""One-step proofs: the calldata of ``OneStepVerifier.verify`` for one step of a trace.

The top layer of ``disputes``: imports tracing, execution, commitments and program.
"""

from __future__ import annotations

from disputes.osp.osp import OneStepProof, before, one_step_proof, start_data

__all__ = ["OneStepProof", "before", "one_step_proof", "start_data"]
