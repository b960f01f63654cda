"""The one-step element libraries (contracts/src/onestep) against the executor's own kernels.

Every case's expected value is what ``disputes.execution.ops.KERNELS`` computes for a one-element
(or one-row) tensor with the NumPy reference (``Ctx(fast=False)``); the fast context (C kernels,
float paths) is checked to agree on the way. Where the reference raises, the contract must revert
with the named error that matches the reference's reason. Cases run in batches through
``ElementHarness`` (one eth_call per batch, each case in its own try/catch).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_typing import HexStr
from eth_utils.abi import function_signature_to_4byte_selector
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams

from contracts.bindings import call, deploy
from contracts.build import PKG_DIR, library_sources
from contracts.compiler import Artifact, compile_files, import_closure
from contracts.errors import ContractRevert
from contracts.reverts import ErrorTable, canonical_type, decode_revert, error_table
from disputes.commitments.descriptor import LUT_FUNCTIONS
from disputes.errors import BoundsError
from disputes.execution.ops import KERNELS, Ctx
from disputes.program.fixedpoint import isqrt, rescale, round_div, rshift_round
from disputes.program.ir import Param, Step
from disputes.program.tables import FUNCTIONS, LUT_IN_SCALE, lut_params
from tests.contracts.conftest import Env

HARNESS = PKG_DIR / "test" / "ElementHarness.sol"

# Harness kind codes (ElementHarness.sol) and the library's documented codes.
RSHIFT, RESCALE, ROUND_DIV, ISQRT, BITLEN = 0, 1, 2, 3, 4
KIND_CODE = {
    "add": 10, "sub": 11, "mul": 12, "div": 13, "relu": 14, "neg": 15, "abs": 16, "max": 17,
    "min": 18, "rescale": 19, "clip": 20, "where": 21, "compare": 22, "sqrt": 23,
}  # fmt: skip
REDUCE_CODE = {"reduce_sum": 0, "reduce_mean": 1, "reduce_max": 2}
COMPARE_OPS = ("eq", "ne", "lt", "le", "gt", "ge")  # op code = index
LUT_FNS = LUT_FUNCTIONS  # fn code = index
BINARY = ("add", "sub", "mul", "div", "max", "min")
UNARY = ("relu", "neg", "abs", "rescale", "sqrt")

BATCH = 200
EXAMPLES = 15
MAX_ROW_ELEMENTS = 6000  # elements of all rows in one reduce batch (calldata and memory gas)
EDGES = (
    0, 1, -1, 2, -2, 3, -3, 63, -64, 64, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1, 2**32,
    2**46, -(2**46), 2**47 - 1, -(2**47) + 1, 2**47, -(2**47), 2**60 - 1, -(2**60), 2**61,
    2**62 - 1, -(2**62) + 1,
)  # fmt: skip
ANY_SEED = st.integers(0, 2**64 - 1)
PROFILES = st.sampled_from(["narrow", "wide", "extreme"])
# No shrinking: a case list comes from a seed, so a failure is reproduced by its seed (shown).
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)

Outcome = tuple[bool, int | str]  # (True, value) or (False, error name)


@dataclass(frozen=True)
class Harness:
    contract: Contract
    abi: list[dict[str, Any]]
    errors: ErrorTable

    def one(self, kind: int, case: Sequence[int]) -> int:
        fn = self.contract.functions.evalOne(kind, tuple(case))
        got: int = call(fn.call, self.errors, "evalOne")
        return got

    def batch(self, name: str, *args: Any) -> list[Any]:
        """eth_call a batch function, encoded with eth_abi directly: web3's argument
        normalization costs more than the call itself for hundreds of structs."""
        (item,) = [i for i in self.abi if i.get("name") == name]
        types = [canonical_type(p) for p in item["inputs"]]
        selector = function_signature_to_4byte_selector(f"{name}({','.join(types)})")
        data = selector + abi_encode(types, list(args))
        tx: TxParams = {"to": self.contract.address, "data": HexStr("0x" + data.hex())}
        raw = call(lambda: self.contract.w3.eth.call(tx), self.errors, name)
        out_types = [canonical_type(p) for p in item["outputs"]]
        return list(abi_decode(out_types, bytes(raw))[0])


def _compile() -> Artifact:
    """The harness with what it imports (found among library_sources() by file name).

    Only the import closure is compiled: other people add sources next to these, and one of
    theirs that does not build mid-edit (or a slow, large one) must not hold this module up.
    """
    paths = {p.name: p for p in library_sources()}
    texts = {name: p.read_text() for name, p in paths.items()}
    libs = [paths[n] for n in import_closure(HARNESS.name, texts) if n != HARNESS.name]
    return compile_files([HARNESS], libs)["ElementHarness"]


@pytest.fixture(scope="module")
def harness(chain_env: Env) -> Harness:
    art = _compile()
    address = deploy(chain_env.w3, chain_env.deployer, art)
    contract = chain_env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=art.abi)
    return Harness(contract, art.abi, error_table(art.abi))


# ---- the Python reference ------------------------------------------------------------------


def _error_name(exc: Exception, kind: str) -> str:
    """The contract error that stands for the reason the reference refused a case."""
    if isinstance(exc, OverflowError):  # np.int64(1 << (k - 1)) for a right shift k >= 64
        return "ShiftOutOfRange"
    if not isinstance(exc, BoundsError):
        assert "zero-size" in str(exc), exc  # NumPy's maximum of an empty row
        return "EmptyRow"
    msg = str(exc)
    for needle, name in (
        ("left shift", "ShiftOverflow"),
        ("product bound", "ProductOverflow"),
        ("division by zero", "DivisionByZero"),
        ("division numerator", "NumeratorOutOfBounds"),
        ("sqrt operand", "SqrtOutOfRange"),
        ("sqrt of a negative", "NegativeSqrt"),
        ("bound 2**47", "OutOfBounds"),
    ):
        if needle in msg:
            return name
    assert kind.startswith("reduce"), msg
    return "RowValueOutOfRange"


def _outcome(fn: Callable[[], Any], kind: str) -> Outcome:
    try:
        return True, int(np.asarray(fn()).reshape(-1)[0])
    except (BoundsError, OverflowError, ValueError) as exc:
        return False, _error_name(exc, kind)


def _step(
    kind: str, n_in: int, shape: tuple[int, ...], scale: int, params: tuple[tuple[str, Param], ...]
) -> Step:
    return Step(kind, tuple(range(n_in)), shape, scale, params)


def kernel_outcome(
    kind: str, ops: list[np.ndarray], in_scales: tuple[int, ...], scale: int, **params: Param
) -> Outcome:
    """The reference kernel's result (or refusal); the fast context must agree."""
    p = (("in_scales", in_scales), *sorted(params.items()))
    step = _step(kind, len(ops), (1,) * ops[0].ndim, scale, p)
    arrays = [np.asarray(o, dtype=np.int64) for o in ops]
    ref = _outcome(lambda: KERNELS[kind](step, [a.copy() for a in arrays], Ctx(fast=False)), kind)
    fast = _outcome(lambda: KERNELS[kind](step, [a.copy() for a in arrays], Ctx()), kind)
    same = ref[0] == fast[0] and (not ref[0] or ref == fast)
    assert same, f"executor paths differ on {kind} {ops} {in_scales}->{scale}: {ref} vs {fast}"
    return ref


