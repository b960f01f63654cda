"""The gateway (Open Inference Protocol, verification in ``parameters``), its jobs, and the CLI.

Layout (like the FastAPI full-stack template's backend):

- ``app``: ``create_app(gw)``: middleware, error handlers, the routers.
- ``deps``: ``Gateway`` (store, backends, cards, job worker, limits, metrics, stats) and the
  ``GatewayDep`` dependency the routes take it by.
- ``routes/``: a router per resource: ``server`` (health, ``/v2``, repository index),
  ``models`` (metadata, ready, config, stats), ``infer``, ``proofs``, ``metrics``. A claims
  router goes beside them and into ``routes.ROUTERS``.
- ``schemas/``: OIP bodies (``oip``: flat ``parameters``) and the server endpoints' bodies.
- ``oip/``: the protocol codec: datatypes, the binary tensor extension, input decoding and
  checking against the model card, output encoding.
- ``inference``: one infer request end to end; ``EVIDENCE`` maps a model's mode to what makes
  its answer durable (a proof job for "zk"; optimistic claims add an entry).
- ``jobs/``: the store (``JobStore``), the ``JobWorker`` (bounded admission, runner threads,
  retries) and the ``WorkerPool`` seam: ``ProcessPool`` proves in worker processes, loaded
  once each (``tasks.TASKS`` names what a worker can run; a Ray pool can replace it).
- ``backends``: the server-side ``Backend`` protocol and the EZKL ``ProverBackend``.
- ``modes/``: optimistic and zk-on-demand answers (``ExecutorBackend``, ``ClaimService``, the
  claim store and their ``EVIDENCE`` entries); ``chain/``: the fulfiller that settles them.
- ``metrics`` (Prometheus, with hooks for traces, claims and gas), ``stats`` (Triton's
  statistics), ``logs`` (JSON lines with the request id), ``middleware``, ``limits``.
- ``serve`` (build the gateway from the registry; ``ServerThread``), ``cli``, ``demo``.

Usage::

    from api import create_app, Gateway
    app = create_app(build_gateway(["digits-mlp"]))
"""

from typing import Any

import verinfer  # noqa: F401  - first: undoes py_ecc's recursion limit (verinfer/__init__)

__all__ = ["Gateway", "create_app"]


def __getattr__(name: str) -> Any:
    # Lazy: `verinfer watch` and the worker processes import api.* without the web stack.
    if name == "create_app":
        from api.app import create_app

        return create_app
    if name == "Gateway":
        from api.deps import Gateway

        return Gateway
    raise AttributeError(f"module 'api' has no attribute {name!r}")
