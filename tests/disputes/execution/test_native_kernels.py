"""The C kernels (execution/kernels.c via disputes.execution.ops.native) equal NumPy bit for bit.

Every property runs each step kind three ways: the integer reference (``fast=False``), the NumPy
fast path and the C path, on both C code paths (portable and AVX2). Either all three give the
same integers or all raise BoundsError; a bound the C path records must hold for its output.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disputes.errors import BoundsError
from disputes.execution.ops import KERNELS, Ctx, native
from disputes.program.fixedpoint import max_abs, round_div
from disputes.program.ir import Param, Program, Step
from disputes.program.tables import FUNCTIONS, lut_params

I64 = np.ndarray
OUT_SLOT = 9
EDGES = [0, 1, -1, 2, -2, 3, -3, 2**46, -(2**46), 2**47 - 1, -(2**47 - 1), 2**47, -(2**47)]
LAYOUTS = ["same", "row", "col", "col_padded", "scalar", "scalar_0d", "middle", "swapped"]
IMPLS = ["portable", "avx2"]


@pytest.fixture(autouse=True)
def _native_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """C for every size (in production small steps stay with NumPy, the same integers)."""
    assert native.enabled(), "the kernels library did not build (is gcc installed?)"
    monkeypatch.setattr(native, "MIN_ELEMENTS", 1)


def _use(impl: str) -> None:
    try:
        native.select(impl)
    except Exception:
        pytest.skip(f"this CPU cannot run the {impl} kernels")


@pytest.fixture
def auto_after() -> Iterator[None]:
    yield
    native.select("auto")


def _values(rng: np.random.Generator, shape: tuple[int, ...], bits: int) -> I64:
    """Random ints below 2**bits in magnitude with edge values (bounds, ±1, 0) and rounding
    ties (±odd · 2**j: exactly half way for a shift by j + 1) sprinkled in."""
    q = rng.integers(-(2**bits), 2**bits + 1, shape, dtype=np.int64)
    flat = q.reshape(-1)
    for i in rng.choice(flat.size, size=min(flat.size, 3), replace=False):
        flat[i] = rng.choice([e for e in EDGES if abs(e) <= 2**bits] or [0])
    for i in rng.choice(flat.size, size=min(flat.size, 3), replace=False):
        j = int(rng.integers(0, max(bits - 3, 0) + 1))
        flat[i] = int(rng.choice([-1, 1])) * int(rng.choice([1, 3, 5])) << j
    return q


def _shape(rng: np.random.Generator) -> tuple[int, ...]:
    ndim = int(rng.integers(1, 4))
    return (*(int(n) for n in rng.integers(1, 8, ndim - 1)), int(rng.integers(1, 10)))


def _b_shape(layout: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The second operand's shape for a layout (``middle``: one only the NumPy code reads)."""
    k = shape[-1]
    return {
        "same": shape,
        "row": (*shape[:-1], 1),
        "col": (k,),
        "col_padded": (1,) * (len(shape) - 1) + (k,),
        "scalar": (1,),
        "scalar_0d": (),
        "middle": (*shape[:-2], 1, k) if len(shape) >= 2 else shape,
        "swapped": shape,
    }[layout]


def _binary(
    rng: np.random.Generator, layout: str, bits_a: int, bits_b: int
) -> tuple[tuple[int, ...], I64, I64]:
    shape = _shape(rng)
    a, b = _values(rng, shape, bits_a), _values(rng, _b_shape(layout, shape), bits_b)
    if layout == "swapped":  # the first operand is the broadcast one
        a = _values(rng, (shape[-1],), bits_a)
    return shape, a, b


def _step(kind: str, shape: tuple[int, ...], scale: int, in_scales: tuple[int, ...]) -> Step:
    params: tuple[tuple[str, Param], ...] = (("in_scales", in_scales),)
    return Step(kind, tuple(range(len(in_scales))), shape, scale, params)


def _run(step: Step, ops: list[I64], fast: bool, use_native: bool, known: bool) -> object:
    """The kernel's output (or BoundsError); checks any bound it proved on the way."""
    ctx = Ctx(fast=fast, use_native=use_native, bounds={}, out=OUT_SLOT)
    if known:
        ctx.bounds = {j: max_abs(q) for j, q in enumerate(ops)}
    try:
        out = KERNELS[step.kind](step, [q.copy() for q in ops], ctx)
    except BoundsError:
        return BoundsError
    proven = ctx.known(OUT_SLOT)
    assert proven is None or max_abs(out) <= proven, (step.kind, proven, max_abs(out))
    return out