def elem_outcome(kind: str, case: Sequence[int]) -> Outcome:
    """Expected outcome of one harness Case (a, b, c, sA, sB, sOut, p0, p1) of a step kind."""
    a, b, c, sa, sb, so, p0, p1 = case

    def one(v: int) -> np.ndarray:
        return np.array([v], dtype=np.int64)

    if kind in BINARY:
        return kernel_outcome(kind, [one(a), one(b)], (sa, sb), so)
    if kind in UNARY:
        return kernel_outcome(kind, [one(a)], (sa,), so)
    if kind == "clip":
        return kernel_outcome(kind, [one(a)], (sa,), so, lo=p0, hi=p1)
    if kind == "where":
        return kernel_outcome(kind, [one(c), one(a), one(b)], (0, sa, sb), so)
    assert kind == "compare"
    return kernel_outcome(kind, [one(a), one(b)], (sa, sb), 0, op=COMPARE_OPS[p0])


def fixed_outcome(kind: int, case: Sequence[int]) -> Outcome:
    a, b, _, sa, _, so, k, _ = case
    if kind == BITLEN:
        return True, (a % 2**256).bit_length()
    one = np.array([a], dtype=np.int64)
    fn: Callable[[], Any] = {
        RSHIFT: lambda: rshift_round(one, k),
        RESCALE: lambda: rescale(one, sa, so),
        ROUND_DIV: lambda: round_div(one, np.array([b], dtype=np.int64)),
        ISQRT: lambda: isqrt(one),
    }[kind]
    return _outcome(fn, "fixed")


