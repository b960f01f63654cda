"""The real zk backend: the EZKL prover behind the gateway's ``ZkBackend`` protocol."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.card import ModelCard
from prover.pipeline import ZkProver


class ProverBackend:
    """Predicts from the circuit's witness (the exact outputs the proof will carry) and proves."""

    def __init__(self, card: ModelCard, prover: ZkProver) -> None:
        self.name = card.name
        self.commitment = card.commitment
        self.input_shape = card.inputs[0].shape
        self.n_inputs = int(np.prod(self.input_shape))
        self.prover = prover

    @classmethod
    def load(cls, card: ModelCard, progress: Any = None) -> ProverBackend:
        """Tune-or-load the circuit, keys and SRS for ``card`` (cached after the first time)."""
        return cls(card, ZkProver.for_model(card.name, progress=progress))

    def predict(self, x: NDArray[np.float32]) -> list[float]:
        # The witness is what the proof will commit to, so the response's outputs and the
        # proof's public outputs are the same numbers, not a float model's approximation.
        return self.prover.predict(x)

    def prove(self, x: NDArray[np.float32]) -> dict[str, Any]:
        bundle = self.prover.prove(x)
        return bundle.model_dump(mode="json")
