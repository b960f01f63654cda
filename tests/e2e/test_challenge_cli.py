"""`verinfer watch` and `verinfer challenge …` as real processes on a real anvil and contracts.

The digits MLP is registered as an optimistic model; a client pays for a request; the provider
claims, honestly or with a forged run (``CorruptStep``). The party under test is always the
real CLI in a subprocess with its own store; the other party is an in-process ``Agent``
(a cheating provider or a lying challenger needs a forged view, which the CLI rightly cannot
play). Balances, the claim's status and the game's move events are asserted at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from contracts.bindings import CoreParams, Deployment, connect, deploy_core
from contracts.chain import Anvil, free_port, increase_time, revert_to, snapshot
from contracts.clients import EscrowClient, RegistryClient
from contracts.game_client import GameClient, GameInfo, Phase, Reason
from contracts.records import RequestStatus
from contracts.signer import Signer
from disputes.commitments import merkle
from disputes.game.agent import Agent
from disputes.game.solver import GameState, Move, Role, next_move
from disputes.game.store import GameStore
from disputes.game.traces import Programs
from disputes.game.view import CorruptStep, View
from disputes.tracing.trace import Trace
from tests.contracts.optimistic_fixture import FEE, MIN_BOND, Case, digits_case, register_program

pytestmark = pytest.mark.slow

VERINFER = [sys.executable, "-c", "from api.cli import main; main()"]
WINDOW = 3600
MOVE_TIMEOUT = 600
MODEL = "digits-mlp"
MOVE_EVENTS = ("Bisected", "Chosen", "SlotProven", "NodesRevealed", "NodePicked", "RowRevealed")


def cheat(tr: Trace) -> CorruptStep:
    """The forged run of the cheating provider (and of the lying challenger)."""
    return CorruptStep(tr, 1, row=0, col=3, delta=5)


@dataclass
class Chain:
    node: Anvil
    w3: Web3
    dep: Deployment
    dep_path: Path
    model_id: int
    case: Case
    provider: Signer
    client: Signer
    watcher: Signer
    keys: dict[str, str]

    def escrow(self, who: Signer | None = None) -> EscrowClient:
        return EscrowClient(self.w3, self.dep.escrow, who)

    def game(self) -> GameClient:
        return GameClient(self.w3, self.dep.game)

    def balance(self, who: Signer) -> int:
        return int(self.w3.eth.get_balance(Web3.to_checksum_address(who.address)))

    def block(self) -> int:
        return int(self.w3.eth.block_number)


@pytest.fixture(scope="module")
def chain(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    case = digits_case(registry, MODEL)
    with Anvil() as node:
        w3 = connect(node.rpc_url)
        signers = [Signer.from_private_key(a.private_key) for a in node.accounts[:4]]
        deployer, provider, client, watcher = signers
        params = CoreParams(challenge_window=WINDOW, move_timeout=MOVE_TIMEOUT)
        dep = deploy_core(w3, deployer, 3600, params)
        dep_path = tmp_path_factory.mktemp("chain") / "deployment.json"
        dep.save(dep_path)
        model_id = register_program(RegistryClient(w3, dep.registry, provider), case.program)
        keys = {s.address: a.private_key for s, a in zip(signers, node.accounts, strict=False)}
        yield Chain(node, w3, dep, dep_path, model_id, case, provider, client, watcher, keys)


@pytest.fixture
def fresh(chain: Chain) -> Iterator[Chain]:
    snap = snapshot(chain.node.rpc_url)
    yield chain
    revert_to(chain.node.rpc_url, snap)


# ---- the other party, in process ----


def request(c: Chain) -> int:
    return c.escrow(c.client).request_optimistic(c.model_id, c.case.input, value=FEE)


def claim(c: Chain, rid: int, view: CorruptStep | None = None) -> None:
    """The provider's claim: honest, or the forged run of `view` (with its own output proof)."""
    p, n = c.case.program, len(c.case.program.steps)
    if view is None:
        final, proof = c.case.final, c.case.output_proof
    else:
        final = view.point(n)
        proof = merkle.checkpoint_proof(view.slot_roots(), p.n_slots, p.output_slot)
    c.escrow(c.provider).claim(rid, c.case.output, final, proof, bond=MIN_BOND)


def agent(
    c: Chain, who: Signer, tmp: Path, views: Callable[[Role, Trace], View], **options: Any
) -> Agent:
    store = GameStore(f"sqlite:///{tmp / f'inproc-{who.address}.db'}")
    programs = Programs.of(**{MODEL: c.case.program})
    return Agent.connect(connect(c.node.rpc_url), c.dep, who, store, programs, views=views,
                         poll_s=0.1, **options)  # fmt: skip


