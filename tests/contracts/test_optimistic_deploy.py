"""Deployment (game first, at the escrow's predicted address), code size, and what the
optimistic path costs at its limits: a 16 KiB input and a MiniLM-sized claim."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from eth_hash.auto import keccak
from web3 import Web3

from contracts.bindings import CoreParams, create_address, deploy
from contracts.build import load_artifact
from contracts.clients import ZERO_ADDRESS, RequestStatus
from disputes.commitments import merkle
from disputes.commitments.descriptor import header_message, program_tree
from disputes.execution.executor import load_program
from disputes.program.ir import Program
from tests.contracts.conftest import TIMEOUT, Env
from tests.contracts.optimistic_fixture import (
    FEE,
    MIN_BOND,
    WINDOW,
    MockEnv,
    mock_deployment,
    register_synthetic,
    reverts,
    spec_of,
    synthetic_header,
)

CODE_LIMIT = 24_576  # EIP-170
CLAIM_GAS_TARGET = 150_000


def _contract(env: Env, address: str, name: str) -> Any:
    abi = load_artifact(name).abi
    return env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)


def test_deploy_core_pairs_the_escrow_and_the_real_game(env: Env) -> None:
    dep, d = env.dep, CoreParams()
    escrow = _contract(env, dep.escrow, "InferenceEscrow").functions
    game = _contract(env, dep.game, "DisputeGame").functions
    assert escrow.game().call() == dep.game and game.escrow().call() == dep.escrow
    assert escrow.registry().call() == dep.registry == game.registry().call()
    assert game.osv().call() == dep.osv and env.w3.eth.get_code(dep.osv)  # type: ignore[arg-type]
    assert (escrow.challengeWindow().call(), escrow.provingWindow().call()) == (
        d.challenge_window,
        d.proving_window,
    )
    assert (game.moveTimeout().call(), game.arity().call()) == (d.move_timeout, d.arity)
    assert (dep.challenge_window, dep.proving_window, dep.move_timeout, dep.arity) == (
        d.challenge_window,
        d.proving_window,
        d.move_timeout,
        d.arity,
    )
    assert escrow.fulfilTimeout().call() == dep.fulfil_timeout == TIMEOUT


def _escrow_after(env: Env, game: str, windows: tuple[int, int] = (WINDOW, WINDOW)) -> str:
    args = (env.dep.registry, game, TIMEOUT, *windows)
    return deploy(env.w3, env.deployer, load_artifact("InferenceEscrow"), *args)


def test_the_escrow_refuses_a_game_that_does_not_name_it(env: Env) -> None:
    args = (env.other.address, env.dep.registry, env.dep.osv, 60, 16)
    game = deploy(env.w3, env.deployer, load_artifact("MockGame"), *args)
    with reverts("GameMismatch", game, env.other.address):
        _escrow_after(env, game)
    with reverts("GameMismatch", env.dep.registry, ZERO_ADDRESS):  # no escrow() at all
        _escrow_after(env, env.dep.registry)


@pytest.mark.parametrize(
    ("windows", "error"),
    [((0, WINDOW), "ZeroWindow"), ((WINDOW, 0), "ZeroWindow"), ((WINDOW, 2**40), "WindowTooLong")],
)
def test_window_bounds(env: Env, windows: tuple[int, int], error: str) -> None:
    with reverts(error):
        _escrow_after(env, env.dep.game, windows)


def test_create_address_known_vectors() -> None:
    sender = "0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0"
    want = [
        "0xcd234a471b72ba2f1ccf0a70fcaba648a5eecd8d",
        "0x343c43a37d37dff08ae8c4a11544c718abb4fcf8",
        "0xf778b86fa74e846c4f0a1fbd1335fe81c00a0c91",
        "0xfffd933a0bc612844eaf0c6fe3e5b8e9b6c1d19c",
    ]
    assert [create_address(sender, n).lower() for n in range(4)] == want


def test_create_address_predicts_large_nonces(env: Env) -> None:
    env.w3.provider.make_request("anvil_setNonce", [env.other.address, hex(300)])  # type: ignore[arg-type]
    at = deploy(env.w3, env.other, load_artifact("MockGame"), ZERO_ADDRESS, ZERO_ADDRESS,
                ZERO_ADDRESS, 1, 2)  # fmt: skip
    assert at == create_address(env.other.address, 300)


@pytest.mark.parametrize("name", ["InferenceEscrow", "ModelRegistry"])
def test_code_fits_eip170(name: str) -> None:
    size = len(bytes.fromhex(load_artifact(name).deployed_bytecode[2:]))
    print(f"\n{name} runtime code: {size} bytes (limit {CODE_LIMIT})")
    assert size <= CODE_LIMIT


# ---- limits and gas ----


@pytest.fixture(scope="module")
def mock_dep(chain_env: Env) -> Any:
    return mock_deployment(chain_env)


@pytest.fixture
def m(env: Env, mock_dep: Any) -> MockEnv:
    return MockEnv(env, mock_dep)


def test_the_largest_input_is_accepted_with_the_python_roots(m: MockEnv) -> None:
    shapes = [(32, 64), (2, 32, 32)]  # 8 KiB each: exactly MAX_INPUT_BYTES in all
    header = synthetic_header(n_weights=1, n_steps=2, output_slot=4, input_shapes=shapes)
    mid = register_synthetic(m.registry(m.env.provider), header, 3)
    rng = np.random.default_rng(5)
    tensors = [rng.integers(-(2**31), 2**31, size=s, dtype=np.int64) for s in shapes]
    data = b"".join(t.astype(">i4").tobytes() for t in tensors)
    assert len(data) == 16384
    rid = m.escrow(m.env.client).request_optimistic(mid, data, FEE)
    ev = m.escrow().optimistic_request(rid)
    assert ev is not None and ev.input_roots == [merkle.tensor_root(t) for t in tensors]


@pytest.fixture(scope="module")
def minilm() -> Program:
    from models.registry import Registry

    reg = Registry.default()
    reg.build("minilm-l6")
    return load_program(reg.onnx_path("minilm-l6"))


def _minilm_claim(p: Program, rng: np.random.Generator) -> tuple[bytes, bytes, list[bytes]]:
    """A 384-value output at MiniLM's output slot of a checkpoint over its 441 slots."""
    out = rng.integers(-(2**31), 2**31, size=p.slot_shape(p.output_slot), dtype=np.int64)
    roots = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)) for _ in range(p.n_slots)]
    roots[p.output_slot] = merkle.tensor_root(out)
    final = merkle.checkpoint_root(roots, p.n_slots)
    return (
        out.astype(">i4").tobytes(),
        final,
        merkle.checkpoint_proof(roots, p.n_slots, p.output_slot),
    )


