"""The gateway on chain: its connection and served model ids, the request follower, the fulfiller.

- ``link``: ``connect_chain`` (deployment, chain id check, signer, dispute store, the signer's
  ids of each served model and their registered mode), ``served_cards``, ``state_of``.
- ``follow``: request events for the gateway's models, into claim rows (block cursor kept).
- ``fulfiller``: ``Fulfiller``, which posts, fulfils, proves, finalizes and defends, every
  transaction written ahead through the dispute ``Outbox``.
- ``batching``: ``Batcher``, the fulfiller's optimistic claims in one ``claimBatch``.

Usage::

    link = connect_chain(ChainOptions(url, key, None, None, deployment, None), cards)
    ClaimService.attach(gw, link)          # starts the fulfiller with the gateway
"""

from api.chain.batching import Batcher
from api.chain.fulfiller import Fulfiller, PassReport
from api.chain.link import (
    ChainLink,
    ChainModel,
    ChainOptions,
    connect_chain,
    served_cards,
    state_of,
)

__all__ = [
    "Batcher",
    "ChainLink",
    "ChainModel",
    "ChainOptions",
    "Fulfiller",
    "PassReport",
    "connect_chain",
    "served_cards",
    "state_of",
]
