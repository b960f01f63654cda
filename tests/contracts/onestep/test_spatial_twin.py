"""The Solidity window twin (contracts/src/onestep/Spatial.sol) against SPEC read literally.

Thousands of random conv / gconv / maxpool / avgpool elements (tests/disputes/spatial_ref.py:
random geometry with padding, strides, dilations and groups; narrow, wide and extreme values)
go through ``SpatialHarness`` with exactly the operand rows ``operands_for`` names: the twin
must return SPEC's value, or revert with the error that names SPEC's reason, and must never
need a row the encoder did not open. Malformed committed params and shapes revert by name.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_typing import HexStr
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams

from contracts.bindings import call, deploy
from contracts.build import PKG_DIR, library_sources
from contracts.compiler import Artifact, compile_files, import_closure
from contracts.reverts import ErrorTable, canonical_type, decode_revert, error_table
from disputes.commitments import merkle
from disputes.commitments.descriptor import KIND_CODE, step_params
from disputes.program.ir import InputSpec, Program, Step
from disputes.tracing.operands import operands_for
from tests.contracts.conftest import Env
from tests.disputes.spatial_ref import PROFILES, Case, Outcome, literal, random_case

HARNESS = PKG_DIR / "test" / "SpatialHarness.sol"
KINDS = ("conv", "gconv", "maxpool", "avgpool")
CASES_PER_PROFILE = 40
ELEMENTS_PER_CASE = 12
BATCH = 60


@dataclass(frozen=True)
class Harness:
    contract: Contract
    abi: list[dict[str, Any]]
    errors: ErrorTable

    def batch(self, cases: list[tuple[Any, ...]]) -> list[Outcome]:
        (item,) = [i for i in self.abi if i.get("name") == "batch"]
        types = [canonical_type(p) for p in item["inputs"]]
        selector = function_signature_to_4byte_selector(f"batch({','.join(types)})")
        data = selector + abi_encode(types, [cases])
        tx: TxParams = {"to": self.contract.address, "data": HexStr("0x" + data.hex())}
        raw = call(lambda: self.contract.w3.eth.call(tx), self.errors, "batch")
        out_types = [canonical_type(p) for p in item["outputs"]]
        results = abi_decode(out_types, bytes(raw))[0]
        return [
            (True, int(v)) if ok else (False, decode_revert(bytes(err), self.errors).name)
            for ok, v, err in results
        ]


@pytest.fixture(scope="module")
def harness(chain_env: Env) -> Harness:
    paths = {p.name: p for p in library_sources()}
    texts = {name: p.read_text() for name, p in paths.items()}
    libs = [paths[n] for n in import_closure(HARNESS.name, texts) if n != HARNESS.name]
    art: Artifact = compile_files([HARNESS], libs)["SpatialHarness"]
    address = deploy(chain_env.w3, chain_env.deployer, art)
    contract = chain_env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=art.abi)
    return Harness(contract, art.abi, error_table(art.abi))


def _program(case: Case) -> Program:
    x, *weights = case.ops
    scales = case.step.tp("in_scales")
    spec = InputSpec("x", tuple(x.shape), "float", scales[0])
    return Program([spec], list(weights), list(scales[1:]), [case.step], len(case.ops), "y", {})


def _step_tuple(case: Case) -> tuple[Any, ...]:
    s = case.step
    shapes = [list(o.shape) for o in case.ops]
    scales = list(s.tp("in_scales"))
    inputs = list(s.inputs)
    return (KIND_CODE[s.kind], inputs, shapes, scales, list(s.shape), s.scale, step_params(s), [])


def _slots(case: Case, program: Program, el: tuple[int, ...], drop: int = -1) -> list[Any]:
    """Openings of exactly the rows operands_for names (proofs empty: not authenticated here);
    ``drop`` leaves out that many-th row of operand 0."""
    out: list[Any] = []
    for k, op in enumerate(operands_for(program, 0, el)):
        if not op.elements:
            continue
        rows = merkle.as_rows(case.ops[k])
        opened: list[Any] = [(r, merkle.leaf_message(rows[r]), []) for r in op.rows]
        if k == 0 and 0 <= drop < len(opened):
            opened.pop(drop)
        out.append((k, bytes(32), [], opened))
    return out


def _elements(case: Case, rng: random.Random) -> list[tuple[int, ...]]:
    every = list(itertools.product(*map(range, case.step.shape)))
    return every if len(every) <= ELEMENTS_PER_CASE else rng.sample(every, ELEMENTS_PER_CASE)


def _run(harness: Harness, jobs: list[tuple[tuple[Any, ...], Outcome, str]]) -> None:
    for start in range(0, len(jobs), BATCH):
        part = jobs[start : start + BATCH]
        got = harness.batch([j[0] for j in part])
        for (_, want, where), outcome in zip(part, got, strict=True):
            assert outcome == want, where


@pytest.mark.parametrize("kind", KINDS)
def test_the_twin_equals_spec_on_random_windows(harness: Harness, kind: str) -> None:
    rng = random.Random(kind)
    jobs: list[tuple[tuple[Any, ...], Outcome, str]] = []
    for profile, seed in itertools.product(PROFILES, range(CASES_PER_PROFILE)):
        case = random_case(1000 + seed, kind, profile)
        program, step = _program(case), _step_tuple(case)
        for el in _elements(case, rng):
            where = f"{kind} {profile} seed {1000 + seed} element {el}"
            want = literal(case.step, case.ops, el)
            jobs.append(((step, list(el), _slots(case, program, el)), want, where))
    _run(harness, jobs)
    refused = {w for _, (ok, w), _ in jobs if not ok}
    assert len(jobs) > 1000
    bounds = {"OutOfBounds", "ShiftOverflow", "WindowValueOutOfRange", "NumeratorOutOfBounds"}
    assert refused <= bounds
    assert refused, "the extreme profile reaches the bounds"


def _one(harness: Harness, case: Case, el: tuple[int, ...], drop: int = -1, **edit: Any) -> Outcome:
    """One element with the rows the valid ``case`` opens; ``edit`` changes fields of the
    committed step (a malformed program) after the openings are made."""
    step = dict(zip(STEP_FIELDS, _step_tuple(case), strict=True))
    step.update(edit)
    slots = _slots(case, _program(case), el, drop)
    return harness.batch([(tuple(step[f] for f in STEP_FIELDS), list(el), slots)])[0]


STEP_FIELDS = ("kind", "inputs", "inShapes", "inScales", "shape", "scale", "params", "roots")


def _first_case(kind: str, want: Any) -> Case:
    return next(c for c in (random_case(s, kind, "narrow") for s in range(500)) if want(c))


def _last(case: Case) -> tuple[int, ...]:
    return tuple(d - 1 for d in case.step.shape)


def _rows_read(case: Case, el: tuple[int, ...]) -> int:
    return len(operands_for(_program(case), 0, el)[0].rows)


def test_every_row_the_window_reads_must_be_opened(harness: Harness) -> None:
    for kind in KINDS:
        case = _first_case(kind, lambda c: _rows_read(c, _last(c)) > 1)
        el = _last(case)
        assert _one(harness, case, el) == literal(case.step, case.ops, el)
        for k in range(_rows_read(case, el)):
            assert _one(harness, case, el, drop=k) == (False, "MissingRow"), (kind, k)


def test_malformed_committed_windows_revert_by_name(harness: Harness) -> None:
    pool = _first_case("maxpool", lambda c: c.ops[0].shape[2] >= 3)
    el = (0, 0, 0, 0)
    p = step_params(pool.step)
    assert _one(harness, pool, el) == literal(pool.step, pool.ops, el)
    assert _one(harness, pool, el, params=[*p[:6], 0, *p[7:]]) == (False, "BadWindow")
    assert _one(harness, pool, el, params=[*p[:2], -1, *p[3:]]) == (False, "BadWindow")
    bigger = [*pool.step.shape[:2], 99, 99]
    assert _one(harness, pool, el, shape=bigger) == (False, "BadWindow")
    assert _one(harness, pool, el, kind=KIND_CODE["avgpool"]) == (False, "BadSpatialParams")
    conv = _first_case("gconv", lambda c: c.step.ip("groups") == 2)
    q = step_params(conv.step)
    assert _one(harness, conv, el) == literal(conv.step, conv.ops, el)
    assert _one(harness, conv, el, params=[*q[:10], 3, q[11]]) == (False, "BadGroups")
    assert _one(harness, conv, el, params=[*q[:10], 0, q[11]]) == (False, "BadGroups")
    assert _one(harness, conv, el, params=[*q[:10], 1, q[11]]) == (False, "BadGroups")


def test_a_pool_window_without_input_reverts(harness: Harness) -> None:
    """kh = 1 with one row of top padding: output row 0 reads only padding. The executor
    refuses the whole program (Window.valid); the twin refuses that element."""
    x = np.arange(1, 13, dtype=np.int64).reshape(1, 1, 3, 4)
    params = (
        ("in_scales", (0,)),
        ("dilations", (1, 1)),
        ("kernel", (1, 1)),
        ("pads", (1, 0, 0, 0)),
        ("strides", (1, 1)),
    )
    case = Case(Step("maxpool", (0,), (1, 1, 4, 4), 0, params), [x])
    assert _one(harness, case, (0, 0, 0, 1)) == (False, "EmptyWindow")
    assert (
        _one(harness, case, (0, 0, 2, 1)) == (True, 6) == literal(case.step, case.ops, (0, 0, 2, 1))
    )
    assert literal(case.step, case.ops, (0, 0, 0, 1)) == (False, "EmptyWindow")


def test_step_codec_constants_are_the_descriptor_codes() -> None:
    """The verifier dispatches on StepCodec's numbers; they must be descriptor.KINDS' codes."""
    text = (PKG_DIR / "src" / "onestep" / "StepCodec.sol").read_text()
    found = {n.lower(): int(v) for n, v in re.findall(r"constant (\w+) = (\d+);", text)}
    assert found == KIND_CODE
