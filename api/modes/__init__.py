"""The modes that settle by claim: optimistic (the executor) and zk on demand (the prover).

- ``executor``: ``ExecutorBackend`` (answers with ``run``, claims with ``trace`` in a worker)
  and ``claim_of`` (the claim of a view: honest, or a test's cheat).
- ``loaders``: the backend of a model by its mode, in the server and in a worker process.
- ``store``: ``ClaimStore``, one row per claim owed, persisted before anything is answered.
- ``service``: ``ClaimService``, admission and trace runners on the gateway's worker pool, and
  the chain fulfiller (``api.chain``) when the gateway has a chain.
- ``accept``: the HTTP side (checks a paid ``parameters.request_id`` against the chain).
- ``status``: the flat infer ``parameters`` and the live status of ``GET .../claims/{id}``.
- ``evidence``: the ``api.inference.EVIDENCE`` entries of these modes.

Usage::

    gw = Gateway(store, {"minilm-l6": ExecutorBackend.load(card)}, {"minilm-l6": card})
    ClaimService.attach(gw)                                  # gw.claims
"""

from api.modes.executor import ExecutorBackend, TracedClaim, claim_of, serve_on_one_blas_thread
from api.modes.loaders import load_backend, load_worker
from api.modes.service import ClaimService
from api.modes.store import ClaimRecord, ClaimStore

__all__ = [
    "ClaimRecord",
    "ClaimService",
    "ClaimStore",
    "ExecutorBackend",
    "TracedClaim",
    "claim_of",
    "load_backend",
    "load_worker",
    "serve_on_one_blas_thread",
]
