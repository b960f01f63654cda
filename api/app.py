"""The FastAPI gateway (Open Inference Protocol shapes, verification in ``parameters``).

Usage::

    app = create_app(Gateway(store, {"digits-mlp": backend}, cards))
    # uvicorn.run(app)  — or `verinfer serve`
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ApiError, NotFoundError
from api.schemas import InferOutput, InferRequest, InferResponse, ModelMetadata, TensorMetadata
from api.store import Job, JobStore
from api.validation import parse_input
from api.worker import ProofWorker, ZkBackend
from models.card import ModelCard

PROOF_TIMEOUT_HINT_S = 30


@dataclass
class Gateway:
    """Everything the routes need: store, zk backends, model cards, the proof worker."""

    store: JobStore
    backends: dict[str, ZkBackend]
    cards: dict[str, ModelCard]
    worker: ProofWorker = field(init=False)
    dev_srs: bool = True

    def __post_init__(self) -> None:
        self.worker = ProofWorker(self.store, self.backends)

    def card(self, name: str) -> ModelCard:
        if name not in self.cards or name not in self.backends:
            known = ", ".join(sorted(self.backends)) or "none"
            raise NotFoundError(f"unknown model {name!r}; served models: {known}")
        return self.cards[name]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "invalid request body: " + "; ".join(parts)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status_code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))


def _metadata(gw: Gateway, card: ModelCard) -> ModelMetadata:
    def tensors(specs: Any) -> list[TensorMetadata]:
        return [TensorMetadata(name=s.name, datatype="FP32", shape=s.shape) for s in specs]

    return ModelMetadata(
        name=card.name,
        versions=["1"],
        platform="onnx",
        inputs=tensors(card.inputs),
        outputs=tensors(card.outputs),
        parameters={
            "verification": card.mode,
            "model_commitment": card.commitment,
            "metrics": card.metrics,
            "dev_srs": gw.dev_srs,
        },
    )


def _infer(gw: Gateway, name: str, req: InferRequest) -> InferResponse:
    card = gw.card(name)
    x = parse_input(req, card.inputs[0])
    outputs = gw.backends[name].predict(x)
    # Persisted before the response is sent: an acknowledged request survives a crash.
    job = gw.store.create(name, card.commitment, x.ravel().tolist(), outputs)
    gw.worker.submit(job.id)
    out = card.outputs[0]
    return InferResponse(
        model_name=name,
        model_version="1",
        id=req.id or job.id,
        outputs=[InferOutput(name=out.name, shape=out.shape, datatype="FP32", data=outputs)],
        parameters={
            "verification": "zk",
            "model_commitment": card.commitment,
            "proof_id": job.id,
            "proof_url": f"/v2/models/{name}/proofs/{job.id}",
        },
    )


def _proof_body(gw: Gateway, job: Job) -> tuple[int, dict[str, Any]]:
    base: dict[str, Any] = {
        "proof_id": job.id,
        "model": job.model,
        "model_commitment": job.commitment,
        "status": job.status,
    }
    if job.status == "done":
        return 200, {**base, **(job.proof or {})}
    if job.status == "failed":
        return 500, {"error": f"proving failed: {job.error}", **base}
    position = gw.worker.queue_position(job.id)
    started = gw.worker.started_at if position == 0 else None
    elapsed = round(time.monotonic() - started, 2) if started else None
    return 202, {**base, "queue_position": position, "proving_for_s": elapsed, "retry_after_s": 1}


def _install_routes(app: FastAPI, gw: Gateway) -> None:
    @app.get("/v2/health/live")
    def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    def ready() -> dict[str, bool]:
        return {"ready": bool(gw.backends)}

    @app.get("/v2")
    def server() -> dict[str, Any]:
        return {
            "name": "verinfer",
            "version": "0.1.0",
            "extensions": ["verification"],
            "models": sorted(gw.backends),
        }

    @app.get("/v2/models/{name}")
    def metadata(name: str) -> ModelMetadata:
        return _metadata(gw, gw.card(name))

    @app.get("/v2/models/{name}/ready")
    def model_ready(name: str) -> dict[str, Any]:
        gw.card(name)
        return {"name": name, "ready": True}

    @app.post("/v2/models/{name}/infer")
    def infer(name: str, req: InferRequest) -> InferResponse:
        return _infer(gw, name, req)

    @app.get("/v2/models/{name}/proofs/{proof_id}")
    def proof(name: str, proof_id: str) -> JSONResponse:
        gw.card(name)
        job = gw.store.get(proof_id)
        if job.model != name:
            raise NotFoundError(f"proof {proof_id!r} belongs to model {job.model!r}, not {name!r}")
        status, body = _proof_body(gw, job)
        return JSONResponse(status_code=status, content=body)


def create_app(gw: Gateway) -> FastAPI:
    """The gateway app; the proof worker starts and stops with it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        gw.worker.start()
        yield
        gw.worker.stop()

    app = FastAPI(title="verinfer gateway", version="0.1.0", lifespan=lifespan)
    _install_error_handlers(app)
    _install_routes(app, gw)
    return app
