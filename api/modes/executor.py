"""The optimistic backend: answers from the dispute executor at once, claims from its trace.

``ExecutorBackend`` is both sides of an optimistic model, like ``ProverBackend`` is of a zk one:
in the server process it predicts (``executor.run``: the output and nothing else to commit);
in a worker process it traces (``trace``: every checkpoint, the final one ``P_n``, and the
output slot's proof that the escrow checks). Both run the same integer program, so the
response's numbers are exactly the claimed output (``ClaimService`` checks that anyway).

Usage::

    backend = ExecutorBackend.load(card)
    backend.predict({"input_ids": ids, "attention_mask": mask})  # {"embedding": [1, 384]}
    claim = backend.trace({"input": input_bytes.hex()})            # in a worker process
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from api.backends import Tensors
from api.errors import BadRequestError
from disputes.errors import BoundsError, ExecutionInputError
from disputes.execution.executor import ArrayIn, load_program, run
from disputes.game.claims import TracedClaim, claim_of
from disputes.game.encoding import input_bytes, inputs_from_bytes
from disputes.game.view import TraceView, View
from disputes.program.ir import Program
from disputes.tracing.trace import Trace, trace
from models.card import ModelCard
from models.registry import Registry
from verinfer.errors import VerinferError

# TracedClaim and claim_of live in disputes.game.claims (one builder for every claimant);
# the gateway's modules import them from here.
__all__ = ["ExecutorBackend", "TracedClaim", "claim_of", "serve_on_one_blas_thread"]

ViewOf = Callable[[Trace], View]


def serve_on_one_blas_thread() -> None:
    """Limit this process's BLAS to one thread for good (the server process's ``predict``).

    The worker process traces every answered claim beside the answers, so the server never has
    the machine's cores to itself: OpenBLAS's threads then wait on each other at every one of
    the run's small matmuls. Measured on 2 cores, same run, worker tracing: MiniLM's predict
    took ~1.5 s with 2 BLAS threads and ~0.15 s with one (the integer results are the same).

    Usage::

        serve_on_one_blas_thread()  # before serving; never in a worker process
    """
    threadpool_limits(limits=1, user_api="blas")


def _refused(exc: VerinferError) -> BadRequestError:
    # Token ids past the vocabulary, values past int32: the client's input, not our failure.
    return BadRequestError(f"the model cannot run on this input: {exc}")


class ExecutorBackend:
    """An optimistic model on the dispute executor (see the module doc)."""

    def __init__(self, card: ModelCard, program: Program, view: ViewOf = TraceView) -> None:
        self.name = card.name
        self.commitment = card.commitment
        self.card = card
        self.program = program
        self.view = view  # tests pass a cheating view; a real gateway never does

    @classmethod
    def load(cls, card: ModelCard, registry: Registry | None = None) -> ExecutorBackend:
        """Lower the model's ONNX file to its integer program (checked against the card)."""
        program = load_program((registry or Registry.default()).onnx_path(card.name))
        measured = card.extra.get("program_root")
        if measured and measured != "0x" + program.program_root.hex():
            raise VerinferError(
                f"{card.name}: the executor lowers it to program 0x{program.program_root.hex()},"
                f" not the {measured} its card measured; rebuild or re-add the model"
            )
        return cls(card, program)

    @property
    def output_scale(self) -> int:
        return self.program.slot_scale(self.program.output_slot)

    def predict(self, inputs: Tensors) -> Tensors:
        try:
            out = run(self.program, self._named(inputs))
        except (ExecutionInputError, BoundsError) as exc:
            raise _refused(exc) from None
        spec = self.card.outputs[0]
        return {spec.name: np.asarray(out.values, dtype=np.float64).reshape(spec.shape)}

    def input_bytes(self, inputs: Tensors) -> bytes:
        """The request's be32 input (what ``requestOptimistic`` takes and the escrow roots)."""
        try:
            return input_bytes(self.program, self._named(inputs))
        except (ExecutionInputError, BoundsError) as exc:
            raise _refused(exc) from None

    def quantized(self, values: NDArray[Any]) -> NDArray[np.int64]:
        """The output integers back from ``predict``'s values (exact: they are q / 2**scale)."""
        return np.rint(np.asarray(values, dtype=np.float64) * 2.0**self.output_scale).astype(
            np.int64
        )

    def trace(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Trace the be32 ``payload["input"]`` (hex) and return its claim (``TracedClaim``)."""
        program = self.program
        tr = trace(program, inputs_from_bytes(program, bytes.fromhex(payload["input"])))
        return claim_of(self.view(tr)).to_json()

    @staticmethod
    def _named(inputs: Mapping[str, ArrayIn]) -> dict[str, ArrayIn]:
        return dict(inputs)  # the card's input names are the program's (both from the ONNX)