@functools.lru_cache(maxsize=64)
def table_params(fn: str, s_out: int) -> tuple[tuple[str, Param], ...]:
    return lut_params(fn, s_out)


def lut_outcome(fn: str, a: int, sa: int, so: int) -> Outcome:
    params = dict(table_params(fn, so))
    return kernel_outcome("lut", [np.array([a])], (sa,), so, **params)


def lut_index(fn: str, a: int, sa: int) -> tuple[int, int] | None:
    """SPEC §5.1's table index i and min(i + 1, n) (None when rescaling the input fails)."""
    _, lo, hi, _ = FUNCTIONS[fn]
    k = sa - LUT_IN_SCALE
    if k >= 64 or (k < 0 and (k < -62 or abs(a) >= 2**62 >> -k)):
        return None
    x = int(rescale(np.array([a], dtype=np.int64), sa, LUT_IN_SCALE)[0])
    t = min(max(x, lo << LUT_IN_SCALE), hi << LUT_IN_SCALE) - (lo << LUT_IN_SCALE)
    n = (hi - lo) << 6
    i = t >> 6
    return i, min(i + 1, n)


def reduce_outcome(kind: str, row: Sequence[int], sa: int, so: int) -> Outcome:
    x = np.array([list(row)], dtype=np.int64).reshape(1, len(row))
    return kernel_outcome(kind, [x], (sa,), so)


# ---- comparing batches ---------------------------------------------------------------------


def _got(h: Harness, ok: bool, value: int, err: bytes) -> Outcome:
    if ok:
        return True, int(value)
    return False, decode_revert(bytes(err), h.errors).name


def check(cases: Sequence[Any], got: Sequence[Outcome], want: Sequence[Outcome]) -> None:
    bad = [(c, g, w) for c, g, w in zip(cases, got, want, strict=True) if g != w]
    shown = "\n".join(f"case {c}: contract {g}, executor {w}" for c, g, w in bad[:8])
    assert not bad, f"{len(bad)} of {len(cases)} cases differ:\n{shown}"


def run_elements(h: Harness, kind: str | int, cases: Sequence[tuple[int, ...]]) -> None:
    code = kind if isinstance(kind, int) else KIND_CODE[kind]
    for start in range(0, len(cases), BATCH):
        part = cases[start : start + BATCH]
        res = h.batch("evalBatch", code, part)
        got = [_got(h, *r) for r in res]
        if isinstance(kind, int):
            want = [fixed_outcome(kind, c) for c in part]
        else:
            want = [elem_outcome(kind, c) for c in part]
        check(part, got, want)


def run_lut(h: Harness, fn: str, so: int, cases: list[tuple[int, int]]) -> None:
    _, lo, hi, tail = FUNCTIONS[fn]
    table = list(dict(table_params(fn, so))["table"])  # type: ignore[arg-type]
    for start in range(0, len(cases), BATCH):
        part = cases[start : start + BATCH]
        args = [(a, sa, so, lo, hi, tail == "identity") for a, sa in part]
        res = h.batch("lutBatch", args, table)
        got = [_got(h, ok, v, err) for ok, v, _, _, err in res]
        check(part, got, [lut_outcome(fn, a, sa, so) for a, sa in part])
        for (a, sa), (ok, _, i, i_next, _) in zip(part, res, strict=True):
            idx = lut_index(fn, a, sa)  # None: lutIndex itself must have reverted
            assert (i, i_next) == (idx or (0, 0)) and (idx is not None or not ok), (fn, a, sa)