def test_a_minilm_claim_costs_at_most_150k_gas(m: MockEnv, minilm: Program) -> None:
    p, reg = minilm, m.registry(m.env.provider)
    header = (header_message(p), program_tree(p).proof(0))
    mid = reg.register_optimistic(keccak(b"minilm"), FEE, MIN_BOND, spec_of(p), header)
    assert reg.input_shape_of(mid) == ([1, 1], [128, 128])
    rng = np.random.default_rng(11)
    ids = [rng.integers(0, 30_000, size=(1, 128), dtype=np.int64) for _ in range(2)]
    rid = m.escrow(m.env.client).request_optimistic(
        mid, b"".join(t.astype(">i4").tobytes() for t in ids), FEE
    )
    ev = m.escrow().optimistic_request(rid)
    assert ev is not None and ev.input_roots == [merkle.tensor_root(t) for t in ids]
    output, final, proof = _minilm_claim(p, rng)
    tx = m.escrow(m.env.provider).claim(rid, output, final, proof, MIN_BOND)
    print(f"\nMiniLM claim (384 int32, {p.n_slots} slots): {tx.gas_used} gas")
    assert m.escrow().get_claim(rid).status is RequestStatus.CLAIMED
    assert tx.gas_used <= CLAIM_GAS_TARGET
