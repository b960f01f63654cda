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
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ApiError, NotFoundError
from api.limits import BodyLimit
from api.openapi import INFER_BODY, error_responses, install_schemas
from api.schemas import InferOutput, InferResponse, ModelMetadata, TensorMetadata
from api.store import Job, JobStore
from api.validation import parse_input, parse_request, validation_message
from api.worker import ProofWorker, ZkBackend
from models.card import ModelCard
from verinfer import cap_recursion_limit

PROOF_TIMEOUT_HINT_S = 30


@dataclass
class Gateway:
    """Everything the routes need: store, zk backends, model cards, the proof worker, limits."""

    store: JobStore
    backends: dict[str, ZkBackend]
    cards: dict[str, ModelCard]
    worker: ProofWorker = field(init=False)
    dev_srs: bool = True
    max_queue: int = 256
    max_body_bytes: int = 4 << 20
    retry_after_s: int = 2

    def __post_init__(self) -> None:
        self.worker = ProofWorker(self.store, self.backends, self.max_queue)

    def card(self, name: str) -> ModelCard:
        if name not in self.cards or name not in self.backends:
            known = ", ".join(sorted(self.backends)) or "none"
            raise NotFoundError(f"unknown model {name!r}; served models: {known}")
        return self.cards[name]


def _error(status: int, message: str, retry_after: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return JSONResponse(status_code=status, content={"error": message}, headers=headers)


def _install_error_handlers(app: FastAPI, gw: Gateway) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status_code, str(exc), gw.retry_after_s if exc.retry_after else None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, validation_message(exc.errors()))

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


def _infer(gw: Gateway, name: str, body: bytes) -> InferResponse:
    card = gw.card(name)
    req = parse_request(body, gw.max_body_bytes)
    x = parse_input(req, card.inputs[0])
    outputs = gw.backends[name].predict(x)
    gw.worker.reserve()  # refused (503) before anything is persisted when the queue is full
    try:
        # Persisted before the response is sent: an acknowledged request survives a crash.
        job = gw.store.create(name, card.commitment, x.ravel().tolist(), outputs)
    except BaseException:
        gw.worker.release()
        raise
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


def _readiness(gw: Gateway) -> JSONResponse:
    if not gw.backends:
        return JSONResponse(status_code=503, content={"ready": False, "error": "no models"})
    if not gw.worker.alive:
        reason = "the proof worker is not running; accepted jobs wait until it is"
        return JSONResponse(status_code=503, content={"ready": False, "error": reason})
    return JSONResponse(content={"ready": True})


def _install_routes(app: FastAPI, gw: Gateway) -> None:
    @app.get("/v2/health/live")
    def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready", responses=error_responses(503))
    def ready() -> JSONResponse:
        return _readiness(gw)

    @app.get("/v2")
    def server() -> dict[str, Any]:
        return {
            "name": "verinfer",
            "version": "0.1.0",
            "extensions": ["verification"],
            "models": sorted(gw.backends),
        }

    @app.get("/v2/models/{name}", responses=error_responses(404))
    def metadata(name: str) -> ModelMetadata:
        return _metadata(gw, gw.card(name))

    @app.get("/v2/models/{name}/ready", responses=error_responses(404, 503))
    def model_ready(name: str) -> JSONResponse:
        gw.card(name)
        return _readiness(gw)

    @app.post(
        "/v2/models/{name}/infer",
        responses=error_responses(404, 413, 422, 503),
        openapi_extra=INFER_BODY,
    )
    async def infer(name: str, request: Request) -> InferResponse:
        body = await request.body()  # raw: bounded decoding happens in parse_request
        return await run_in_threadpool(_infer, gw, name, body)

    @app.get(
        "/v2/models/{name}/proofs/{proof_id}",
        responses={202: {"description": "still proving"}, **error_responses(404, 500, 503)},
    )
    def proof(name: str, proof_id: str) -> JSONResponse:
        # A proof stays readable after a restart that stopped serving its model.
        job = gw.store.get(proof_id)
        if job.model != name:
            raise NotFoundError(f"proof {proof_id!r} belongs to model {job.model!r}, not {name!r}")
        status, body = _proof_body(gw, job)
        return JSONResponse(status_code=status, content=body)


def create_app(gw: Gateway) -> FastAPI:
    """The gateway app; the proof worker starts and stops with it."""
    cap_recursion_limit()  # in case something imported py_ecc before verinfer could undo it

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        gw.worker.start()
        yield
        gw.worker.stop()

    app = FastAPI(title="verinfer gateway", version="0.1.0", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=gw.max_body_bytes)
    _install_error_handlers(app, gw)
    _install_routes(app, gw)
    install_schemas(app)
    return app
