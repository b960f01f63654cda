"""``POST /v2/models/{name}/infer``: JSON or binary tensors, with or without Content-Type.

The body is read raw, never through a body model: Triton's client sends no Content-Type, and
decoding is bounded (size, depth) in ``api.oip``. The work runs in a thread so that the event
loop keeps answering while a model predicts.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

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
        answer = await run_in_threadpool(run_inference, gw, name, raw)
    headers = {} if answer.header_length is None else {HEADER_LENGTH: str(answer.header_length)}
    return Response(answer.body, media_type=answer.content_type, headers=headers)


add_model_route(
    router,
    "POST",
    "/infer",
    infer,
    responses={**INFER_OK, **error_responses(404, 413, 415, 422, 429, 500, 503)},
    openapi_extra=INFER_BODY,
)