def _agree(step: Step, ops: list[I64], known: bool = False) -> object:
    """Reference, NumPy fast path and C path give the same integers or all raise BoundsError."""
    ref = _run(step, ops, False, False, known)
    got = [_run(step, ops, True, use, known) for use in (False, True)]
    for g in got:
        if ref is BoundsError or g is BoundsError:
            assert g is ref, (step.kind, step.params)
        else:
            assert isinstance(g, np.ndarray) and isinstance(ref, np.ndarray)
            assert g.dtype == np.int64 and g.shape == ref.shape
            assert np.array_equal(g, ref), (step.kind, step.params)
    return ref


SEEDS = st.integers(0, 2**32 - 1)


def _settings(n: int) -> settings:
    # ``auto_after`` only restores the code path after all examples, which is what it is for.
    return settings(
        max_examples=n, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )


@pytest.mark.parametrize("impl", IMPLS)
@_settings(150)
@given(
    seed=SEEDS,
    kind=st.sampled_from(["add", "sub"]),
    layout=st.sampled_from(LAYOUTS),
    scales=st.tuples(st.integers(4, 30), st.integers(4, 30), st.integers(4, 30)),
    bits=st.tuples(st.integers(0, 47), st.integers(0, 47)),
    known=st.booleans(),
)
def test_add_sub(
    impl: str,
    auto_after: None,
    seed: int,
    kind: str,
    layout: str,
    scales: tuple[int, int, int],
    bits: tuple[int, int],
    known: bool,
) -> None:
    _use(impl)
    shape, a, b = _binary(np.random.default_rng(seed), layout, *bits)
    _agree(_step(kind, shape, scales[2], scales[:2]), [a, b], known)


@pytest.mark.parametrize("impl", IMPLS)
@_settings(150)
@given(
    seed=SEEDS,
    layout=st.sampled_from(LAYOUTS),
    scales=st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 36)),
    bits=st.tuples(st.integers(0, 40), st.integers(0, 32)),
    known=st.booleans(),
)
def test_mul(
    impl: str,
    auto_after: None,
    seed: int,
    layout: str,
    scales: tuple[int, int, int],
    bits: tuple[int, int],
    known: bool,
) -> None:
    _use(impl)
    shape, a, b = _binary(np.random.default_rng(seed), layout, *bits)
    _agree(_step("mul", shape, scales[2], scales[:2]), [a, b], known)


