"""The FastAPI gateway: middleware, error handlers and the routers, around one ``Gateway``.

Usage::

    app = create_app(Gateway(store, {"digits-mlp": backend}, cards))
    # uvicorn.run(app)  — or `verinfer serve`
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import VERSION, Gateway
from api.errors import ApiError
from api.limits import BodyLimit
from api.middleware import RequestContext
from api.oip.inputs import validation_message
from api.openapi import install_schemas
from api.routes import ROUTERS
from verinfer import cap_recursion_limit

__all__ = ["Gateway", "create_app"]

log = logging.getLogger(__name__)


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

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        rid = getattr(request.state, "request_id", None)
        log.error("unhandled error", exc_info=exc, extra={"request_id": rid})
        return _error(500, f"internal error ({type(exc).__name__}); request id {rid}")


def create_app(gw: Gateway) -> FastAPI:
    """The gateway app; the job worker (and its worker processes) start and stop with it."""
    cap_recursion_limit()  # in case something imported py_ecc before verinfer could undo it

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        gw.worker.start()
        if gw.claims is not None:
            gw.claims.start()  # after the worker: its traces run on the worker's pool
        yield
        if gw.claims is not None:
            gw.claims.stop()
        gw.worker.stop()

    app = FastAPI(title="verinfer gateway", version=VERSION, lifespan=lifespan)
    app.state.gateway = gw
    app.add_middleware(BodyLimit, max_bytes=gw.max_body_bytes)
    app.add_middleware(RequestContext, metrics=gw.metrics)  # added last: outermost
    _install_error_handlers(app, gw)
    for router in ROUTERS:
        app.include_router(router)
    install_schemas(app)
    return app
