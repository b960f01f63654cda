"""The fast kernels equal the int64 reference kernels bit for bit, edges of their exactness
conditions included (float64 division near 2**53, dense tables over the whole domain)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disputes.execution.ops import KERNELS, Ctx
from disputes.program.fixedpoint import FLOAT64_EXACT, div_scaled, lshift, round_div
from disputes.program.ir import Param, Program, Step
from disputes.program.tables import lut_params
from tests.disputes.tiny import tiny_input


def _step(kind: str, shape: tuple[int, ...], scale: int, in_scales: tuple[int, ...]) -> Step:
    return Step(kind, tuple(range(len(in_scales))), shape, scale, (("in_scales", in_scales),))


def _reference_div(a: np.ndarray, b: np.ndarray, t: int) -> np.ndarray:
    return round_div(lshift(a, t), b) if t >= 0 else round_div(a, lshift(b, -t))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-20, 20),
    st.integers(0, 52),
    st.integers(0, 46),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_float_division_equals_integer_division(
    t: int, abits: int, dbits: int, signed: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(-(2**abits) if signed else 0, 2**abits + 1, (5, 8))
    b = rng.integers(1, 2**dbits + 1, (5, 1))
    a[0, :3] = [2**abits, 0, 2**abits - 1]  # extremes present
    b[0, 0] = 2**dbits
    got = div_scaled(a, b, t)
    if got is None:
        return
    ref = _reference_div(a, b, t)
    assert np.array_equal(got[0], ref)
    assert int(np.abs(ref).max()) <= got[1]


@pytest.mark.parametrize("t", [0, 3, -3])
def test_float_division_at_the_2_pow_53_edge(t: int) -> None:
    """Largest numerators the condition admits, divisors that make quotients just below .5."""
    d = np.array([[3], [2**20 + 1], [7]], dtype=np.int64)
    n_max = (FLOAT64_EXACT - 3 * int(d.max() << max(-t, 0)) - 1) // 2 >> max(t, 0)
    a = np.array([[n_max - i for i in range(64)]] * 3, dtype=np.int64)
    a[1] = -a[1]
    got = div_scaled(a, d, t)
    assert got is not None
    assert np.array_equal(got[0], _reference_div(a, d, t))
    assert div_scaled(a + 1, d, t) is None or t < 0  # one above the edge is refused


def test_float_division_with_a_broadcast_numerator() -> None:
    a = np.array([[7], [-9]], dtype=np.int64)
    b = np.array([[2, 3, 4]], dtype=np.int64)
    step = _step("div", (2, 3), 4, (4, 4))
    fast = KERNELS["div"](step, [a, b], Ctx(fast=True))
    assert np.array_equal(fast, KERNELS["div"](step, [a, b], Ctx(fast=False)))


def test_float_division_refuses_nonpositive_divisors() -> None:
    a = np.array([[5, -5]], dtype=np.int64)
    assert div_scaled(a, np.array([[-2]], dtype=np.int64), 0) is None
    step = _step("div", (1, 2), 4, (4, 4))
    b = np.array([[-2]], dtype=np.int64)
    fast = KERNELS["div"](step, [a, b], Ctx(fast=True))
    assert np.array_equal(fast, KERNELS["div"](step, [a, b], Ctx(fast=False)))


def _lut_step(fn: str, in_scale: int, out_scale: int, n: int) -> Step:
    params: tuple[tuple[str, Param], ...] = (("in_scales", (in_scale,)), *lut_params(fn, out_scale))
    return Step("lut", (0,), (n,), out_scale, params)


@pytest.mark.parametrize("fn", ["exp", "erf", "tanh", "sigmoid", "gelu"])
@pytest.mark.parametrize("in_scale", [12, 13, 14, 16, 20])
def test_dense_table_equals_interpolation_everywhere(fn: str, in_scale: int) -> None:
    """Every scale-12 point of the domain and far outside it, ties of the rounding included."""
    from disputes.program.tables import FUNCTIONS

    _, lo, hi, _ = FUNCTIONS[fn]
    span = (hi - lo) << 12
    x12 = np.arange(-span - 4096, 2 * span, dtype=np.int64) + (lo << 12)
    k = in_scale - 12
    xs = np.concatenate([x12 << k, (x12 << k) + (1 << max(k - 1, 0)), (x12 << k) - 1])
    xs = np.concatenate([xs, np.array([2**46, -(2**46)], dtype=np.int64)])
    step = _lut_step(fn, in_scale, 14, len(xs))
    fast = KERNELS["lut"](step, [xs], Ctx(fast=True))
    assert np.array_equal(fast, KERNELS["lut"](step, [xs], Ctx(fast=False)))


def test_background_roots_equal_direct_roots(
    tiny_program: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Roots hashed behind the computation come back in step order, whatever the backlog."""
    import importlib

    from disputes.commitments import merkle

    trace_mod = importlib.import_module("disputes.tracing.trace")  # the module, not trace()
    from disputes.execution.executor import execute

    direct = [merkle.tensor_root(t) for _, t in execute(tiny_program, {"x": tiny_input()})]
    for batch in (0, 1 << 30):
        monkeypatch.setattr(trace_mod, "BATCH_BYTES", batch)
        tr = trace_mod.trace(tiny_program, {"x": tiny_input()}, keep_tensors=False)
        assert tr.slot_roots[tiny_program.first_step_slot :] == direct


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 40),
    st.integers(1, 20),
    st.integers(0, 30),
    st.integers(1, 24),
)
def test_matmul_with_bias_rounds_in_place_like_reference(
    batch: int, k: int, n: int, bits: int, shift: int
) -> None:
    rng = np.random.default_rng(bits * 1000 + k)
    a = rng.integers(-(2**bits), 2**bits + 1, (batch, 5, k))
    bt = rng.integers(-(2**15), 2**15, (n, k))
    bias = rng.integers(-(2**40), 2**40, (n,))
    params: tuple[tuple[str, Param], ...] = (("in_scales", (14, 14, 28)), ("shift", shift))
    step = Step("matmul", (0, 1, 2), (batch, 5, n), 28 - shift, params)
    ref = KERNELS["matmul"](step, [a, bt, bias], Ctx(fast=False))
    fast = KERNELS["matmul"](step, [a, bt, bias], Ctx(fast=True))
    exact = (a.astype(object) @ bt.T.astype(object) + bias + 2 ** (shift - 1)) // 2**shift
    assert np.array_equal(ref, fast)
    assert np.array_equal(ref.astype(object), exact)


