"""How far a model's served outputs (zk circuit or integer executor) are from onnxruntime's.

One measure for both paths, so a card's numbers mean the same whatever serves the model:

- ``max_abs_error``: the largest |served − onnxruntime| over every output value and sample;
- ``max_rel_error``: that largest error divided by the largest |onnxruntime| output value
  (relative to the output's range: an element-wise ratio explodes on outputs near zero);
- ``argmax_agreement``: for classifier-looking outputs (one axis of 2..MAX_CLASSES scores),
  the fraction of samples whose top class is onnxruntime's.

Usage::

    f = measure(reference_outputs, served_outputs, classifier=True)
    problems = Tolerance().violations(f)      # [] when the served model is close enough
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

MAX_CLASSES = 1000


@dataclass(frozen=True)
class Fidelity:
    """The measured distance of served outputs from onnxruntime's, over ``n_samples``."""

    max_abs_error: float
    max_rel_error: float
    argmax_agreement: float | None
    n_samples: int

    def metrics(self, prefix: str) -> dict[str, float]:
        """Card metrics: ``{prefix}_max_abs_error`` … (agreement only for classifiers)."""
        return {f"{prefix}_{k}": float(v) for k, v in asdict(self).items() if v is not None}

    def describe(self) -> str:
        """``max abs error 0.012, max relative error 0.04%, argmax agreement 100% (n=32)``."""
        text = f"max abs error {self.max_abs_error:.3g}, max relative error "
        text += f"{self.max_rel_error:.3%}"
        if self.argmax_agreement is not None:
            text += f", argmax agreement {self.argmax_agreement:.1%}"
        return text + f" (n={self.n_samples})"


@dataclass(frozen=True)
class Tolerance:
    """How close is close enough: a bound on the relative error, and on top-class agreement."""

    max_rel_error: float = 0.05
    min_agreement: float = 0.99

    def violations(self, f: Fidelity) -> list[str]:
        """What is out of tolerance, in words; empty when the measure is within it."""
        out = []
        if not math.isfinite(f.max_rel_error) or f.max_rel_error > self.max_rel_error:
            out.append(f"max relative error {f.max_rel_error:.3%} > {self.max_rel_error:.3%}")
        if f.argmax_agreement is not None and f.argmax_agreement < self.min_agreement:
            out.append(f"argmax agreement {f.argmax_agreement:.1%} < {self.min_agreement:.1%}")
        return out

    def describe(self) -> str:
        return (
            f"max relative error ≤ {self.max_rel_error:.3%}, argmax agreement ≥ "
            f"{self.min_agreement:.1%} for classifiers"
        )


def looks_like_classifier(shape: Sequence[int]) -> bool:
    """One axis of 2..MAX_CLASSES values and every other axis 1: a vector of class scores."""
    big = [d for d in shape if d != 1]
    return len(big) == 1 and 2 <= big[0] <= MAX_CLASSES


def measure(
    reference: Sequence[ArrayLike], served: Sequence[ArrayLike], classifier: bool
) -> Fidelity:
    """Compare served outputs with onnxruntime's, sample by sample (same order and shapes)."""
    if len(reference) != len(served) or not reference:
        raise ValueError(f"{len(reference)} reference outputs for {len(served)} served ones")
    ref = [np.asarray(r, dtype=np.float64).reshape(-1) for r in reference]
    got = [np.asarray(s, dtype=np.float64).reshape(-1) for s in served]
    err = max(float(np.max(np.abs(r - s))) for r, s in zip(ref, got, strict=True))
    scale = max(float(np.max(np.abs(r))) for r in ref)
    rel = err / scale if scale > 0 else (0.0 if err == 0 else math.inf)
    agree = None
    if classifier:
        hits = sum(int(np.argmax(r) == np.argmax(s)) for r, s in zip(ref, got, strict=True))
        agree = hits / len(ref)
    return Fidelity(err, rel, agree, len(ref))
