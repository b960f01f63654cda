"""What the OpenAPI document says beyond the routes' types: error bodies and the raw infer body.

The infer route reads its body itself (bounded size and depth, and clients such as Triton's
send no Content-Type), so its request and response bodies are declared here: JSON, or a JSON
header followed by raw tensors (``application/octet-stream``, Triton's binary extension).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.schemas import ErrorBody, InferRequest, InferResponse

__all__ = ["INFER_BODY", "INFER_OK", "error_responses", "install_schemas"]

_REF = "#/components/schemas/{model}"
_WHY = {
    404: "unknown model, version or proof",
    413: "body over VERINFER_MAX_BODY_BYTES (also after decompression)",
    415: "a Content-Encoding other than gzip, deflate or identity",
    422: "malformed request or input (the error says what and how to fix it)",
    429: "too many infer requests in flight (Retry-After says when to retry)",
    500: "the model or its prover failed (the error gives the reason)",
    503: "overloaded, store busy or not ready (Retry-After says when to retry)",
}
_BINARY = {
    "schema": {"type": "string", "format": "binary"},
    "description": "the JSON header, then each binary tensor's raw little-endian bytes",
}
INFER_BODY: dict[str, Any] = {
    "parameters": [
        {
            "name": "Inference-Header-Content-Length",
            "in": "header",
            "required": False,
            "schema": {"type": "integer", "minimum": 1},
            "description": "byte length of the JSON header when binary tensors follow it",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": _REF.format(model="InferRequest")}},
            "application/octet-stream": _BINARY,
        },
    },
}
INFER_OK: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "outputs (JSON, or a JSON header then binary outputs) and the evidence",
        "model": InferResponse,
        "content": {"application/octet-stream": _BINARY},
        "headers": {
            "Inference-Header-Content-Length": {
                "schema": {"type": "integer"},
                "description": "byte length of the JSON header, when some output is binary",
            }
        },
    }
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these status codes, each with the ``{"error": ...}`` body."""
    return {code: {"model": ErrorBody, "description": _WHY[code]} for code in codes}


def install_schemas(app: FastAPI) -> None:
    """Add InferRequest (and what it references) to the components of ``app``'s document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        extra = InferRequest.model_json_schema(ref_template=_REF)
        schemas.update(extra.pop("$defs", {}))
        schemas["InferRequest"] = extra
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
