"""The one error measure both serving paths are held to, and the zk budget's estimates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.budget import PK_BYTES_PER_ROW, Budget, CircuitSize
from models.fidelity import Tolerance, looks_like_classifier, measure


def test_errors_are_relative_to_the_output_range_and_agreement_counts_top_classes() -> None:
    ref = [np.array([[1.0, 4.0, -2.0]]), np.array([[0.5, 0.0, 0.2]])]
    got = [np.array([[1.1, 4.0, -2.0]]), np.array([[0.5, 0.6, 0.2]])]
    f = measure(ref, got, classifier=True)
    assert f.max_abs_error == pytest.approx(0.6) and f.max_rel_error == pytest.approx(0.6 / 4)
    assert f.argmax_agreement == 0.5 and f.n_samples == 2
    assert measure(ref, got, classifier=False).argmax_agreement is None
    assert f.metrics("zk") == {
        "zk_max_abs_error": f.max_abs_error,
        "zk_max_rel_error": f.max_rel_error,
        "zk_argmax_agreement": 0.5,
        "zk_n_samples": 2.0,
    }


def test_an_all_zero_reference_is_exact_only_when_the_output_is_too() -> None:
    zero = [np.zeros((1, 3))]
    assert measure(zero, zero, classifier=False).max_rel_error == 0.0
    assert math.isinf(measure(zero, [np.ones((1, 3))], classifier=False).max_rel_error)
    with pytest.raises(ValueError, match="2 reference outputs for 1 served"):
        measure(zero * 2, zero, classifier=False)


def test_the_tolerance_names_every_violation() -> None:
    f = measure([np.array([1.0, 0.0])], [np.array([0.0, 1.0])], classifier=True)
    problems = Tolerance(max_rel_error=0.05, min_agreement=0.99).violations(f)
    assert problems == ["max relative error 100.000% > 5.000%", "argmax agreement 0.0% < 99.0%"]
    assert Tolerance(max_rel_error=2.0, min_agreement=0.0).violations(f) == []


@pytest.mark.parametrize(
    ("shape", "expected"),
    [([1, 10], True), ([10], True), ([1, 1, 5], True), ([1, 1], False), ([1, 8, 16], False),
     ([1, 1001], False), ([2, 10], False)],
)  # fmt: skip
def test_classifier_outputs_are_one_axis_of_scores(shape: list[int], expected: bool) -> None:
    assert looks_like_classifier(shape) is expected


def test_circuit_estimates_grow_with_rows_and_name_the_limits_they_break() -> None:
    small, big = CircuitSize.of(12), CircuitSize.of(18)
    assert small.pk_bytes_estimate == 4096 * PK_BYTES_PER_ROW
    assert big.prove_s_estimate > small.prove_s_estimate * 60
    budget = Budget(max_logrows=16, max_pk_bytes=1 << 30, max_prove_s=60, max_memory_bytes=8 << 30)
    assert small.over(budget) == []
    over = big.over(budget)
    assert over[0] == "logrows 18 > 16" and any(s.startswith("proving ~") for s in over)
    assert any(s.startswith("proving key ~") for s in over)
