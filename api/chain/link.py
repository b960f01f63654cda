"""The gateway's chain connection: node, deployment, signer, its dispute store, served model ids.

Connecting goes through ``disputes.game.session.connect_session`` (the deployment read, the
node's chain id checked against it, the signer loaded from a flag, ETH_PRIVATE_KEY or a
keystore), so the gateway never signs for a chain its deployment is not on.

Usage::

    link = connect_chain(ChainOptions(url, key, None, None, deployment, None), cards)
    link.models["minilm-l6"].model_id, link.models["minilm-l6"].mode   # 1, "optimistic"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from web3 import Web3

from contracts.bindings import Deployment
from contracts.clients import EscrowClient, RegistryClient
from contracts.errors import ChainError
from contracts.game_client import GameClient
from contracts.records import ZERO_ADDRESS, Mode, RequestStatus
from contracts.signer import Signer
from disputes.game.session import ChainOptions, connect_session
from disputes.game.store import GameStore
from models.card import ModelCard

__all__ = [
    "MODE_NAMES",
    "ChainLink",
    "ChainModel",
    "ChainOptions",
    "connect_chain",
    "resolve_models",
    "served_cards",
    "state_of",
]

MODE_NAMES = {Mode.ZK: "zk", Mode.OPTIMISTIC: "optimistic", Mode.ON_DEMAND: "zk-on-demand"}


def state_of(status: RequestStatus, open_games: int, challenger: str) -> str:
    """The public state of a request from the escrow's view of it (docs: claims status)."""
    if status == RequestStatus.FULFILLED:
        return "final"
    if status == RequestStatus.REFUNDED:
        return "lost"
    if status in (RequestStatus.CLAIMED, RequestStatus.BATCHED):  # a batch leaf is a claim
        challenged = open_games > 0 or challenger != ZERO_ADDRESS
        return "challenged" if challenged else "claimed"
    return "pending"


@dataclass(frozen=True)
class ChainModel:
    """A served model as the signer registered it: the id new requests use, and all of ours."""

    name: str
    model_id: int
    mode: str
    fee: int
    min_bond: int
    ids: tuple[int, ...]


@dataclass
class ChainLink:
    """What the fulfiller and the HTTP path need of the chain (one signer, one deployment)."""

    w3: Web3
    dep: Deployment
    signer: Signer
    store: GameStore
    models: dict[str, ChainModel] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return self.signer.address

    def escrow(self) -> EscrowClient:
        return EscrowClient(self.w3, self.dep.escrow, self.signer)

    def registry(self) -> RegistryClient:
        return RegistryClient(self.w3, self.dep.registry)

    def game(self) -> GameClient:
        return GameClient(self.w3, self.dep.game)

    def model_of(self, model_id: int) -> ChainModel | None:
        """The served model one of whose ids is ``model_id``."""
        return next((m for m in self.models.values() if model_id in m.ids), None)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])


def _ours(reg: RegistryClient, owner: str, card: ModelCard) -> list[int]:
    commitment = bytes.fromhex(card.commitment.removeprefix("0x"))
    infos = [reg.get_model(i) for i in reg.models_of(commitment)]
    return [m.model_id for m in infos if m.owner.lower() == owner.lower() and m.active]


def _chain_model(reg: RegistryClient, card: ModelCard, ids: list[int]) -> ChainModel:
    newest = ids[-1]
    mode = MODE_NAMES[reg.mode_of(newest)]
    # The executor cannot prove, and the prover cannot trace: a card and a registration that
    # disagree on optimistic-or-zk would promise evidence this gateway cannot make.
    if (mode == "optimistic") != (card.mode == "optimistic"):
        raise ChainError(
            f"{card.name} is {card.mode} here but registered as {mode} (model id {newest}); "
            "register it again in its card's mode (`verinfer models register`)"
        )
    # Only ids in the served mode: a paid request is answered with that mode's evidence.
    same = tuple(i for i in ids if i == newest or MODE_NAMES[reg.mode_of(i)] == mode)
    fee = reg.get_model(newest).fee
    return ChainModel(card.name, newest, mode, fee, reg.min_bond_of(newest), same)


def resolve_models(
    reg: RegistryClient, owner: str, cards: Mapping[str, ModelCard]
) -> dict[str, ChainModel]:
    """The served models ``owner`` registered (newest active id each), unregistered ones not."""
    out = {}
    for name, card in cards.items():
        ids = _ours(reg, owner, card)
        if ids:
            out[name] = _chain_model(reg, card, ids)
    return out


def connect_chain(opts: ChainOptions, cards: Mapping[str, ModelCard]) -> ChainLink:
    """Connect, check the chain id, load the signer and find the served models' ids."""
    session = connect_session(opts, signer=True)
    link = ChainLink(session.w3, session.dep, session.need_signer(), session.store)
    link.models = resolve_models(link.registry(), link.address, cards)
    return link


def served_cards(cards: Mapping[str, ModelCard], link: ChainLink | None) -> dict[str, ModelCard]:
    """Each card with the mode it is registered in (a zk card registered on demand, say)."""
    if link is None:
        return dict(cards)
    out = {}
    for name, card in cards.items():
        m = link.models.get(name)
        out[name] = card if m is None else card.model_copy(update={"mode": m.mode})
    return out
