"""`verinfer challenge …` and `verinfer watch`: check, challenge, play and settle optimistic claims.

Verbs (op-challenger style)::

    verinfer challenge check CLAIM      re-execute, say right or wrong, send nothing
    verinfer challenge open CLAIM       open a game on a wrong claim (bond: the model's minimum)
    verinfer challenge play GAME        play a game to its end (progress on stderr)
    verinfer challenge status GAME      the game's phase, whose move, deadline, result
    verinfer challenge resolve GAME     timeout / cancel / finalize, whatever applies now
    verinfer challenge list             games and claims this data dir knows, with chain status
    verinfer challenge prove-step …     one one-step proof (a debugging aid)
    verinfer watch                      follow claims, challenge wrong ones, defend our own

Chain and signer flags follow Foundry: ``--rpc-url`` (``ETH_RPC_URL``), ``--private-key``
(better: ``ETH_PRIVATE_KEY``), ``--keystore`` (``ETH_KEYSTORE``) with ``--password-file``;
``--deployment`` is the JSON ``verinfer chain up`` writes (all declared once, in
``contracts.cli_options``). Exit codes: 0 done (``check``: the claim is right; ``play``: won or
cancelled), 1 an error (one line on stderr: a revert with its named error, a wrong id, a closed
window, a wrong chain id, an unreachable node), 2 a usage error, 3 ``check`` found the claim
wrong, 4 ``play`` ended with the game lost.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from typing import Annotated, Any

import typer

from contracts.cli_options import ChainOptions, chain_options
from disputes.game.session import Session, connect_session, emit, reported
from disputes.osp.cli import prove_step
from verinfer.progress import progress_bar

app = typer.Typer(
    help="Dispute games on optimistic claims: check, open, play, status, resolve, list.",
    no_args_is_help=True,
)
app.command("prove-step")(prove_step)
EXIT_WRONG, EXIT_LOST = 3, 4

AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


# ---- the verbs ----


@app.command("check")
@chain_options(signer=False, models=True)
def check(
    claim: Annotated[int, typer.Argument(help="The claim's request id.")],
    *,
    chain: ChainOptions,
    as_json: AsJson = False,
) -> None:
    """Re-execute the claim's request here and say whether its P_n is right; sends nothing.

    Exit 0: right; 3: wrong (what differs is printed); 1: could not check.
    """
    from disputes.game.watch import check_claim

    with reported(as_json):
        s = connect_session(chain, signer=False)
        from contracts.clients import EscrowClient

        result = check_claim(EscrowClient(s.w3, s.dep.escrow), s.traces(), claim)
        me = s.signer.address if s.signer is not None else ""
        if s.store.claim(claim, me) is None:
            s.store.save_claim(result.record(me))
    verdict = "right" if result.right else "WRONG"
    lines = [
        f"claim {claim} on {result.model} (model {result.model_id}) by {result.provider}: "
        f"{verdict}",
        f"  claimed P_n 0x{result.claimed.hex()}",
        f"  honest  P_n 0x{result.honest.hex()}",
    ]
    lines += [f"  output[{i}]: claimed {c}, honest {h}" for i, c, h in result.differences()]
    emit(result.as_dict(), as_json, lines)
    if not result.right:
        raise typer.Exit(EXIT_WRONG)


@app.command("open")
@chain_options(models=True)
def open_cmd(
    claim: Annotated[int, typer.Argument(help="The claim's request id.")],
    bond: Annotated[
        int | None, typer.Option("--bond", help="Bond in wei (default: the model's minimum).")
    ] = None,
    *,
    chain: ChainOptions,
    as_json: AsJson = False,
) -> None:
    """Open a game on a claim this machine finds wrong (then: `verinfer challenge play GAME`)."""
    from contracts.clients import EscrowClient, RegistryClient
    from disputes.game.watch import check_claim, open_game

    with reported(as_json):
        s = connect_session(chain, signer=True)
        agent = s.agent()
        result = check_claim(EscrowClient(s.w3, s.dep.escrow), s.traces(), claim)
        if s.store.claim(claim, agent.address) is None:
            s.store.save_claim(result.record(agent.address))
        registry = RegistryClient(s.w3, s.dep.registry)
        gid = open_game(agent, registry, result, s.now(), bond)
        paid = agent.game.get_game(gid).bond
    data = {"ok": True, "game_id": gid, "request_id": claim, "bond": paid}
    emit(
        data,
        as_json,
        [
            f"opened game {gid} on claim {claim} with a bond of {paid} wei",
            f"play it: verinfer challenge play {gid}",
        ],
    )


@app.command("play")
@chain_options(models=True)
def play(
    game: Annotated[int, typer.Argument(help="The game id.")],
    withdraw: Annotated[
        bool, typer.Option("--withdraw/--no-withdraw", help="Withdraw the winnings at the end.")
    ] = True,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between looks.")] = 0.5,
    *,
    chain: ChainOptions,
    as_json: AsJson = False,
) -> None:
    """Play the game to its end (resumes where it is; a restart never resends a move).

    Exit 0: won or cancelled; 4: lost.
    """
    with reported(as_json), progress_bar(not as_json, "connecting") as progress:
        s = connect_session(chain, signer=True)
        agent = s.agent(poll_s=poll)
        rec = agent.play(game, progress, withdraw=withdraw)
        sent = [t for t in s.store.txs(sender=agent.address, game_id=game) if t.status == "mined"]
    data = {
        "ok": True,
        "game_id": game,
        "role": rec.role,
        "status": rec.status,
        "winner": rec.winner,
        "transactions": len(sent),
        "withdrawn": rec.withdrawn,
    }
    emit(
        data,
        as_json,
        [
            f"game {game}: {rec.status} (we were the {rec.role}; winner "
            f"{rec.winner}); {len(sent)} transactions sent"
        ],
    )
    if rec.status == "lost":
        raise typer.Exit(EXIT_LOST)


def _game_facts(s: Session, game: int) -> dict[str, Any]:
    from contracts.game_client import GameClient, Phase
    from contracts.records import RequestStatus
    from disputes.errors import AgentError
    from disputes.game.solver import role_to_move

    client = GameClient(s.w3, s.dep.game)
    info = client.get_game(game)
    if info.phase == Phase.NONE:
        raise AgentError(f"game {game} does not exist (UnknownGame); `verinfer challenge list`")
    from contracts.clients import EscrowClient

    claim = EscrowClient(s.w3, s.dep.escrow).get_claim(info.request_id)
    res = client.resolution_of(game)
    facts: dict[str, Any] = {
        "game_id": game,
        "request_id": info.request_id,
        "phase": info.phase.name.lower(),
        "asserter": info.asserter,
        "challenger": info.challenger,
        "bond": info.bond,
        "steps": [info.lo, info.hi],
        "n_steps": info.n_steps,
        "claim_status": claim.status.name.lower(),
        "claim_voided": claim.status == RequestStatus.REFUNDED,
        "window_end": claim.window_end,
        "open_games": claim.open_games,
        "now": s.now(),
    }
    if not info.phase.over:
        facts["to_move"] = role_to_move(info.phase).value
        facts["deadline"] = info.deadline
    if res is not None:
        facts.update(winner=res.winner, loser=res.loser, reason=res.reason.name.lower())
    if s.signer is not None:
        rec = s.store.game(game, s.signer.address)
        facts["ours"] = (
            None
            if rec is None
            else {"role": rec.role, "status": rec.status, "last_tx": rec.last_tx}
        )
    return facts


@app.command("status")
@chain_options()
def status(
    game: Annotated[int, typer.Argument(help="The game id.")],
    *,
    chain: ChainOptions,
    as_json: AsJson = False,
) -> None:
    """The game's phase, whose move and until when, and how it ended."""
    with reported(as_json):
        s = connect_session(chain, signer=False)
        facts = _game_facts(s, game)
    lines = [f"game {game} on claim {facts['request_id']}: {facts['phase']}"]
    if "to_move" in facts:
        left = facts["deadline"] - facts["now"]
        lines.append(f"  {facts['to_move']} to move by {facts['deadline']} ({left} s from now)")
    if "winner" in facts:
        lines.append(f"  winner {facts['winner']} ({facts['reason']})")
    lines.append(f"  claim {facts['claim_status']}, {facts['open_games']} game(s) open")
    emit(facts, as_json, lines)


