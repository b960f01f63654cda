"""`verinfer models register`: put a built model on the ModelRegistry in the mode its card says.

- zk / zk-on-demand: the Halo2 verifier is generated from the model's own vk (the circuit is
  tuned and keyed once, cached), compiled with the pinned solc, deployed, and its runtime code
  compared with our build before the registry names it (a provider must never register a
  verifier it did not build); then ``register`` / ``registerOnDemand``.
- optimistic: the executor's program from the model file; ``registerOptimistic`` with its
  program root, the header and its proof, and the start-checkpoint data hash
  (``disputes.game.register``). The program root must be the one the card measured.

Each registration is appended to ``<model dir>/registrations.json`` (chain id, registry, id).

Usage::

    reg = register_model("my-net", w3, dep, signer, fee=10**15, min_bond=10**16)
    reg.model_id, reg.verifier
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from web3 import Web3

from contracts.bindings import Deployment
from contracts.signer import Signer
from models.card import ModelCard
from models.errors import ModelError
from models.registry import Registry
from verinfer.settings import Settings, get_settings

REGISTRATIONS = "registrations.json"
Progress = Callable[[str, float], None]


class Registration(BaseModel):
    """One model registered on one chain's ModelRegistry."""

    model: str
    mode: str
    commitment: str
    chain_id: int
    registry: str
    model_id: int
    owner: str
    fee: int
    min_bond: int
    verifier: str = ""
    program_root: str = ""


def register_model(
    name: str,
    w3: Web3,
    dep: Deployment,
    signer: Signer,
    fee: int,
    min_bond: int,
    *,
    registry: Registry | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> Registration:
    """Register model ``name`` (its card's mode) under ``signer``; returns and records it."""
    s = settings or get_settings()
    reg = registry or Registry(s.models_dir)
    card = reg.build(name)
    base = {
        "model": name,
        "mode": card.mode,
        "commitment": card.commitment,
        "chain_id": int(w3.eth.chain_id),
        "registry": dep.registry,
        "owner": signer.address,
        "fee": fee,
        "min_bond": min_bond,
    }
    if card.mode == "optimistic":
        model_id, extra = _optimistic(reg, card, w3, dep, signer, fee, min_bond)
    else:
        model_id, extra = _zk(reg, card, w3, dep, signer, (fee, min_bond), s, progress)
    out = Registration(**base, model_id=model_id, **extra)
    _record(reg.model_dir(name) / REGISTRATIONS, out)
    return out


def registrations(reg: Registry, name: str) -> list[Registration]:
    """Every registration recorded for ``name`` on this machine, oldest first."""
    path = reg.model_dir(name) / REGISTRATIONS
    if not path.is_file():
        return []
    return [Registration(**r) for r in json.loads(path.read_text())]


def _commitment(card: ModelCard) -> bytes:
    return bytes.fromhex(card.commitment.removeprefix("0x"))


def _optimistic(
    reg: Registry,
    card: ModelCard,
    w3: Web3,
    dep: Deployment,
    signer: Signer,
    fee: int,
    min_bond: int,
) -> tuple[int, dict[str, Any]]:
    from contracts.clients import RegistryClient
    from disputes.execution.executor import load_program
    from disputes.game.register import register_program

    program = load_program(reg.onnx_path(card.name))
    root = "0x" + program.program_root.hex()
    measured = card.extra.get("program_root")
    if measured and measured != root:
        raise ModelError(
            f"{card.name}: the executor now lowers it to program {root}, not the {measured} "
            "its card measured (the executor changed); add the model again to re-measure it"
        )
    client = RegistryClient(w3, dep.registry, signer)
    model_id = register_program(client, program, _commitment(card), fee, min_bond)
    return model_id, {"program_root": root}


def _zk(
    reg: Registry,
    card: ModelCard,
    w3: Web3,
    dep: Deployment,
    signer: Signer,
    money: tuple[int, int],
    s: Settings,
    progress: Progress | None,
) -> tuple[int, dict[str, Any]]:
    from contracts.clients import RegistryClient

    fee, min_bond = money
    verifier = deploy_verifier(card.name, w3, signer, reg, s, progress)
    client = RegistryClient(w3, dep.registry, signer)
    n_in, n_out = math.prod(card.inputs[0].shape), math.prod(card.outputs[0].shape)
    if card.mode == "zk-on-demand":
        model_id = client.register_on_demand(
            _commitment(card), verifier, fee, (n_in, n_out), min_bond
        )
    else:
        model_id = client.register(_commitment(card), verifier, fee, n_in, n_out)
    return model_id, {"verifier": verifier}


def deploy_verifier(
    name: str,
    w3: Web3,
    signer: Signer,
    reg: Registry,
    s: Settings,
    progress: Progress | None = None,
) -> str:
    """Deploy the Halo2 verifier built from the model's vk; checks the deployed code is ours."""
    from contracts.bindings import deploy
    from contracts.compiler import compile_file
    from prover.pipeline import ZkProver

    prover = ZkProver.for_model(name, progress, registry=reg, settings=s)
    art = compile_file(prover.solidity_verifier_path(), "Halo2Verifier")
    address = deploy(w3, signer, art)
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(address)))
    if code != bytes.fromhex(art.deployed_bytecode.removeprefix("0x")):
        raise ModelError(f"the code at {address} is not the verifier built from {name}'s vk")
    return address


def _record(path: Path, r: Registration) -> None:
    rows = json.loads(path.read_text()) if path.is_file() else []
    rows.append(r.model_dump())
    path.write_text(json.dumps(rows, indent=2) + "\n")
