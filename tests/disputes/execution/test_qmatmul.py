"""Per-row quantized products (SPEC §3, qmatmul): float32 BLAS equals the integer definition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disputes.errors import BoundsError, DisputeError
from disputes.execution.executor import load_program, prepare, run
from disputes.execution.ops import KERNELS, Ctx, native
from disputes.program.ir import Param, Program, Step
from disputes.program.quantize import QuantConfig, act_magnitude_bits, quantize_rows
from disputes.tracing.trace import trace


def _spec(
    a: np.ndarray, wt: np.ndarray, t: np.ndarray, bias: np.ndarray, amag: int, shift: int
) -> np.ndarray:
    """SPEC §3 qmatmul in Python integers, element by element."""
    out = np.empty((a.shape[0], wt.shape[0]), dtype=object)
    for r, row in enumerate(a.tolist()):
        m = max(abs(v) for v in row)
        e = max(0, m.bit_length() - amag)
        aq = [(v + ((1 << e) >> 1)) >> e for v in row]
        for c, wrow in enumerate(wt.tolist()):
            p = sum(x * y for x, y in zip(aq, wrow, strict=True))
            sh = shift - e + int(t[c])
            q = (p + ((1 << sh) >> 1)) >> sh if sh >= 0 else p << -sh
            out[r, c] = q + int(bias[c])
    return out


def _impls() -> list[str]:
    out = []
    for impl in ("portable", "avx2"):
        try:
            native.select(impl)
            out.append(impl)
        except DisputeError:
            pass
    native.select("auto")
    assert out, "the native kernels did not load"
    return out


def _qstep(shape: tuple[int, ...], amag: int, shift: int) -> Step:
    params: tuple[tuple[str, Param], ...] = (
        ("in_scales", (14, 0, 0, 14)),
        ("amag", amag),
        ("shift", shift),
    )
    return Step("qmatmul", (0, 1, 2, 3), shape, 14, params)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 200),
    st.integers(1, 12),
    st.integers(0, 46),
    st.integers(-3, 6),
    st.integers(0, 2**31),
)
def test_float32_path_equals_integer_definition(
    rows: int, k: int, n: int, bits: int, shift: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(-(2**bits), 2**bits + 1, (rows, k))
    a[0, 0] = 2**bits  # the widest value, a power of two: its row's exponent edge
    if rows > 1:
        a[1] = 0  # an all-zero row keeps exponent 0
    if rows > 2:
        a[2] = -(2 ** max(bits - 1, 0)) - 1  # rounding ties of negative values
    wt = rng.integers(-127, 128, (n, k))
    t = rng.integers(-2, 25, (n,))
    bias = rng.integers(-(2**30), 2**30, (n,))
    amag = act_magnitude_bits(wt, QuantConfig())
    step = _qstep((rows, n), amag, shift)
    ops = [a, wt, t, bias]
    want = _spec(a, wt, t, bias, amag, shift)
    if max(abs(int(v)) for v in want.flat) >= 2**47:  # out of range: both paths refuse
        for fast_path in (True, False):
            with pytest.raises(BoundsError):
                KERNELS["qmatmul"](step, ops, Ctx(fast=fast_path))
        return
    ref = KERNELS["qmatmul"](step, ops, Ctx(fast=False))
    assert np.array_equal(ref.astype(object), want)
    numpy_fast = KERNELS["qmatmul"](step, ops, Ctx(fast=True, use_native=False))
    assert np.array_equal(numpy_fast, ref)
    for impl in _impls():  # the C row rounding and epilogue, plain and AVX2
        native.select(impl)
        try:
            assert np.array_equal(KERNELS["qmatmul"](step, ops, Ctx(fast=True)), ref), impl
        finally:
            native.select("auto")


def test_batch_axes_are_rows() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(-(2**20), 2**20, (2, 3, 40))
    wt = rng.integers(-127, 128, (5, 40))
    t, bias = np.full(5, 10), np.zeros(5, dtype=np.int64)
    step = _qstep((2, 3, 5), act_magnitude_bits(wt, QuantConfig()), 0)
    got = KERNELS["qmatmul"](step, [a, wt, t, bias], Ctx(fast=True))
    flat = KERNELS["qmatmul"](
        _qstep((6, 5), step.ip("amag"), 0), [a.reshape(6, 40), wt, t, bias], Ctx()
    )
    assert np.array_equal(got.reshape(6, 5), flat)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(1, 64), st.floats(1e-6, 1e3), st.integers(0, 2**31))
def test_quantize_rows_uses_each_rows_range(n: int, k: int, scale: float, seed: int) -> None:
    w = np.random.default_rng(seed).standard_normal((n, k)) * scale
    w[0] *= 1e-3  # one row far smaller than the rest gets its own, larger scale
    q, t = quantize_rows(w, QuantConfig())
    assert int(np.abs(q).max()) <= 127
    for c in range(n):
        if t[c] < QuantConfig().wscale_max:  # not capped: the row uses at least half the range
            assert int(np.abs(q[c]).max()) >= 64
        err = np.abs(q[c] / 2.0 ** float(t[c]) - w[c]).max()
        assert err <= 2.0 ** -float(t[c]) / 2 + 1e-12


def test_quantize_rows_zero_row() -> None:
    q, t = quantize_rows(np.zeros((2, 3)), QuantConfig())
    assert not q.any() and t.tolist() == [0, 0]


def test_act_magnitude_bits_is_the_largest_exact_width() -> None:
    wt = np.random.default_rng(1).integers(-127, 128, (7, 384))
    amag = act_magnitude_bits(wt, QuantConfig())
    l1 = int(np.abs(wt).sum(axis=1).max())
    assert (l1 << amag) <= 2**24 < (l1 << (amag + 1))


def test_program_with_too_wide_activations_is_refused(digits_mlp: Program) -> None:
    i = next(i for i, s in enumerate(digits_mlp.steps) if s.kind == "qmatmul")
    s = digits_mlp.steps[i]
    params = tuple((k, s.ip("amag") + 1 if k == "amag" else v) for k, v in s.params)
    steps = [*digits_mlp.steps]
    steps[i] = Step(s.kind, s.inputs, s.shape, s.scale, params, s.node)
    bad = Program(
        digits_mlp.inputs,
        digits_mlp.weights,
        digits_mlp.weight_scales,
        steps,
        digits_mlp.output_slot,
        digits_mlp.output_name,
        digits_mlp.config,
    )
    with pytest.raises(BoundsError, match="2\\*\\*24"):
        prepare(bad)


def test_operands_recompute_a_qmatmul_element(digits_mlp: Program) -> None:
    x = np.linspace(0, 1, 64, dtype=np.float32).reshape(1, 64)
    tr = trace(digits_mlp, {"input": x})
    step = digits_mlp.steps[0]
    assert step.kind == "qmatmul"
    ops = tr.operands_for(0, (0, 7))
    assert [o.rows for o in ops] == [(0,), (7,), (0,), (0,)]
    a, wt, t, bias = (tr.slot_tensor(o.slot) for o in ops)
    want = _spec(a, wt[7:8], t[7:8], bias[7:8], step.ip("amag"), step.ip("shift"))
    assert int(want[0, 0]) == int(tr.tensor(0)[0, 7])


def test_exact_profile_lowers_plain_matmul(digits_mlp_path: object) -> None:
    exact = load_program(str(digits_mlp_path), QuantConfig(mm_wbits=0))
    fast = load_program(str(digits_mlp_path))
    assert {s.kind for s in exact.steps} >= {"matmul"} and "qmatmul" not in {
        s.kind for s in exact.steps
    }
    assert exact.program_root != fast.program_root  # the profile is committed
    x = np.linspace(0, 1, 64, dtype=np.float32).reshape(1, 64)
    assert np.argmax(run(exact, {"input": x}).values) == np.argmax(run(fast, {"input": x}).values)