@app.command("resolve")
@chain_options()
def resolve(
    game: Annotated[int, typer.Argument(help="The game id.")],
    *,
    chain: ChainOptions,
    as_json: AsJson = False,
) -> None:
    """Settle what can be settled now: timeout a missed deadline, cancel a game on a voided
    claim, finalize the claim once its window passed with no game open."""
    with reported(as_json):
        s = connect_session(chain, signer=True)
        done = _resolve(s, game)
    emit({"ok": True, "game_id": game, "done": done}, as_json, [f"game {game}: {d}" for d in done])


def _resolve(s: Session, game: int) -> list[str]:
    from contracts.clients import EscrowClient
    from disputes.errors import AgentError
    from disputes.game.outbox import Call

    facts = _game_facts(s, game)
    sender = s.agent().sender
    done: list[str] = []
    if "to_move" in facts:
        if facts["claim_voided"]:
            sender.send(f"cancel:{game}", Call("game", "cancel", (game,)), game_id=game)
            done.append("cancelled (its claim was voided by another game; bond credited back)")
        elif facts["now"] > facts["deadline"]:
            sender.send(f"timeout:{game}", Call("game", "timeout", (game,)), game_id=game)
            done.append(f"timed out: the {facts['to_move']} missed its deadline and lost")
        else:
            raise AgentError(
                f"nothing to resolve yet: game {game} is in phase {facts['phase']}, the "
                f"{facts['to_move']} may move until {facts['deadline']} "
                f"({facts['deadline'] - facts['now']} s from now)"
            )
        facts = _game_facts(s, game)
    settle = facts["claim_status"] == "claimed" and facts["open_games"] == 0
    if settle and facts["now"] > facts["window_end"]:
        rid = facts["request_id"]
        output = EscrowClient(s.w3, s.dep.escrow).claimed_output(rid) or b""
        sender.send(f"finalize:{rid}", Call("escrow", "finalize", (rid, output)))
        done.append(f"claim {rid} finalized (fee and bond credited to the provider)")
    return done or [f"already {facts['phase']}; nothing left to do"]