class Party(threading.Thread):
    """An in-process party that plays the game on `rid` once it exists; `hold` pauses it."""

    def __init__(self, a: Agent, c: Chain, rid: int, hold: Callable[[GameInfo], bool]) -> None:
        super().__init__(daemon=True)
        self.agent, self.chain, self.rid, self.hold = a, c, rid, hold
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            gid = _wait_for(lambda: (self.chain.game().games_of(self.rid) or [0])[0], 120)
            while not self.agent.advance(gid).info.phase.over:
                while self.hold(self.agent.game.get_game(gid)):
                    time.sleep(0.05)
                time.sleep(0.1)
        except BaseException as exc:  # reported by the test
            self.error = exc


def _wait_for(fn: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout} s")


# ---- the CLI under test ----


def _env(c: Chain, who: Signer | None, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETH_")}
    env["ETH_RPC_URL"] = c.node.rpc_url
    env["VERINFER_DISPUTES_DATABASE_URL"] = f"sqlite:///{tmp / 'cli.db'}"
    if who is not None:
        env["ETH_PRIVATE_KEY"] = c.keys[who.address]
    return env


def cli(
    c: Chain,
    who: Signer | None,
    tmp: Path,
    *args: str,
    deployment: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    where = str(deployment or c.dep_path)
    cmd = [*VERINFER, *args, "--deployment", where, *_model_flag(args)]
    full_env = {**_env(c, who, tmp), **(env or {})}
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=full_env)
    secrets = [*c.keys.values(), *(env or {}).values()]
    for key in secrets:  # keys are never printed, whatever happened
        if key.startswith("0x"):
            assert key not in run.stdout + run.stderr and key[2:] not in run.stdout + run.stderr
    return run


def _model_flag(args: tuple[str, ...]) -> list[str]:
    takes = {"check", "open", "play", "watch"}
    return ["--model", MODEL] if takes & set(args) else []


def spawn(c: Chain, who: Signer, tmp: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp / f"{args[0]}-{time.monotonic_ns()}.log"
    cmd = [*VERINFER, *args, "--deployment", str(c.dep_path), *_model_flag(args)]
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would block the process
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, env=_env(c, who, tmp))
    return proc, log


def stop(proc: subprocess.Popen[bytes], log: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    text = log.read_text(errors="replace")
    assert code == 0, text[-3000:]
    return text


def receipts(c: Chain, who: Signer, since: int) -> list[Any]:
    """Receipts of every transaction `who` sent after block `since`."""
    out = []
    for n in range(since + 1, c.block() + 1):
        block: Any = c.w3.eth.get_block(n, full_transactions=True)
        for tx in block["transactions"]:
            if str(tx["from"]).lower() == who.address.lower():
                out.append(c.w3.eth.get_transaction_receipt(tx["hash"]))
    return out


def fees(c: Chain, who: Signer, since: int) -> int:
    """Gas paid by `who` in blocks after `since` (balances are asserted net of it)."""
    return sum(int(r["gasUsed"]) * int(r["effectiveGasPrice"]) for r in receipts(c, who, since))


def reverted(c: Chain, who: Signer, since: int) -> int:
    """How many of `who`'s transactions after block `since` reverted."""
    return sum(r["status"] != 1 for r in receipts(c, who, since))


def move_events(c: Chain, gid: int) -> dict[str, int]:
    """How many of each move event game `gid` emitted (one per move sent and mined)."""
    events = c.game().contract.events
    return {
        name: len(events[name]().get_logs(from_block=0, argument_filters={"gameId": gid}))
        for name in MOVE_EVENTS
    }


def test_watch_catches_a_cheating_provider(fresh: Chain, tmp_path: Path) -> None:
    c = fresh
    rid = request(c)
    claim(c, rid, cheat(c.case.trace))
    start, before = c.block(), c.balance(c.watcher)
    burned = c.escrow().burned()
    provider = Party(agent(c, c.provider, tmp_path, lambda r, t: cheat(t)), c, rid, lambda g: False)
    provider.start()
    proc, log = spawn(c, c.watcher, tmp_path, "watch", "--interval", "0.2")
    gid = _wait_for(lambda: (c.game().games_of(rid) or [0])[0], 120, "a game opened")
    _wait_for(lambda: c.game().get_game(gid).phase.over, 120, "the game resolved")
    _wait_for(lambda: c.game().credits(c.watcher.address) == 0, 60, "the watcher withdrew")
    _wait_for(lambda: c.escrow().credits(c.watcher.address) == 0, 60, "the watcher withdrew")
    text = stop(proc, log)
    provider.join(30)
    assert provider.error is None, provider.error
    res = c.game().resolution_of(gid)
    assert res is not None and res.winner == c.watcher.address and res.reason == Reason.ONE_STEP
    assert c.escrow().get_claim(rid).status == RequestStatus.REFUNDED
    assert c.escrow().credits(c.client.address) == FEE  # the client is refunded
    assert c.escrow().burned() == burned + MIN_BOND // 2
    # The watcher's bond came back and it gained half the provider's: net of its own gas.
    assert c.balance(c.watcher) - before + fees(c, c.watcher, start) == MIN_BOND // 2
    assert reverted(c, c.watcher, start) == 0
    assert f"claim {rid} by {c.provider.address}: wrong" in text
    assert f"opened game {gid}" in text and f"game {gid} is over: won" in text
    counts = move_events(c, gid)
    assert counts["Bisected"] == counts["Chosen"] == 1 and counts["RowRevealed"] == 1


def test_check_open_and_play_catch_a_cheater(fresh: Chain, tmp_path: Path) -> None:
    c = fresh
    honest, cheated = request(c), request(c)
    claim(c, honest)
    claim(c, cheated, cheat(c.case.trace))
    right = cli(c, None, tmp_path, "challenge", "check", str(honest))
    assert right.returncode == 0, right.stderr
    assert f"claim {honest} on {MODEL}" in right.stdout and ": right" in right.stdout
    wrong = cli(c, None, tmp_path, "challenge", "check", str(cheated), "--json")
    assert wrong.returncode == 3, wrong.stderr
    facts = json.loads(wrong.stdout)
    assert facts["verdict"] == "wrong" and facts["claimed_checkpoint"] != facts["honest_checkpoint"]
    assert facts["honest_checkpoint"] == "0x" + c.case.final.hex()
    start, before = c.block(), c.balance(c.watcher)
    opened = cli(c, c.watcher, tmp_path, "challenge", "open", str(cheated), "--json")
    assert opened.returncode == 0, opened.stderr
    gid = json.loads(opened.stdout)["game_id"]
    assert json.loads(opened.stdout)["bond"] == MIN_BOND
    status = cli(c, None, tmp_path, "challenge", "status", str(gid), "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["phase"] == "dissect"
    assert json.loads(status.stdout)["to_move"] == "asserter"
    provider = Party(agent(c, c.provider, tmp_path, lambda r, t: cheat(t)), c, cheated,
                     lambda g: False)  # fmt: skip
    provider.start()
    played = cli(c, c.watcher, tmp_path, "challenge", "play", str(gid), "--json", "--poll", "0.1")
    assert played.returncode == 0, played.stderr
    result = json.loads(played.stdout)
    assert (result["status"], result["role"], result["winner"]) == (
        "won",
        "challenger",
        c.watcher.address,
    )
    provider.join(30)
    assert provider.error is None, provider.error
    assert c.balance(c.watcher) - before + fees(c, c.watcher, start) == MIN_BOND // 2
    listed = cli(c, c.watcher, tmp_path, "challenge", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    games = json.loads(listed.stdout)["games"]
    assert [(g["game_id"], g["status"], g["chain_phase"]) for g in games] == [
        (gid, "won", "resolved")
    ]
    claims = {cl["request_id"]: cl for cl in json.loads(listed.stdout)["claims"]}
    assert claims[cheated]["verdict"] == "wrong" and claims[cheated]["chain_status"] == "refunded"
    assert claims[honest]["verdict"] == "right" and claims[honest]["chain_status"] == "claimed"


def test_an_honest_provider_defends_and_finalizes(fresh: Chain, tmp_path: Path) -> None:
    c = fresh
    start, before = c.block(), c.balance(c.provider)
    rid = request(c)
    claim(c, rid)  # honest
    proc, log = spawn(c, c.provider, tmp_path, "watch", "--interval", "0.2")
    liar = agent(c, c.watcher, tmp_path, lambda r, t: cheat(t))
    gid = liar.open(rid, MIN_BOND)
    challenger = Party(liar, c, rid, lambda g: False)
    challenger.start()
    _wait_for(lambda: c.game().get_game(gid).phase.over, 120, "the game resolved")
    challenger.join(30)
    assert challenger.error is None, challenger.error
    res = c.game().resolution_of(gid)
    assert res is not None and res.winner == c.provider.address
    _wait_for(lambda: c.game().credits(c.provider.address) == 0, 60, "the provider withdrew")
    assert c.escrow().get_claim(rid).status == RequestStatus.CLAIMED  # its window is still open
    increase_time(c.node.rpc_url, WINDOW + 1)
    _wait_for(lambda: c.escrow().get_claim(rid).status == RequestStatus.FULFILLED, 60, "final")
    _wait_for(lambda: c.escrow().credits(c.provider.address) == 0, 60, "the provider withdrew")
    text = stop(proc, log)
    assert f"game {gid} opened on our claim {rid}" in text and f"claim {rid} finalized" in text
    # Fee, own bond back, and half the lying challenger's bond; net of the provider's gas.
    gained = c.balance(c.provider) - before + fees(c, c.provider, start)
    assert gained == FEE + MIN_BOND // 2
    assert reverted(c, c.provider, start) == 0


def test_kill_9_mid_game_then_a_restart_finishes_and_wins(fresh: Chain, tmp_path: Path) -> None:
    c = fresh
    rid = request(c)
    claim(c, rid, cheat(c.case.trace))
    start = c.block()
    opened = cli(c, c.watcher, tmp_path, "challenge", "open", str(rid), "--json")
    assert opened.returncode == 0, opened.stderr
    gid = json.loads(opened.stdout)["game_id"]
    release = threading.Event()

    # The provider stops after the challenger's choice, so the kill lands with the game open.
    # The hold is in its solver (no move in SlotProof until released), not in a poll of the
    # phase, which could miss the moment and let the provider move on.
    def held(role: Role, state: GameState, view: View, tr: Trace | None) -> Move | None:
        if state.info.phase == Phase.SLOT_PROOF and not release.is_set():
            return None
        return next_move(role, state, view, tr)

    provider_agent = agent(c, c.provider, tmp_path, lambda r, t: cheat(t), solver=held)
    provider = Party(provider_agent, c, rid, lambda g: False)
    provider.start()
    proc, log = spawn(c, c.watcher, tmp_path, "challenge", "play", str(gid), "--poll", "0.1")
    try:
        _wait_for(lambda: c.game().get_game(gid).phase == Phase.SLOT_PROOF, 120, "the choice")
    except AssertionError as exc:  # say why: the provider thread's error, the CLI's own log
        proc.kill()
        state = c.game().get_game(gid)
        raise AssertionError(
            f"{exc}; game {state}; provider: {provider.error!r}; play log: "
            f"{log.read_text(errors='replace')[-3000:]}"
        ) from None
    proc.kill()  # SIGKILL: no cleanup runs
    assert proc.wait(30) == -signal.SIGKILL
    release.set()
    _wait_for(lambda: c.game().get_game(gid).phase == Phase.ONE_STEP, 60, "the row revealed")
    again = cli(c, c.watcher, tmp_path, "challenge", "play", str(gid), "--json", "--poll", "0.1")
    assert again.returncode == 0, again.stderr + log.read_text()
    assert json.loads(again.stdout)["status"] == "won"
    provider.join(30)
    assert provider.error is None, provider.error
    res = c.game().resolution_of(gid)
    assert res is not None and res.winner == c.watcher.address and res.reason == Reason.ONE_STEP
    assert c.game().get_game(gid).phase == Phase.RESOLVED
    counts = move_events(c, gid)
    assert counts == {"Bisected": 1, "Chosen": 1, "SlotProven": 1, "NodesRevealed": 0,
                      "NodePicked": 0, "RowRevealed": 1}  # fmt: skip
    # open, choose, proveElement, two withdrawals: each sent once, none reverted.
    store = GameStore(f"sqlite:///{tmp_path / 'cli.db'}")
    kinds = [t.kind for t in store.txs(sender=c.watcher.address) if t.status == "mined"]
    assert sorted(kinds) == ["choose", "open", "proveElement", "withdraw", "withdraw"]
    assert reverted(c, c.watcher, start) == 0
    nonce_span = c.w3.eth.get_transaction_count(c.watcher.address)  # type: ignore[arg-type]
    assert len(store.txs(sender=c.watcher.address)) == len(kinds) <= nonce_span


def _fails(run: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 1 with one line on stderr that says what went wrong (no traceback)."""
    assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
    line = run.stderr.strip()
    assert "\n" not in line and line.startswith("error: "), run.stderr
    for needle in needles:
        assert needle in line, (needle, line)


def test_cli_errors_say_what_is_wrong_in_one_line(fresh: Chain, tmp_path: Path) -> None:
    c = fresh
    rid = request(c)
    claim(c, rid, cheat(c.case.trace))
    unclaimed = request(c)
    _fails(cli(c, None, tmp_path, "challenge", "check", "999"), "request 999 does not exist")
    _fails(cli(c, None, tmp_path, "challenge", "check", str(unclaimed)), "has no optimistic claim")
    low = cli(c, c.watcher, tmp_path, "challenge", "open", str(rid), "--bond", "1")
    _fails(low, f"BondTooLow(1, {MIN_BOND})", f"minimum of {MIN_BOND} wei")
    _fails(cli(c, c.provider, tmp_path, "challenge", "open", str(rid)), "SelfChallenge()")
    _fails(cli(c, None, tmp_path, "challenge", "status", "99"), "game 99 does not exist")
    wrong_chain = tmp_path / "other-chain.json"
    wrong_chain.write_text(c.dep.model_copy(update={"chain_id": 1}).model_dump_json())
    _fails(cli(c, None, tmp_path, "challenge", "list", deployment=wrong_chain),
           "wrong chain", "chain id 31337", "on chain id 1")  # fmt: skip
    dead = {"ETH_RPC_URL": f"http://127.0.0.1:{free_port()}"}
    _fails(cli(c, None, tmp_path, "challenge", "status", "1", env=dead),
           "no Ethereum JSON-RPC node answers")  # fmt: skip
    bad_key = {"ETH_PRIVATE_KEY": "0x" + "zz" * 32}
    _fails(cli(c, None, tmp_path, "challenge", "open", str(rid), env=bad_key),
           "not a valid 32-byte hex key")  # fmt: skip
    missing = tmp_path / "none.json"
    _fails(
        cli(c, None, tmp_path, "challenge", "list", deployment=missing), "cannot read deployment"
    )
    as_json = cli(c, None, tmp_path, "challenge", "status", "99", "--json")
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["ok"] is False
    increase_time(c.node.rpc_url, WINDOW + 1)
    _fails(cli(c, c.watcher, tmp_path, "challenge", "open", str(rid)),
           f"challenge window of claim {rid} closed")  # fmt: skip
    assert c.game().games_of(rid) == []


def test_resolve_times_out_a_silent_provider_signing_from_a_keystore(
    fresh: Chain, tmp_path: Path
) -> None:
    from eth_account import Account

    c = fresh
    rid = request(c)
    claim(c, rid, cheat(c.case.trace))
    keystore, password = tmp_path / "key.json", tmp_path / "password"
    keystore.write_text(
        json.dumps(Account.encrypt(bytes.fromhex(c.keys[c.watcher.address][2:]), "s3cret"))
    )
    password.write_text("s3cret\n")
    signing = ("--keystore", str(keystore), "--password-file", str(password))
    opened = cli(c, None, tmp_path, "challenge", "open", str(rid), "--json", *signing)
    assert opened.returncode == 0, opened.stderr
    gid = json.loads(opened.stdout)["game_id"]
    early = cli(c, None, tmp_path, "challenge", "resolve", str(gid), *signing)
    _fails(early, "nothing to resolve yet", "asserter may move until")
    password.write_text("wrong\n")
    _fails(cli(c, None, tmp_path, "challenge", "resolve", str(gid), *signing), "did not decrypt")
    password.write_text("s3cret\n")
    increase_time(c.node.rpc_url, MOVE_TIMEOUT + 1)  # the provider never answered
    done = cli(c, None, tmp_path, "challenge", "resolve", str(gid), "--json", *signing)
    assert done.returncode == 0, done.stderr
    assert "timed out: the asserter missed its deadline" in json.loads(done.stdout)["done"][0]
    res = c.game().resolution_of(gid)
    assert res is not None and res.winner == c.watcher.address and res.reason == Reason.TIMEOUT
    assert c.escrow().get_claim(rid).status == RequestStatus.REFUNDED
    again = cli(c, None, tmp_path, "challenge", "resolve", str(gid), *signing)
    assert again.returncode == 0 and "already resolved" in again.stdout
    status = cli(c, None, tmp_path, "challenge", "status", str(gid), "--json", *signing)
    facts = json.loads(status.stdout)
    assert facts["winner"] == c.watcher.address and facts["reason"] == "timeout"
    assert facts["ours"]["role"] == "challenger"