def _check_proven_bounds(program: Program, feeds: dict[str, np.ndarray]) -> int:
    """Run step by step with bound tracking; every proven bound must hold for the real tensor."""
    from disputes.execution.executor import context, quantize_inputs
    from disputes.program.fixedpoint import max_abs

    ctx = context(program, True).for_run()
    slots = [*quantize_inputs(program, feeds), *program.weights]
    checked = 0
    for i, step in enumerate(program.steps):
        ctx.out = program.slot_of_step(i)
        out = KERNELS[step.kind](step, [slots[j] for j in step.inputs], ctx)
        slots.append(out)
        proven = ctx.known(ctx.out)
        if proven is not None:
            assert max_abs(out) <= proven, (i, step.kind)
            checked += 1
    return checked


def test_proven_bounds_hold(tiny_program: Program, digits_mlp: Program) -> None:
    from tests.disputes.golden_cases import digits_input

    assert _check_proven_bounds(tiny_program, {"x": tiny_input()}) > 0
    assert _check_proven_bounds(digits_mlp, {"input": digits_input()}) > 0


@pytest.mark.parametrize(
    ("n_slots", "first"), [(1, 0), (2, 0), (2, 1), (3, 1), (8, 3), (9, 0), (412, 103), (5, 4)]
)
def test_checkpoint_series_equals_incremental(n_slots: int, first: int) -> None:
    from disputes.commitments import commit

    rng = np.random.default_rng(n_slots * 31 + first)
    roots = [rng.bytes(32) for _ in range(n_slots)]
    inc = commit.IncrementalCheckpoints(n_slots)
    for j in range(first):
        inc.set(j, roots[j])
    want = []
    for j in range(first, n_slots):
        inc.set(j, roots[j])
        want.append(inc.root())
    assert commit.checkpoint_series(roots, first, n_slots) == want