def run_reduce(h: Harness, kind: str, cases: list[tuple[list[int], int, int]]) -> None:
    start = 0
    while start < len(cases):
        end, total = start, 0
        while end < len(cases) and (end == start or total + len(cases[end][0]) <= MAX_ROW_ELEMENTS):
            total += len(cases[end][0])
            end += 1
        part = cases[start:end]
        res = h.batch("reduceBatch", REDUCE_CODE[kind], part)
        got = [_got(h, *r) for r in res]
        check([(len(r), r[:4], sa, so) for r, sa, so in part], got,
              [reduce_outcome(kind, r, sa, so) for r, sa, so in part])  # fmt: skip
        start = end


# ---- case generators (seeded: hypothesis draws the seed and the profile) ----------------------


def value(r: random.Random, profile: str, tie_shift: int = 0) -> int:
    """An operand: edges, small values, rounding ties at ``tie_shift``, log-uniform magnitudes."""
    roll = r.random()
    if roll < 0.1:
        return r.choice(EDGES)
    if roll < 0.25 and 0 < tie_shift < 60:
        span = 1 << min(20, 60 - tie_shift)
        return (r.randint(-span, span) << tie_shift) + r.choice((1, -1)) * (1 << (tie_shift - 1))
    if roll < 0.4:
        return r.randint(-300, 300)
    top = {"narrow": 32, "wide": 48, "extreme": 61}[profile]
    v = r.getrandbits(r.randint(0, top))
    return -v if r.random() < 0.5 else v


def scale(r: random.Random, profile: str) -> int:
    if profile == "narrow":
        return r.randint(0, 20)
    if profile == "wide":
        return r.randint(-10, 48)
    return r.choice((r.randint(-70, 70), r.choice((0, 12, 14, 16, 62, 63, 64, -62, -63, -64))))


def shifted(r: random.Random, profile: str, s: int) -> int:
    """Another scale near ``s``: equal, a little off either way, or (extreme) far off."""
    d = r.choice((0, 0, 1, -1, r.randint(-8, 8)))
    if profile == "extreme" and r.random() < 0.5:
        d = r.choice((-64, -63, -62, -61, -47, 47, 61, 62, 63, 64, r.randint(-80, 80)))
    return s + d


