"""Shared pieces of the optimistic-escrow tests: a MockGame deployment, real digits programs
and traces, registration from a program, and the honest claim of a trace; the fixtures
`mock_dep`, `mlp`, `model_id` and `m` for test modules that import them by name.

The escrow is tested against MockGame, which forwards `open`/`resolve` to the escrow's game
hooks, so the escrow's side of a dispute is exercised without playing a game.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_hash.auto import keccak
from web3 import Web3

from contracts.bindings import CoreParams, Deployment, TxResult, core_error_table, deploy_core, send
from contracts.build import load_artifact
from contracts.clients import ZERO_ADDRESS, EscrowClient, OptimisticSpec, RegistryClient
from contracts.errors import ContractRevert
from contracts.signer import Signer
from disputes.commitments import merkle
from disputes.commitments.descriptor import CONFIG_KEYS
from disputes.execution.executor import load_program
from disputes.game.encoding import input_bytes, output_bytes
from disputes.game.register import optimistic_spec
from disputes.game.register import register_program as library_register
from disputes.program.ir import SPEC_VERSION, Program
from disputes.tracing.trace import Trace, trace
from tests.contracts.conftest import TIMEOUT, Env

FEE = 10**15
MIN_BOND = 10**16
WINDOW = 3600
PROVING = 1800
MOCK_PARAMS = CoreParams(challenge_window=WINDOW, proving_window=PROVING, game_artifact="MockGame")
NO_CALLBACK = (ZERO_ADDRESS, 0)  # the escrow's "no consumer" (the client's default too)


@contextmanager
def reverts(name: str, *args: Any) -> Iterator[None]:
    """Expect a ContractRevert named `name` (with exactly `args` when given)."""
    with pytest.raises(ContractRevert) as exc:
        yield
    assert exc.value.name == name, exc.value
    if args:
        assert exc.value.error_args == args


@dataclass
class MockEnv:
    """The session chain with a second core deployment whose game is a MockGame."""

    env: Env
    dep: Deployment

    def registry(self, signer: Signer | None = None) -> RegistryClient:
        return RegistryClient(self.env.w3, self.dep.registry, signer)

    def escrow(self, signer: Signer | None = None) -> EscrowClient:
        return EscrowClient(self.env.w3, self.dep.escrow, signer)

    def game(self) -> Any:
        abi = load_artifact("MockGame").abi
        return self.env.w3.eth.contract(address=Web3.to_checksum_address(self.dep.game), abi=abi)

    def open_game(self, request_id: int) -> TxResult:
        """MockGame.open: the escrow's gameOpened, as the game calls it."""
        fn = self.game().functions.open(request_id)
        return send(self.env.w3, self.env.other, fn, core_error_table())

    def resolve_game(self, request_id: int, provider_lost: bool, challenger: str) -> TxResult:
        """MockGame.resolve: the escrow's gameResolved, as the game calls it."""
        fn = self.game().functions.resolve(request_id, provider_lost, challenger)
        return send(self.env.w3, self.env.other, fn, core_error_table())

    def balance_of_escrow(self) -> int:
        return int(self.env.w3.eth.get_balance(Web3.to_checksum_address(self.dep.escrow)))


def mock_deployment(chain_env: Env) -> Deployment:
    """Core contracts with a MockGame (module fixtures call it outside any test's snapshot)."""
    return deploy_core(chain_env.w3, chain_env.deployer, TIMEOUT, MOCK_PARAMS)


@dataclass(frozen=True)
class Case:
    """One real run of a program and its honest claim: input, output, P_n and the output proof."""

    program: Program
    trace: Trace
    input: bytes
    output: bytes
    final: bytes
    output_proof: list[bytes]

    @property
    def output_rows(self) -> tuple[int, int]:
        rows = merkle.as_rows(self.trace.slot_tensor(self.program.output_slot))
        return int(rows.shape[0]), int(rows.shape[1])


def digits_case(registry: Any, name: str = "digits-mlp", sample: int = 0) -> Case:
    """Trace of a digits model on a test image, with its honest claim."""
    from models.digits import load_digits_split

    program = load_program(registry.onnx_path(name))
    x = load_digits_split().x_test[sample].reshape(program.inputs[0].shape)
    inputs = {program.inputs[0].name: x}
    tr = trace(program, inputs)
    n = len(program.steps)
    out = tr.slot_tensor(program.output_slot)
    proof = tr.checkpoint_proof(n - 1, program.output_slot)
    return Case(
        program, tr, input_bytes(program, inputs), output_bytes(out), tr.checkpoint(n - 1), proof
    )


