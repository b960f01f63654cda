"""Per request: an id (``X-Request-ID``), a latency observation and one JSON access-log line.

Outermost middleware, so the body limit's 413s and unhandled errors are timed and logged too.
A client's own ``X-Request-ID`` is kept only when it is short and plain: it is echoed in a
header and written to logs, where a long or odd one could forge or flood log lines.

Usage::

    app.add_middleware(RequestContext, metrics=gw.metrics)
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import request_context
from api.metrics import Metrics

__all__ = ["REQUEST_ID", "RequestContext"]

log = logging.getLogger("api.access")
REQUEST_ID = "x-request-id"
_PLAIN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == REQUEST_ID.encode():
            text = str(value.decode("latin-1"))
            if _PLAIN.fullmatch(text):
                return text
    return uuid.uuid4().hex


def _route(scope: Scope) -> str:
    route: Any = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


class RequestContext:
    """ASGI middleware: request id, latency histogram by route template, access log."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        # Also in the scope: the last-resort 500 handler runs outside this middleware.
        scope.setdefault("state", {})["request_id"] = rid
        status = [500]  # what an exception escaping the app becomes

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID.encode(), rid.encode())]
            await send(message)

        t0 = time.perf_counter()
        with request_context(rid):
            try:
                await self.app(scope, receive, sending)
            finally:
                self._record(scope, status[0], time.perf_counter() - t0)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = _route(scope)
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"  # bounded labels
        self.metrics.request(route, method, status, seconds)
        log.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={"status": status, "ms": round(seconds * 1000, 2), "route": route},
        )