def elem_case(r: random.Random, kind: str, profile: str) -> tuple[int, ...]:
    sa = scale(r, profile)
    sb = shifted(r, profile, sa)
    so = shifted(r, profile, sa)
    if kind == "mul":
        so = sa + sb - r.choice((0, 1, 12, 14, 16, r.randint(-10, 64)))
        a, b = value(r, profile), value(r, profile)
        if r.random() < 0.5:  # magnitudes whose product straddles 2**62
            a = r.choice((1, -1)) * r.getrandbits(r.randint(0, 40))
            b = r.choice((1, -1)) * r.getrandbits(
                r.randint(max(0, 60 - a.bit_length()), 63 - a.bit_length())
            )
        return (a, b, 0, sa, sb, so, 0, 0)
    if kind == "div":
        so = sa - sb + r.choice((0, 1, -1, 16, 30, -20, r.randint(-66, 66)))
        b = r.choice((value(r, profile), r.choice((0, 1, -1, 2, -2, 3, -3, 7))))
        return (value(r, profile), b, 0, sa, sb, so, 0, 0)
    if kind == "sqrt":
        so = r.choice((sa // 2, (sa + 1) // 2, r.randint(-5, 40)))
        sa = r.choice((2 * so, sa))
    a = value(r, profile, sa - so)
    b = value(r, profile, sb - so)
    if kind == "compare":
        if r.random() < 0.4 and abs(sa - sb) <= 40:  # equal once both are at max(sa, sb)
            if sa <= sb:
                b = a << (sb - sa) if abs(a << (sb - sa)) < 2**61 else b
            else:
                a = b << (sa - sb) if abs(b << (sa - sb)) < 2**61 else a
        return (a, b, 0, sa, sb, 0, r.randrange(6), 0)
    if kind == "clip":
        lo, hi = sorted((value(r, profile), value(r, profile)))
        if r.random() < 0.1:
            lo, hi = hi, lo  # np.clip with lo > hi gives hi
        if r.random() < 0.1:
            lo, hi = -(2**62), 2**62
        return (a, 0, 0, sa, 0, so, lo, hi)
    if kind == "where":
        c = r.choice((0, 1, -1, value(r, profile)))
        return (a, b, c, sa, sb, so, 0, 0)
    return (a, b, 0, sa, sb, so, 0, 0)


def fixed_case(r: random.Random, kind: int, profile: str) -> tuple[int, ...]:
    if kind == RSHIFT:
        k = r.choice((0, r.randint(-8, 30), r.randint(-66, 66), r.choice((62, 63, 64, -62, -63))))
        return (value(r, profile, k), 0, 0, 0, 0, 0, k, 0)
    if kind == RESCALE:
        sa = scale(r, profile)
        so = shifted(r, profile, sa)
        return (value(r, profile, sa - so), 0, 0, sa, 0, so, 0, 0)
    if kind == ROUND_DIV:
        d = r.choice((value(r, profile), r.choice((0, 1, -1, 2, -2, 3, -3, 10, -10))))
        n = r.choice((value(r, profile), r.choice((2**60 - 1, -(2**60) + 1, 2**60, -(2**60)))))
        if r.random() < 0.3 and d not in (0, 1, -1):
            n = r.randint(-1000, 1000) * d + r.choice((1, -1)) * (abs(d) // 2)  # ties
            n = n if abs(n) < 2**61 else 0
        return (n, d, 0, 0, 0, 0, 0, 0)
    if kind == ISQRT:
        m = r.getrandbits(r.randint(0, 31))
        n = r.choice((m * m, m * m - 1, m * m + 1, abs(value(r, profile)), -value(r, profile)))
        n = r.choice((n, 2**62 - 1, 2**62, 2**63 - 1, -1)) if r.random() < 0.05 else n
        return (n, 0, 0, 0, 0, 0, 0, 0)
    assert kind == BITLEN
    v = r.getrandbits(r.randint(0, 255))
    return (r.choice((v, -v, 0, 1, 2**255 - 1, -(2**255))), 0, 0, 0, 0, 0, 0, 0)


def lut_case(r: random.Random, fn: str, profile: str) -> tuple[int, int]:
    """An input near the domain (edges, inside, both tails) at some input scale."""
    _, lo, hi, _ = FUNCTIONS[fn]
    sa = r.choice((12, 12, 14, 16, 20, 24, 0, 6, 11, 13, 30, 47))
    if profile == "extreme" and r.random() < 0.3:
        sa = r.choice((-52, -40, 60, 62, 63, 74, 75, 76, 77, r.randint(-60, 80)))
    edge = r.choice((lo, hi)) << LUT_IN_SCALE
    x = r.choice((
        edge + r.randint(-3, 3),
        r.randint((lo - 3) << LUT_IN_SCALE, (hi + 3) << LUT_IN_SCALE),
        r.randint(lo, hi - 1) * 4096 + r.randrange(64) * 64 + r.choice((0, 1, 31, 32, 33, 63)),
        value(r, profile),
    ))  # fmt: skip
    k = sa - LUT_IN_SCALE
    if k >= 0:
        a = x * 2**k + (r.randrange(2**k) if k > 0 and r.random() < 0.5 else 0)
        if k > 0 and r.random() < 0.2:
            a = x * 2**k - 2 ** (k - 1)  # a rounding tie on the way to scale 12
    else:
        a = x >> -k
    if abs(a) >= 2**62:
        a = value(r, profile)
    return a, sa


def row_case(r: random.Random, profile: str) -> tuple[list[int], int, int]:
    width = r.choice((0, 1, 1, 2, 3, 7, 64, 384, 1536))
    sa = scale(r, profile)
    so = shifted(r, profile, sa)
    bound = 2**62 // max(1, width)
    roll = r.random()
    if roll < 0.1:
        row = [0] * width
    elif roll < 0.25 and width:  # around the row bound 2**62 // K
        row = [r.randint(-bound + 1, bound - 1) // max(1, width // 4) for _ in range(width)]
        row[r.randrange(width)] = r.choice((bound - 1, -bound + 1, bound, -bound))
    else:
        row = [value(r, profile, sa - so) for _ in range(width)]
        row = [v if abs(v) < bound else v % bound for v in row]
    return row, sa, so


# ---- differential tests --------------------------------------------------------------------


@pytest.mark.parametrize("kind", [RSHIFT, RESCALE, ROUND_DIV, ISQRT, BITLEN])
@SETTINGS
@given(seed=ANY_SEED, profile=PROFILES)
def test_fixed_point_matches_python(harness: Harness, kind: int, seed: int, profile: str) -> None:
    r = random.Random(seed)
    run_elements(harness, kind, [fixed_case(r, kind, profile) for _ in range(BATCH)])


@pytest.mark.parametrize("kind", sorted(KIND_CODE))
@SETTINGS
@given(seed=ANY_SEED, profile=PROFILES)
def test_elementwise_matches_kernel(harness: Harness, kind: str, seed: int, profile: str) -> None:
    r = random.Random(seed)
    run_elements(harness, kind, [elem_case(r, kind, profile) for _ in range(BATCH)])


@pytest.mark.parametrize("fn", LUT_FNS)
@SETTINGS
@given(seed=ANY_SEED, profile=PROFILES, s_out=st.sampled_from([16, 14, 12, 20, 8, 0, 24]))
def test_lut_matches_kernel(harness: Harness, fn: str, seed: int, profile: str, s_out: int) -> None:
    r = random.Random(seed)
    run_lut(harness, fn, s_out, [lut_case(r, fn, profile) for _ in range(BATCH)])


@pytest.mark.parametrize("kind", sorted(REDUCE_CODE))
@settings(SETTINGS, max_examples=10)
@given(seed=ANY_SEED, profile=PROFILES)
def test_reductions_match_kernel(harness: Harness, kind: str, seed: int, profile: str) -> None:
    r = random.Random(seed)
    run_reduce(harness, kind, [row_case(r, profile) for _ in range(40)])


# ---- fixed edge sets -----------------------------------------------------------------------


def test_rounding_ties_and_shift_edges(harness: Harness) -> None:
    qs = [5, -5, 3, -3, 1, -1, 0, 6, -6, 2**47 - 1, -(2**47), 2**31 - 1, -(2**31), 2**61, -(2**61)]
    ks = [
        0,
        1,
        2,
        3,
        -1,
        -2,
        15,
        16,
        31,
        47,
        48,
        61,
        62,
        63,
        64,
        65,
        200,
        -15,
        -16,
        -47,
        -61,
        -62,
        -63,
    ]
    cases = [(q, 0, 0, 0, 0, 0, k, 0) for q in qs for k in ks]
    run_elements(harness, RSHIFT, cases)
    assert [harness.one(RSHIFT, (q, 0, 0, 0, 0, 0, 1, 0)) for q in (5, -5, 3, -3)] == [3, -2, 2, -1]


def test_round_div_edges(harness: Harness) -> None:
    ns = [0, 1, -1, 5, -5, 7, -7, 2**60 - 1, -(2**60) + 1, 2**60, -(2**60), 2**47]
    ds = [1, -1, 2, -2, 10, -10, 3, 2**61, -(2**61), 2**62 - 1, 0]
    run_elements(harness, ROUND_DIV, [(n, d, 0, 0, 0, 0, 0, 0) for n in ns for d in ds])
    assert harness.one(ROUND_DIV, (5, -2, 0, 0, 0, 0, 0, 0)) == -3  # -2.5: away from zero
    assert harness.one(ROUND_DIV, (-5, -2, 0, 0, 0, 0, 0, 0)) == 3


def test_isqrt_edges(harness: Harness) -> None:
    ns = [0, 1, 2, 3, 4, 8, 9, 15, 16, 2**62 - 1, 2**62, 2**63 - 1, -1, -(2**62)]
    ns += [
        m * m + d for m in (2**31 - 1, 2**30, 3037000499) for d in (-1, 0, 1) if m * m + d < 2**63
    ]
    run_elements(harness, ISQRT, [(n, 0, 0, 0, 0, 0, 0, 0) for n in ns])


def test_elementwise_edges(harness: Harness) -> None:
    vals = [0, 1, -1, 3, -3, 2**31 - 1, -(2**31), 2**46, -(2**46), 2**47 - 1, -(2**47) + 1]
    scales = [
        (14, 14, 14),
        (16, 14, 14),
        (14, 16, 14),
        (12, 12, 16),
        (0, 0, 47),
        (14, 14, -2),
        (0, 62, 0),
    ]
    for kind in ("add", "sub", "max", "min", "where", "compare"):
        cases = [
            (a, b, a & 1, sa, sb, so, op % 6, 0)
            for a in vals
            for b in vals[::2]
            for op, (sa, sb, so) in enumerate(scales)
        ]
        run_elements(harness, kind, cases)
    for kind in ("relu", "neg", "abs", "rescale", "sqrt"):
        run_elements(
            harness, kind, [(a, 0, 0, sa, 0, so, 0, 0) for a in vals for sa, _, so in scales]
        )


def test_every_compare_op(harness: Harness) -> None:
    pairs = [(0, 0, 0, 0), (1, 2, 0, 1), (2, 1, 1, 0), (-1, -1, 3, 3), (5, 4, 0, 0), (4, 5, 0, 0)]
    cases = [(a, b, 0, sa, sb, 0, op, 0) for a, b, sa, sb in pairs for op in range(6)]
    run_elements(harness, "compare", cases)


def test_clip_bounds(harness: Harness) -> None:
    bounds = [(-5, 5), (0, 0), (5, -5), (-(2**62), 2**62), (-(2**47), 2**47 - 1), (3, 3)]
    vals = [-6, -5, -4, 0, 4, 5, 6, 2**47, -(2**47), 2**61]
    run_elements(harness, "clip", [(a, 0, 0, 4, 0, 4, lo, hi) for a in vals for lo, hi in bounds])
    run_elements(harness, "clip", [(a, 0, 0, 6, 0, 4, lo, hi) for a in vals for lo, hi in bounds])


def test_mul_and_div_edges(harness: Harness) -> None:
    big = [2**31, -(2**31), 2**30 + 1, 2**31 - 1, 3, -3, 0]
    run_elements(
        harness,
        "mul",
        [(a, b, 0, 14, 14, so, 0, 0) for a in big for b in big for so in (14, 28, 0, 40)],
    )
    scales = ((14, 14, 16), (16, 14, 14), (30, 0, 0), (0, 0, 61), (0, 0, 63), (0, 70, 0))
    nums, dens = (7, -7, 2**40, -(2**40), 0, 1), (2, -2, 3, -3, 0, -1)
    divs = [(a, b, 0, sa, sb, so, 0, 0) for a in nums for b in dens for sa, sb, so in scales]
    run_elements(harness, "div", divs)


def test_lut_domain_edges_and_tails(harness: Harness) -> None:
    for fn in LUT_FNS:
        _, lo, hi, _ = FUNCTIONS[fn]
        xs = [lo << 12, (lo << 12) - 1, (lo << 12) + 1, hi << 12, (hi << 12) - 1, (hi << 12) + 1]
        xs += [(lo - 50) << 12, (hi + 50) << 12, 0, 63, 64, 65, 32, -32, 2**40, -(2**40)]
        for so in (16, 14, 24):
            cases = [(x << (sa - 12), sa) for x in xs for sa in (12, 16)] + [
                (x >> 2, 10) for x in xs
            ]
            run_lut(harness, fn, so, cases)


def test_reduction_widths(harness: Harness) -> None:
    r = random.Random(7)
    for kind in REDUCE_CODE:
        rows: list[tuple[list[int], int, int]] = [
            ([], 14, 14),
            ([0], 14, 14),
            ([0] * 1536, 14, 10),
            ([5], 14, 12),
            ([-5], 14, 13),
            ([2**61], 0, 0),
            ([2**62 - 1], 0, 0),
            ([2**47 - 1, 1], 14, 14),
            ([r.randint(-(2**20), 2**20) for _ in range(1536)], 14, 14),
            ([r.randint(-(2**20), 2**20) for _ in range(1536)], 14, 20),
            ([2**62 // 1536 - 1] * 1536, 0, 0),
            ([2**62 // 1536] + [0] * 1535, 0, 0),
            ([-7, 3], 2, -1),
        ]
        run_reduce(harness, kind, rows)


# ---- named reverts, one call each ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "case", "name", "args"),
    [
        ("add", (2**46, 2**46, 0, 0, 0, 0, 0, 0), "OutOfBounds", (2**47,)),
        ("sub", (-(2**46), 2**46, 0, 0, 0, 0, 0, 0), "OutOfBounds", (-(2**47),)),
        ("div", (1, 0, 0, 0, 0, 0, 0, 0), "DivisionByZero", ()),
        ("div", (2**47, 1, 0, 0, 0, 0, 0, 0), "OutOfBounds", (2**47,)),
        ("div", (1, 1, 0, 0, 0, 61, 0, 0), "NumeratorOutOfBounds", (2**61,)),
        ("mul", (2**31, 2**31, 0, 0, 0, 0, 0, 0), "ProductOverflow", (2**31, 2**31)),
        ("rescale", (1, 0, 0, 0, 0, 62, 0, 0), "ShiftOverflow", (1, 62)),
        ("rescale", (0, 0, 0, 0, 0, 63, 0, 0), "ShiftOverflow", (0, 63)),
        ("rescale", (1, 0, 0, 64, 0, 0, 0, 0), "ShiftOutOfRange", (64,)),
        ("compare", (1, 1, 0, 0, 0, 0, 6, 0), "UnknownCompareOp", (6,)),
        ("sqrt", (2**61, 0, 0, 0, 0, 1, 0, 0), "ShiftOverflow", (2**61, 2)),
        ("sqrt", (2**62, 0, 0, 0, 0, 0, 0, 0), "SqrtOutOfRange", (2**62,)),
    ],
)
def test_named_reverts(
    harness: Harness, kind: str, case: tuple[int, ...], name: str, args: tuple[int, ...]
) -> None:
    if name != "UnknownCompareOp":  # the executor refuses it too (an unknown op: KeyError)
        assert elem_outcome(kind, case) == (False, name)
    with pytest.raises(ContractRevert) as info:
        harness.one(KIND_CODE[kind], case)
    assert (info.value.name, info.value.error_args) == (name, args)


def test_fixed_point_reverts(harness: Harness) -> None:
    for case, name in [
        ((-1, 0, 0, 0, 0, 0, 0, 0), "NegativeSqrt"),
        ((2**62, 0, 0, 0, 0, 0, 0, 0), "SqrtOutOfRange"),
    ]:
        with pytest.raises(ContractRevert) as info:
            harness.one(ISQRT, case)
        assert info.value.name == name
    with pytest.raises(ContractRevert) as info:
        harness.one(ROUND_DIV, (1, 0, 0, 0, 0, 0, 0, 0))
    assert info.value.name == "DivisionByZero"


def test_reduce_reverts(harness: Harness) -> None:
    fns = harness.contract.functions
    for op, row, name in [
        (2, [], "EmptyRow"),
        (1, [], "DivisionByZero"),
        (0, [2**61, 2**61 - 1], "RowValueOutOfRange"),
        (0, [2**46, 2**46], "OutOfBounds"),
    ]:
        with pytest.raises(ContractRevert) as info:
            call(fns.reduceOne(op, (row, 0, 0)).call, harness.errors, "reduceOne")
        assert info.value.name == name
    assert info.value.error_args == (2**47,)


def test_lut_codes_and_domains(harness: Harness) -> None:
    fns = harness.contract.functions
    for code, fn in enumerate(LUT_FNS):
        _, lo, hi, tail = FUNCTIONS[fn]
        assert tuple(fns.domain(code).call()) == (lo, hi, 1 if tail == "identity" else 0)
        table = dict(table_params(fn, 16))["table"]
        assert isinstance(table, tuple)
        assert fns.lastIndex(lo, hi).call() == len(table) - 1
    with pytest.raises(ContractRevert) as info:
        call(fns.domain(len(LUT_FNS)).call, harness.errors, "domain")
    assert (info.value.name, info.value.error_args) == ("UnknownLutFunction", (len(LUT_FNS),))
    with pytest.raises(ContractRevert) as info:
        call(fns.lutIndexOne(0, 12, 1, 0).call, harness.errors, "lutIndexOne")
    assert (info.value.name, info.value.error_args) == ("BadLutDomain", (1, 0))


def test_lut_ignores_the_entry_past_the_end(harness: Harness) -> None:
    """At i = n the fraction is 0, so whatever stands in for T[n+1] cannot change the output."""
    fns = harness.contract.functions
    lo, hi = -8, 8
    i, i_next = fns.lutIndexOne(hi << 12, 12, lo, hi).call()
    assert i == i_next == (hi - lo) * 64
    for t_next in (0, 12345, -(2**40)):
        assert fns.lutOne((hi << 12, 12, 16, lo, hi, False), 777, t_next).call() == 777
