"""Model backends: what the server process predicts with, and what a worker process proves with.

``Backend`` is the server side (``predict`` on named input arrays, in a thread: it must not
hold the GIL for long); ``api.jobs.tasks.ProveBackend`` is the worker side. The EZKL
``ProverBackend`` is both; ``load_worker_backend`` builds it inside a worker process.

Usage::

    backend = ProverBackend.load(card)
    backend.predict({"input": x})                   # {"logits": array of shape [1, 10]}
    pool = ProcessPool(load_worker_backend, [card.name])
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from models.card import ModelCard
from prover.pipeline import ZkProver

__all__ = ["Backend", "ProverBackend", "Tensors", "load_worker_backend"]

Tensors = dict[str, NDArray[Any]]


class Backend(Protocol):
    """What the gateway needs to answer a model's requests in the server process."""

    name: str
    commitment: str

    def predict(self, inputs: Tensors) -> Tensors:
        """Outputs by the card's output names, from inputs by the card's input names."""
        ...


class ProverBackend:
    """Predicts from the circuit's witness (the exact outputs the proof will carry) and proves."""

    def __init__(self, card: ModelCard, prover: ZkProver) -> None:
        self.name = card.name
        self.commitment = card.commitment
        self.input_name = card.inputs[0].name
        self.input_shape = card.inputs[0].shape
        self.output_name = card.outputs[0].name
        self.output_shape = card.outputs[0].shape
        # The witness's outputs are exact in FP64, not in FP32 (see Gateway.output_datatypes).
        self.output_datatypes = {self.output_name: "FP64"}
        self.n_inputs = int(np.prod(self.input_shape))
        self.prover = prover

    @classmethod
    def load(cls, card: ModelCard, progress: Any = None) -> ProverBackend:
        """Tune-or-load the circuit, keys and SRS for ``card`` (cached after the first time)."""
        return cls(card, ZkProver.for_model(card.name, progress=progress))

    def predict(self, inputs: Tensors) -> Tensors:
        # The witness is what the proof will commit to, so the response's outputs and the
        # proof's public outputs are the same numbers, not a float model's approximation.
        values = self.prover.predict(inputs[self.input_name])
        return {self.output_name: np.asarray(values, dtype=np.float64).reshape(self.output_shape)}

    def prove(self, x: NDArray[np.float32]) -> dict[str, Any]:
        bundle = self.prover.prove(x)
        return bundle.model_dump(mode="json")


def load_worker_backend(name: str) -> ProverBackend:
    """The prover of a model the server already prepared (a worker process builds nothing)."""
    prover = ZkProver.load_prepared(name)
    return ProverBackend(prover.card, prover)
