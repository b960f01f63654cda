"""Property tests of the integer primitives and single steps, edge values included."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disputes.errors import BoundsError
from disputes.execution.ops import KERNELS, Ctx
from disputes.program.fixedpoint import INT64_SAFE, isqrt, rescale, round_div, rshift_round
from disputes.program.ir import Step
from disputes.program.tables import LUT_IN_SCALE, lut_params

V = st.integers(-(2**46), 2**46)
EDGE = st.sampled_from([0, 1, -1, 2**46, -(2**46), 2**46 - 1, -(2**46) + 1, 3, -3])
VAL = st.one_of(V, EDGE)


@given(VAL, st.integers(1, 20))
def test_rshift_round_is_floor_of_half_up(q: int, k: int) -> None:
    got = int(rshift_round(np.array([q], dtype=np.int64), k)[0])
    assert got == (q + (1 << (k - 1))) >> k == math.floor((q + 2 ** (k - 1)) / 2**k)


def test_negative_rounding_ties_go_up() -> None:
    q = np.array([-5, -4, -3, -1, 1, 3, 5], dtype=np.int64)
    assert rshift_round(q, 1).tolist() == [-2, -2, -1, 0, 1, 2, 3]


@given(VAL, st.integers(-8, 8), st.integers(-8, 8))
def test_rescale_up_is_exact(q: int, s1: int, s2: int) -> None:
    a = np.array([q >> 10], dtype=np.int64)
    hi = rescale(a, s1, s1 + abs(s2))
    assert int(rescale(hi, s1 + abs(s2), s1)[0]) == int(a[0])


@given(st.integers(-(2**50), 2**50), st.integers(-(2**30), 2**30).filter(lambda d: d != 0))
def test_round_div_half_away_from_zero(n: int, d: int) -> None:
    got = int(round_div(np.array([n], np.int64), np.array([d], np.int64))[0])
    sign = -1 if (n < 0) != (d < 0) else 1
    assert got == sign * ((2 * abs(n) + abs(d)) // (2 * abs(d)))


def test_division_by_zero_is_loud() -> None:
    with pytest.raises(BoundsError):
        round_div(np.array([1]), np.array([0]))


@given(st.one_of(st.integers(0, INT64_SAFE - 1), st.sampled_from([0, 1, 2, 3, 4, INT64_SAFE - 1])))
def test_isqrt_exact(n: int) -> None:
    assert int(isqrt(np.array([n], np.int64))[0]) == math.isqrt(n)


def _step(
    kind: str, shape: tuple[int, ...], scale: int, in_scales: tuple[int, ...], **params: object
) -> Step:
    p = (("in_scales", in_scales), *sorted(params.items()))
    return Step(kind, tuple(range(len(in_scales))), shape, scale, p)  # type: ignore[arg-type]


@given(VAL.map(lambda v: v >> 18), VAL.map(lambda v: v >> 18))
def test_mul_step_rounds_product(a: int, b: int) -> None:
    step = _step("mul", (1,), 12, (12, 12))
    got = KERNELS["mul"](step, [np.array([a]), np.array([b])], Ctx())
    assert int(got[0]) == (a * b + 2**11) >> 12


def test_mul_overflow_is_loud() -> None:
    step = _step("mul", (1,), 12, (12, 12))
    with pytest.raises(BoundsError):
        KERNELS["mul"](step, [np.array([2**40]), np.array([2**40])], Ctx())


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 40),
    st.integers(1, 6),
    st.integers(0, 40),
    st.integers(0, 2**31),
)
def test_matmul_fast_equals_reference(m: int, k: int, n: int, bits: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    hi = 2**bits
    a = rng.integers(-hi, hi + 1, (m, k))
    bt = rng.integers(-(2**15), 2**15, (n, k))
    a[0, 0] = hi  # max magnitude present
    step = _step("matmul", (m, n), 12, (14, 14), shift=16)
    ref = KERNELS["matmul"](step, [a, bt], Ctx(fast=False))
    fast = KERNELS["matmul"](step, [a, bt], Ctx(fast=True))
    exact = (a.astype(object) @ bt.T.astype(object) + 2**15) // 2**16
    assert np.array_equal(ref, fast)
    assert np.array_equal(ref.astype(object), exact)


def test_matmul_overflow_is_loud() -> None:
    step = _step("matmul", (1, 1), 0, (0, 0), shift=0)
    a = np.full((1, 4), 2**31)
    with pytest.raises(BoundsError):
        KERNELS["matmul"](step, [a, a], Ctx(fast=False))


@pytest.mark.parametrize("fn", ["exp", "erf", "tanh", "sigmoid", "gelu"])
def test_table_functions_are_close_and_hit_table_points(fn: str) -> None:
    params = lut_params(fn, 16)
    lo, hi = int(params[1][1]), int(params[2][1])  # type: ignore[arg-type]
    xs = np.arange(lo * 4096 - 100, hi * 4096 + 100, 37, dtype=np.int64)
    step = Step("lut", (0,), (len(xs),), 16, (("in_scales", (LUT_IN_SCALE,)), *params))
    got = KERNELS["lut"](step, [xs], Ctx()) / 2**16
    f: Callable[[float], float] = {
        "exp": math.exp,
        "erf": math.erf,
        "tanh": math.tanh,
        "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
        "gelu": lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2))),
    }[fn]
    xr = np.clip(xs / 4096, lo, hi if fn != "gelu" else 1e9)
    want = np.array([f(x) for x in xr])
    assert np.max(np.abs(got - want)) < 2e-4 * max(1.0, float(np.max(np.abs(want))))


def test_split_apply_in_two_threads_is_bit_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    from disputes.execution.ops import base

    rng = np.random.default_rng(5)
    x = rng.integers(-(2**20), 2**20, (1, 12, 128, 128))
    den = rng.integers(1, 2**20, (1, 12, 128, 1))
    steps = [
        (_step("div", x.shape, 16, (14, 14)), [x, den]),
        (_step("mul", x.shape, 14, (14, 14)), [x, x[:, :1]]),
        (Step("lut", (0,), x.shape, 16, (("in_scales", (14,)), *lut_params("gelu", 16))), [x]),
    ]
    single = [KERNELS[s.kind](s, ops, Ctx()) for s, ops in steps]
    monkeypatch.setenv("VERINFER_EXEC_THREADS", "2")
    base._pool.cache_clear()
    try:
        assert base._pool() is not None
        for (s, ops), want in zip(steps, single, strict=True):
            assert np.array_equal(KERNELS[s.kind](s, ops, Ctx()), want)
    finally:
        monkeypatch.delenv("VERINFER_EXEC_THREADS")
        base._pool.cache_clear()
