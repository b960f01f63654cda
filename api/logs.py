"""Structured logs: one JSON object per line, with the request (or job) id in every line.

The ids travel in context variables, which Starlette's thread pool and the job runners carry,
so a line logged deep inside a request names the request. Secrets never reach a log line:
nothing here logs settings, headers or bodies, and callers log ids, models and reasons only.

Usage::

    configure_logging("INFO")
    with request_context("3f2a…"):
        logging.getLogger("api").info("accepted")  # {"ts":…,"level":"INFO",…,"request_id":"3f2a…"}
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = [
    "JsonFormatter",
    "configure_logging",
    "job_context",
    "request_context",
    "request_id",
]

_request_id: ContextVar[str | None] = ContextVar("verinfer_request_id", default=None)
_job_id: ContextVar[str | None] = ContextVar("verinfer_job_id", default=None)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return _request_id.get()


@contextmanager
def request_context(rid: str) -> Iterator[None]:
    """Every log line inside carries ``request_id``."""
    token = _request_id.set(rid)
    try:
        yield
    finally:
        _request_id.reset(token)


@contextmanager
def job_context(job_id: str) -> Iterator[None]:
    """Every log line inside carries ``job_id``."""
    token = _job_id.set(job_id)
    try:
        yield
    finally:
        _job_id.reset(token)


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time, level, logger, message, ids, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _request_id.get(),
        }
        if (job := _job_id.get()) is not None:
            doc["job_id"] = job
        doc.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the root logger (uvicorn's loggers propagate to it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # api.middleware logs each request
