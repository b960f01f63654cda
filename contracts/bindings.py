"""web3 plumbing: connect, send transactions, deploy, decode reverts, call a verifier.

Usage::

    w3 = connect("http://127.0.0.1:8545")
    signer = Signer.from_private_key(key)
    dep = deploy_core(w3, signer, fulfil_timeout=3600)   # + CoreParams for the optimistic path
    escrow = EscrowClient(w3, dep.escrow, signer)

Every web3 exception is wrapped: a revert becomes `ContractRevert` (custom error name + args),
anything else `RpcError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn, TypeVar

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception
from web3.types import RPCEndpoint, TxReceipt

from contracts.build import load_artifact
from contracts.compiler import Artifact
from contracts.errors import ContractRevert, RpcError
from contracts.jsonfile import JsonFile
from contracts.reverts import ErrorTable, decode_revert, error_table, revert_data
from contracts.signer import Signer

T = TypeVar("T")
RECEIPT_TIMEOUT_S = 120
VERIFY_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "verifyProof",
        "stateMutability": "nonpayable",
        "inputs": [
            {"name": "proof", "type": "bytes"},
            {"name": "instances", "type": "uint256[]"},
        ],
        "outputs": [{"name": "", "type": "bool"}],
    }
]


def connect(rpc_url: str, timeout_s: float = 60.0) -> Web3:
    """A connected Web3 for `rpc_url`; RpcError when nothing answers there.

    Usage: ``w3 = connect(settings.rpc_url)``
    """
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
    try:
        w3.eth.chain_id  # noqa: B018 - probes the endpoint
    except Exception as exc:
        raise RpcError(
            f"no Ethereum JSON-RPC node answers at {rpc_url} ({type(exc).__name__}); start one "
            "with `verinfer chain up` or set ETH_RPC_URL / --rpc-url"
        ) from None
    return w3


def core_error_table(*extra_abis: list[dict[str, Any]]) -> ErrorTable:
    """Errors of the core contracts (+ extra ABIs), for decoding nested reverts too."""
    names = ("ModelRegistry", "InferenceEscrow", "MockVerifier", "ExampleConsumer")
    abis = [load_artifact(n).abi for n in names]
    return error_table(*abis, *extra_abis)


@contextmanager
def wrapped(table: ErrorTable, what: str) -> Iterator[None]:
    """Translate web3 exceptions raised inside into ContractRevert / RpcError."""
    try:
        yield
    except ContractLogicError as exc:
        raise decode_revert(revert_data(exc.data), table) from None
    except (Web3Exception, OSError, TimeExhausted) as exc:
        raise RpcError(f"{what} failed: {exc}; is the node at the RPC URL up?") from None
    except Exception as exc:  # requests' errors and other transport failures
        if isinstance(exc, ContractRevert | RpcError):
            raise
        raise RpcError(f"{what} failed: {type(exc).__name__}: {exc}") from None


def call(fn: Callable[[], T], table: ErrorTable, what: str) -> T:
    """Run one read (eth_call) with exceptions wrapped."""
    with wrapped(table, what):
        return fn()
    raise AssertionError("unreachable")  # pragma: no cover - keeps mypy's flow analysis happy


@dataclass(frozen=True)
class TxResult:
    """What a mined transaction left behind."""

    tx_hash: str
    block_number: int
    gas_used: int
    gas_price: int
    logs: list[Any]

    @property
    def fee_wei(self) -> int:
        """What the sender paid for gas."""
        return self.gas_used * self.gas_price


def send(
    w3: Web3, signer: Signer, fn: ContractFunction, table: ErrorTable, value: int = 0
) -> TxResult:
    """Estimate (surfacing reverts with their custom error), sign, send and wait for `fn`."""
    what = f"transaction {fn.fn_name}"
    with wrapped(table, what):
        tx = fn.build_transaction(_base_tx(w3, signer, value))  # type: ignore[arg-type]
        return _send_raw(w3, signer, dict(tx), table)
    raise AssertionError("unreachable")  # pragma: no cover


def _base_tx(w3: Web3, signer: Signer, value: int) -> dict[str, Any]:
    nonce = w3.eth.get_transaction_count(signer.address, "pending")  # type: ignore[arg-type]
    return {"from": signer.address, "value": value, "nonce": nonce, "chainId": w3.eth.chain_id}


def _send_raw(w3: Web3, signer: Signer, tx: dict[str, Any], table: ErrorTable) -> TxResult:
    rcpt = _mine(w3, signer, tx, table)
    return TxResult(
        "0x" + bytes(rcpt["transactionHash"]).hex(),
        rcpt["blockNumber"],
        rcpt["gasUsed"],
        rcpt["effectiveGasPrice"],
        rcpt["logs"],
    )


def _mine(w3: Web3, signer: Signer, tx: dict[str, Any], table: ErrorTable) -> TxReceipt:
    """Sign, send and wait for a built tx; a mined revert raises with its custom error."""
    tx_hash = w3.eth.send_raw_transaction(signer.sign_transaction(tx))
    rcpt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S)
    if rcpt["status"] != 1:
        raise_mined_revert(w3, "0x" + bytes(tx_hash).hex(), tx, rcpt["blockNumber"], table)
    return rcpt


def raise_mined_revert(
    w3: Web3, tx_hash: str, tx: dict[str, Any], block: int, table: ErrorTable
) -> NoReturn:
    """Recover why a mined tx failed (the estimate passed, or there was none).

    The node's own trace of the tx is exact; replays are a fallback for nodes without
    `debug_traceTransaction`. A replay on the parent block alone would miss reverts that
    depend on the mined block itself (DeadlinePassed: its timestamp is past the deadline, the
    parent's is not), so the mined block is tried first.
    """
    _raise_traced(w3, tx_hash, table)
    replay = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
    for at in (block, block - 1):
        try:
            w3.eth.call(replay, at)  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise decode_revert(revert_data(exc.data), table) from None
        except Exception:  # e.g. state pruned at that block: inconclusive, try the next
            continue
    raise RpcError(f"transaction to {tx.get('to')} reverted when mined but not when replayed")


def _raise_traced(w3: Web3, tx_hash: str, table: ErrorTable) -> None:
    """Raise from the top-level frame of a callTracer trace; return when there is none."""
    try:
        reply = w3.provider.make_request(
            RPCEndpoint("debug_traceTransaction"), [tx_hash, {"tracer": "callTracer"}]
        )
    except Exception:  # transport failure or a provider that raises on RPC errors
        return
    frame = reply.get("result")
    if not isinstance(frame, dict) or not frame.get("error"):
        return  # method missing (an "error" reply) or a trace that shows no failure
    if frame["error"] == "execution reverted":
        raise decode_revert(revert_data(frame.get("output")), table)
    raise RpcError(f"transaction {tx_hash} failed when mined: {frame['error']}")


def deploy(w3: Web3, signer: Signer, artifact: Artifact, *args: Any) -> str:
    """Deploy a compiled artifact with constructor `args`; returns the checksum address.

    Usage: ``registry = deploy(w3, signer, load_artifact("ModelRegistry"))``
    """
    table = error_table(artifact.abi)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    with wrapped(table, f"deploying {artifact.contract_name}"):
        # The gas estimate runs the constructor, so its custom error surfaces as ContractRevert
        # here; a constructor that reverts only when mined is decoded by _mine.
        tx = factory.constructor(*args).build_transaction(_base_tx(w3, signer, 0))
        rcpt = _mine(w3, signer, dict(tx), table)
    if not rcpt["contractAddress"]:
        tx_hash = "0x" + bytes(rcpt["transactionHash"]).hex()
        raise RpcError(f"deploying {artifact.contract_name} created no contract (tx {tx_hash})")
    return str(rcpt["contractAddress"])


class Deployment(JsonFile):
    """Addresses of a deployed registry, escrow, one-step verifier and game; saved as JSON.

    ``osv`` and ``game`` are empty in records written before the optimistic path existed.
    """

    file_kind: ClassVar[str] = "deployment"
    file_hint: ClassVar[str] = "deploy with `verinfer chain deploy`"

    chain_id: int
    registry: str
    escrow: str
    fulfil_timeout: int
    deployer: str
    osv: str = ""
    game: str = ""
    challenge_window: int = 0
    proving_window: int = 0
    move_timeout: int = 0
    arity: int = 0


@dataclass(frozen=True)
class CoreParams:
    """The optimistic path's deployment parameters (docs/optimistic.md "Deployment").

    - ``challenge_window``: seconds after a claim during which a game (optimistic) or a
      challenge (zk on demand) may be opened; a claim is final only after it.
    - ``proving_window``: seconds a challenged on-demand provider has to post its zk proof.
    - ``move_timeout``: seconds each party has per move in a DisputeGame.
    - ``arity``: K, the points per dissection move and the children per descent move (a power of
      two in 2..64; 16 trades moves against calldata per move, see docs/threat-model.md).
    - ``game_artifact``: the game contract; "MockGame" only in tests of the escrow alone.
    """

    challenge_window: int = 86400
    proving_window: int = 86400
    move_timeout: int = 3600
    arity: int = 16
    game_artifact: str = "DisputeGame"


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from ``sender`` at ``nonce`` deploys to: keccak(rlp([s, n]))[12:].

    Usage: ``escrow_at = create_address(deployer.address, w3.eth.get_transaction_count(a) + 1)``
    """
    if nonce == 0:
        n = b"\x80"
    elif nonce < 0x80:
        n = bytes([nonce])
    else:
        body = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
        n = bytes([0x80 + len(body)]) + body
    item = b"\x94" + bytes.fromhex(sender.removeprefix("0x"))
    payload = item + n
    return str(Web3.to_checksum_address(Web3.keccak(bytes([0xC0 + len(payload)]) + payload)[12:]))


def deploy_core(
    w3: Web3, signer: Signer, fulfil_timeout: int = 3600, params: CoreParams | None = None
) -> Deployment:
    """Deploy ModelRegistry, OneStepVerifier, the DisputeGame and the InferenceEscrow.

    ``fulfil_timeout`` is the seconds a provider has to fulfil or claim a request before its
    client may take the payment back. The game comes first, told the escrow's predicted CREATE
    address (the deployer's nonce after the game's); the escrow's constructor checks that
    ``game.escrow()`` names it, so no setter or initializer exists to be front-run.

    Usage: ``dep = deploy_core(w3, signer, 600, CoreParams(challenge_window=600))``
    """
    p = params or CoreParams()
    registry = deploy(w3, signer, load_artifact("ModelRegistry"))
    osv = deploy(w3, signer, load_artifact("OneStepVerifier"))
    nonce = w3.eth.get_transaction_count(signer.address, "pending")  # type: ignore[arg-type]
    predicted = create_address(signer.address, nonce + 1)
    game_args = (predicted, registry, osv, p.move_timeout, p.arity)
    game = deploy(w3, signer, load_artifact(p.game_artifact), *game_args)
    escrow_args = (registry, game, fulfil_timeout, p.challenge_window, p.proving_window)
    escrow = deploy(w3, signer, load_artifact("InferenceEscrow"), *escrow_args)
    if escrow != predicted:
        raise RpcError(f"escrow deployed at {escrow}, not at the predicted {predicted}")
    return Deployment(
        chain_id=w3.eth.chain_id,
        registry=registry,
        escrow=escrow,
        fulfil_timeout=fulfil_timeout,
        deployer=signer.address,
        osv=osv,
        game=game,
        challenge_window=p.challenge_window,
        proving_window=p.proving_window,
        move_timeout=p.move_timeout,
        arity=p.arity,
    )


def _verifier(w3: Web3, address: str) -> Contract:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=VERIFY_ABI)


def verify_proof_call(w3: Web3, verifier: str, proof: bytes, instances: Sequence[int]) -> bool:
    """Ask a verifier contract via eth_call; a revert (EZKL's "no") gives False.

    Usage: ``ok = verify_proof_call(w3, verifier_addr, proof_bytes, instances)``
    """
    fn = _verifier(w3, verifier).functions.verifyProof(proof, list(instances))
    try:
        return bool(call(fn.call, {}, "verifyProof call"))
    except ContractRevert:
        return False


def estimate_verify_gas(
    w3: Web3, verifier: str, proof: bytes, instances: Sequence[int], sender: str | None = None
) -> int:
    """Gas of one verifyProof transaction (eth_estimateGas); ContractRevert if it rejects."""
    fn = _verifier(w3, verifier).functions.verifyProof(proof, list(instances))
    params: dict[str, Any] = {"from": sender} if sender else {}
    return int(call(lambda: fn.estimate_gas(params), {}, "verifyProof gas estimate"))  # type: ignore[arg-type]