@app.command("list")
@chain_options()
def list_cmd(
    *,
    chain: ChainOptions,
    as_json: AsJson = False,
) -> None:
    """Games and claims in this data dir's store (every party's), with their chain status."""
    from contracts.clients import EscrowClient
    from contracts.game_client import GameClient

    with reported(as_json):
        s = connect_session(chain, signer=False)
        client, escrow = GameClient(s.w3, s.dep.game), EscrowClient(s.w3, s.dep.escrow)
        games = [
            {**g.__dict__, "chain_phase": client.get_game(g.game_id).phase.name.lower()}
            for g in s.store.games()
        ]
        claims = [
            {**c.__dict__, "chain_status": escrow.get_claim(c.request_id).status.name.lower()}
            for c in s.store.claims()
        ]
    lines = [
        f"game {g['game_id']} ({g['role']} {g['player']}): {g['status']}, on chain "
        f"{g['chain_phase']}"
        for g in games
    ]
    lines += [
        f"claim {c['request_id']} by {c['provider']}: {c['verdict']}, on chain {c['chain_status']}"
        for c in claims
    ]
    emit({"games": games, "claims": claims}, as_json, lines or ["no games or claims yet"])


@chain_options(models=True)
def watch(
    challenge: Annotated[
        bool, typer.Option("--challenge/--no-challenge", help="Open games on wrong claims.")
    ] = True,
    defend: Annotated[
        bool, typer.Option("--defend/--no-defend", help="Play games opened on our own claims.")
    ] = True,
    finalize: Annotated[
        bool, typer.Option("--finalize/--no-finalize", help="Finalize our unchallenged claims.")
    ] = True,
    withdraw: Annotated[
        bool, typer.Option("--withdraw/--no-withdraw", help="Withdraw winnings after each game.")
    ] = True,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between polls.")] = 1.0,
    from_block: Annotated[
        int, typer.Option("--from-block", help="First block to read on a first run.")
    ] = 0,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    *,
    chain: ChainOptions,
    as_json: AsJson = False,
) -> None:
    """Follow new claims, check each by re-execution, challenge the wrong ones and play them;
    defend games on our own claims and finalize them. Runs until SIGINT / SIGTERM."""
    from disputes.game.watch import Watcher

    def log(message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        line = json.dumps({"time": stamp, "event": message}) if as_json else f"{stamp} {message}"
        typer.echo(line, err=not as_json)

    with reported(as_json):
        s = connect_session(chain, signer=True)
        watcher = Watcher.connect(
            s.w3,
            s.dep,
            s.need_signer(),
            s.store,
            s.programs,
            challenge=challenge,
            defend=defend,
            finalize=finalize,
            withdraw=withdraw,
            from_block=from_block,
            log=log,
        )
        log(f"watching escrow {s.dep.escrow} on {s.rpc_url} as {watcher.me}")
        if once:
            watcher.poll()
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        watcher.run(stop, interval)
        log("stopped")
