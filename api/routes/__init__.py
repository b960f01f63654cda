"""One router per resource; ``ROUTERS`` is the order ``create_app`` includes them in.

- ``server``: health, readiness, ``GET /v2``, ``POST /v2/repository/index``
- ``models``: metadata, ready, config, stats (each also under ``/versions/{version}``)
- ``infer``: ``POST /v2/models/{name}/infer``
- ``proofs``: ``GET /v2/models/{name}/proofs/{proof_id}``
- ``claims``: ``GET /v2/models/{name}/claims/{claim_id}`` (optimistic and on-demand claims)
- ``metrics``: ``GET /metrics``

A new resource (claims) is a module here with its ``router``, added to ``ROUTERS``.
"""

from fastapi import APIRouter

from api.routes import claims, infer, metrics, models, proofs, server

ROUTERS: list[APIRouter] = [
    server.router,
    models.router,
    infer.router,
    proofs.router,
    claims.router,
    metrics.router,
]

__all__ = ["ROUTERS"]
