"""``POST /v2/models/{name}/infer``: JSON or binary tensors, with or without Content-Type.

The body is read raw, never through a body model: Triton's client sends no Content-Type, and
decoding is bounded (size, depth) in ``api.oip``. The work runs in a thread so that the event
loop keeps answering while a model predicts; the background work it queues is handed over once
the answer has been written (``api.deferred``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from api.deferred import Deferred, collecting
from api.deps import GatewayDep
from api.inference import RawInfer, run_inference
from api.oip.binary import HEADER_LENGTH
from api.openapi import INFER_BODY, INFER_OK, error_responses
from api.routes.versions import add_model_route

__all__ = ["router"]

router = APIRouter(tags=["inference"])


async def infer(name: str, request: Request, gw: GatewayDep) -> Response:
    gw.card(name)  # 404 before the body is read
    with gw.slot():
        body = await request.body()
        raw = RawInfer(
            body,
            header_length=request.headers.get(HEADER_LENGTH),
            content_encoding=request.headers.get("content-encoding"),
        )
        with collecting() as later:
            try:
                answer = await run_in_threadpool(run_inference, gw, name, raw)
            except BaseException:
                later.run()  # what was persisted before the failure is queued all the same
                raise
    headers = {} if answer.header_length is None else {HEADER_LENGTH: str(answer.header_length)}
    return _ThenResponse(answer.body, media_type=answer.content_type, headers=headers, then=later)


class _ThenResponse(Response):
    """A response that hands over its request's deferred work once its last byte is written.

    Not a background task: those are skipped when the client has gone, and the work was
    accepted. Not a loop callback: the loop runs those between the header and body writes.
    """

    def __init__(self, *args: Any, then: Deferred, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.then = then

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.then.run()


add_model_route(
    router,
    "POST",
    "/infer",
    infer,
    responses={**INFER_OK, **error_responses(404, 413, 415, 422, 429, 500, 503)},
    openapi_extra=INFER_BODY,
)