@pytest.mark.parametrize("impl", IMPLS)
@_settings(200)
@given(
    seed=SEEDS,
    layout=st.sampled_from(["same", "row", "col", "scalar", "scalar_0d", "middle"]),
    scales=st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)),
    bits=st.tuples(st.integers(0, 52), st.integers(0, 47)),
    divisor=st.sampled_from(["random", "one", "minus_one", "huge", "zero", "negative"]),
)
def test_div(
    impl: str,
    auto_after: None,
    seed: int,
    layout: str,
    scales: tuple[int, int, int],
    bits: tuple[int, int],
    divisor: str,
) -> None:
    """Divisors ±1, huge, zero and negative; numerators past 2**51 (the exact integer path)."""
    _use(impl)
    rng = np.random.default_rng(seed)
    shape, a, b = _binary(rng, layout, *bits)
    fill = {"one": 1, "minus_one": -1, "huge": 2**46 + 1, "zero": 0}.get(divisor)
    if fill is not None:
        b.reshape(-1)[rng.integers(0, b.size)] = fill
    b[b == 0] = 0 if divisor == "zero" else 7
    if divisor == "negative":
        b = -np.abs(b)
    _agree(_step("div", shape, scales[2], scales[:2]), [a, b])


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("t", [0, 5, 16, -7])
def test_div_rounding_ties_and_float_edge(impl: str, auto_after: None, t: int) -> None:
    """Quotients exactly at .5 (ties away from zero) and numerators at the float path's edge."""
    _use(impl)
    d = np.array([[2], [6], [-10], [3], [2**20 + 1]], dtype=np.int64)
    a = np.array([[1, -1, 3, -3, 5, -5, 0, 7]] * 5, dtype=np.int64)
    top = (2**51 - 3 * 3) // 2 >> max(t, 0)  # about the largest |N| the float path takes
    a[3] = top - np.arange(8)
    a[4] = -(top * 2 // 3) + np.arange(8)
    _agree(_step("div", a.shape, 16 + t, (16, 16)), [a, d])


@pytest.mark.parametrize("impl", IMPLS)
@_settings(120)
@given(
    seed=SEEDS,
    fn=st.sampled_from(sorted(FUNCTIONS)),
    in_scale=st.integers(10, 22),
    out_scale=st.integers(8, 30),  # past 2**31 entries: the NumPy fallback
    n=st.integers(1, 300),
    spread=st.integers(0, 46),
)
def test_lut(
    impl: str,
    auto_after: None,
    seed: int,
    fn: str,
    in_scale: int,
    out_scale: int,
    n: int,
    spread: int,
) -> None:
    _use(impl)
    rng = np.random.default_rng(seed)
    _, lo, hi, _ = FUNCTIONS[fn]
    x = rng.integers(lo - 2, hi + 3, n) << in_scale  # the domain, its ends and both tails
    x += _values(rng, (n,), min(spread, in_scale + 4))
    x[: min(n, 2)] = [2**46, -(2**46)][: min(n, 2)]
    params: tuple[tuple[str, Param], ...] = (("in_scales", (in_scale,)), *lut_params(fn, out_scale))
    _agree(Step("lut", (0,), (n,), out_scale, params), [x])


@pytest.mark.parametrize("impl", IMPLS)
def test_lut_identity_tail_past_the_shift_bound(impl: str, auto_after: None) -> None:
    """The identity tail's left shift (s_out > 12) refuses values past 2**62 in both."""
    _use(impl)
    params: tuple[tuple[str, Param], ...] = (("in_scales", (13,)), *lut_params("gelu", 26))
    x = np.array([0, 2**40, 2**62, 5], dtype=np.int64)
    step = Step("lut", (0,), x.shape, 26, params)
    assert _agree(step, [x]) is BoundsError
    assert isinstance(_agree(step, [x[:2]]), np.ndarray)


@pytest.mark.parametrize("impl", IMPLS)
@_settings(150)
@given(
    seed=SEEDS,
    kind=st.sampled_from(["reduce_sum", "reduce_mean", "reduce_max"]),
    scales=st.tuples(st.integers(0, 32), st.integers(0, 32)),
    bits=st.integers(0, 47),
    known=st.booleans(),
    huge=st.booleans(),
)
def test_reductions(
    impl: str,
    auto_after: None,
    seed: int,
    kind: str,
    scales: tuple[int, int],
    bits: int,
    known: bool,
    huge: bool,
) -> None:
    """Row sums, means (rounding ties of both signs) and maxima; sums past 2**60 must raise."""
    _use(impl)
    rng = np.random.default_rng(seed)
    x = _values(rng, _shape(rng), bits)
    if huge:
        x.reshape(-1)[0] = 2**61
    ref = _agree(_step(kind, (*x.shape[:-1], 1), scales[1], scales[:1]), [x], known)
    assert ref is BoundsError or isinstance(ref, np.ndarray)


@pytest.mark.parametrize("impl", IMPLS)
def test_mean_ties(impl: str, auto_after: None) -> None:
    _use(impl)
    x = np.array([[1, 0], [-1, 0], [3, 0], [-3, 0], [1, 2], [-5, 0]], dtype=np.int64)
    _agree(_step("reduce_mean", (6, 1), 4, (4,)), [x])


@pytest.mark.parametrize("impl", IMPLS)
@_settings(120)
@given(
    seed=SEEDS,
    scales=st.tuples(st.integers(0, 40), st.integers(0, 30)),
    bits=st.integers(0, 62),
)
def test_sqrt(impl: str, auto_after: None, seed: int, scales: tuple[int, int], bits: int) -> None:
    _use(impl)
    rng = np.random.default_rng(seed)
    x = _values(rng, _shape(rng), bits)
    edges = [0, -5, 2**bits - 1, (1 << (bits // 2)) ** 2]  # zero, negative, largest, a square
    x.reshape(-1)[: min(x.size, 4)] = edges[: min(x.size, 4)]
    _agree(_step("sqrt", x.shape, scales[1], scales[:1]), [x])


@pytest.mark.parametrize("impl", IMPLS)
@_settings(80)
@given(seed=SEEDS, ndim=st.integers(2, 5), data=st.data())
def test_transpose(impl: str, auto_after: None, seed: int, ndim: int, data: st.DataObject) -> None:
    """Every swap of two adjacent axis groups, forced through C whatever its size."""
    _use(impl)
    a = data.draw(st.integers(0, ndim - 2))
    e = data.draw(st.integers(a + 2, ndim))
    m = data.draw(st.integers(a + 1, e - 1))
    perm = (*range(a), *range(m, e), *range(a, m), *range(e, ndim))
    rng = np.random.default_rng(seed)
    x = _values(rng, tuple(int(n) for n in rng.integers(1, 9, ndim)), 47)
    want = np.ascontiguousarray(x.transpose(perm))
    got = native.transpose(x, perm, min_elements=1)
    dims = native.swapped_groups(x.shape, perm)
    assert dims is not None
    if dims[3] == 1:
        assert got is not None and np.array_equal(got, want)
    else:
        assert got is None  # whole-row moves stay with NumPy


def test_layouts_reach_the_c_code() -> None:
    """The layouts the properties above call native actually go to C (or knowingly do not)."""
    rng = np.random.default_rng(1)
    shape = (2, 3, 4)
    a = _values(rng, shape, 20)
    expect = {"same": native.SAME, "row": native.ROW, "col": native.COL, "scalar": native.SCALAR}
    for layout, mode in expect.items():
        lay = native.layout(shape, a, _values(rng, _b_shape(layout, shape), 20))
        assert lay is not None and lay[0] == mode, layout
    assert native.layout(shape, a, _values(rng, _b_shape("middle", shape), 20)) is None
    assert native.layout(shape, a[:, :, ::2].copy(), a) is None  # not the output's shape
    assert native.layout(shape, a.astype(np.int32), a) is None
    assert native.swapped_groups((2, 3, 4), (0, 2, 1)) == (2, 3, 4, 1)
    assert native.swapped_groups((2, 3, 4), (2, 0, 1)) == (1, 6, 4, 1)
    assert native.swapped_groups((2, 3, 4), (1, 0, 2)) == (1, 2, 3, 4)
    assert native.swapped_groups((2, 3, 4, 5), (3, 1, 2, 0)) is None
    assert native.swapped_groups((2, 3), (0, 1)) is None


def test_read_only_operands() -> None:
    a = np.arange(12, dtype=np.int64).reshape(3, 4)
    b = np.full((3, 1), 5, dtype=np.int64)
    a.flags.writeable = False
    b.flags.writeable = False
    lay = native.layout(a.shape, a, b)
    assert lay is not None
    got = native.div(a, b, lay, 0)
    assert got is not None and np.array_equal(got[0], round_div(a, b))


def test_switch_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.ENV, "0")
    assert not native.enabled() and not Ctx().native and not Ctx().for_run().native
    monkeypatch.setenv(native.ENV, "1")
    assert native.enabled() and Ctx().native and not Ctx(fast=False).native


def test_kernel_paths() -> None:
    with open("/proc/cpuinfo") as f:
        has_avx2 = " avx2" in f.read()
    try:
        assert native.select("portable") == "portable"
        assert native.select("auto") == ("avx2" if has_avx2 else "portable")
    finally:
        native.select("auto")


def _whole(program: Program, feeds: dict[str, np.ndarray]) -> tuple[object, ...]:
    from disputes.execution.executor import run
    from disputes.tracing.trace import trace

    out = run(program, feeds)
    tr = trace(program, feeds)
    return out.q.tobytes(), out.root, tuple(tr.checkpoints), tuple(tr.slot_roots)


@pytest.mark.parametrize("impl", IMPLS)
def test_whole_programs_same_with_and_without_native(
    impl: str,
    auto_after: None,
    tiny_program: Program,
    digits_mlp: Program,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``run`` and ``trace`` of the tiny block and digits-mlp: same output, roots, checkpoints."""
    from tests.disputes.golden_cases import digits_input
    from tests.disputes.tiny import tiny_input

    _use(impl)
    cases = [(tiny_program, {"x": tiny_input()}), (digits_mlp, {"input": digits_input()})]
    for program, feeds in cases:
        monkeypatch.setenv(native.ENV, "0")
        off = _whole(program, feeds)
        monkeypatch.setenv(native.ENV, "1")
        assert _whole(program, feeds) == off


def test_missing_compiler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from disputes.errors import DisputeError

    monkeypatch.setenv("CC", "no-such-cc-verinfer")
    with pytest.raises(DisputeError, match="not found"):
        native.build_library(force=True)
