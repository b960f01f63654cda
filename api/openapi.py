"""What the OpenAPI document says beyond the routes' types: error bodies and the raw infer body.

The infer route reads its body itself (bounded size and depth, and clients such as Triton's
send no Content-Type), so its request schema is declared here.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.schemas import ErrorBody, InferRequest

_REF = "#/components/schemas/{model}"
_WHY = {
    404: "unknown model or proof",
    413: "body over VERINFER_MAX_BODY_BYTES",
    422: "malformed request or input (the error says what and how to fix it)",
    500: "proving failed (the error gives the reason)",
    503: "overloaded, store busy or not ready (Retry-After says when to retry)",
}
INFER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="InferRequest")}}},
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