def mock_model(chain_env: Env, dep: Deployment, program: Program) -> int:
    """Register `program` (by the provider) as an optimistic model of the MockGame deployment."""
    return register_program(MockEnv(chain_env, dep).registry(chain_env.provider), program)


def requested(
    m: MockEnv, model_id: int, case: Case, callback: tuple[str, int] = NO_CALLBACK
) -> int:
    """The client's paid optimistic request on `case`'s input; its request id.

    Example: ``rid = requested(m, model_id, mlp)``
    """
    return m.escrow(m.env.client).request_optimistic(model_id, case.input, FEE, callback=callback)


def claimed(
    m: MockEnv,
    model_id: int,
    case: Case,
    bond: int = MIN_BOND,
    callback: tuple[str, int] = NO_CALLBACK,
) -> int:
    """`requested`, then the provider's honest claim with `bond`; the request id.

    Example: ``rid = claimed(m, model_id, mlp)``
    """
    rid = requested(m, model_id, case, callback)
    m.escrow(m.env.provider).claim(rid, case.output, case.final, case.output_proof, bond)
    return rid


@pytest.fixture(scope="module")
def mock_dep(chain_env: Env) -> Deployment:
    """A MockGame core deployment per test module."""
    return mock_deployment(chain_env)


@pytest.fixture(scope="module")
def mlp(registry: Any) -> Case:
    """The digits MLP on test image 0, with its honest claim."""
    return digits_case(registry, "digits-mlp")


@pytest.fixture(scope="module")
def model_id(chain_env: Env, mock_dep: Deployment, mlp: Case) -> int:
    """The digits MLP registered as an optimistic model of `mock_dep`."""
    return mock_model(chain_env, mock_dep, mlp.program)


@pytest.fixture
def m(env: Env, mock_dep: Deployment) -> MockEnv:
    """`mock_dep` on the per-test rolled-back chain."""
    return MockEnv(env, mock_dep)


def spec_of(program: Program) -> OptimisticSpec:
    """The OptimisticSpec a program registers with (the library's, under the tests' name)."""
    return optimistic_spec(program)


def register_program(
    reg: RegistryClient, program: Program, commitment: bytes = b"\x0a" * 32, bond: int = MIN_BOND
) -> int:
    """Register `program` as an optimistic model with the tests' fee and default bond."""
    return library_register(reg, program, commitment, FEE, bond)


def synthetic_header(
    n_weights: int,
    n_steps: int,
    output_slot: int,
    input_shapes: Sequence[Sequence[int]],
    version: int = SPEC_VERSION,
) -> bytes:
    """A header message (SPEC §8 layout) with chosen counts, for registry edge cases."""
    n_in = len(input_shapes)
    body = encode(
        ["uint256", "int256[]", "uint256", "uint256", "uint256", "uint256", "uint256[][]",
         "uint256[]", "int256[]", "uint256[][]", "int256[]", "bytes32"],
        [version, [0] * len(CONFIG_KEYS), n_in, n_weights, n_steps, output_slot,
         [list(s) for s in input_shapes], [0] * n_in, [0] * n_in, [], [], bytes(32)],
    )  # fmt: skip
    return b"\x04" + body


def header_tree(header: bytes, n_leaves: int) -> merkle.MerkleTree:
    """A program tree whose leaf 0 is `header` and whose other leaves are dummies."""
    leaves = [bytes(keccak(header))] + [
        bytes(keccak(bytes([7, k % 256]))) for k in range(1, n_leaves)
    ]
    return merkle.MerkleTree.from_leaves(leaves)


def register_synthetic(
    reg: RegistryClient, header: bytes, n_leaves: int, out: tuple[int, int] = (1, 10)
) -> int:
    """Register a synthetic header under a tree of `n_leaves` leaves."""
    tree = header_tree(header, n_leaves)
    spec = OptimisticSpec(tree.root, b"\x05" * 32, *out)
    commitment = bytes(keccak(header + n_leaves.to_bytes(4, "big")))
    return reg.register_optimistic(commitment, FEE, MIN_BOND, spec, (header, tree.proof(0)))
