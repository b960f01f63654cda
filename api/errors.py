"""Errors of the gateway and CLI.

VerinferError
└── ApiError
    ├── BadRequestError   (input of the wrong shape, dtype or value: HTTP 400/422)
    ├── NotFoundError     (unknown model, proof or job: HTTP 404)
    ├── PayloadTooLarge   (the body is over VERINFER_MAX_BODY_BYTES: HTTP 413)
    ├── UnsupportedMediaType  (a Content-Encoding it cannot decode: HTTP 415)
    ├── TooManyRequests   (over VERINFER_MAX_INFLIGHT infers in flight: HTTP 429 + Retry-After)
    ├── OverloadedError   (the proving queue is full: HTTP 503 + Retry-After)
    ├── BackendError      (the model's backend failed on a valid input: HTTP 500)
    └── StoreError        (the job store could not persist or read: HTTP 503)
        └── StoreBusyError  (it stayed locked or unreachable through every retry: + Retry-After)
"""

from __future__ import annotations

from verinfer.errors import VerinferError

__all__ = [
    "ApiError",
    "BackendError",
    "BadRequestError",
    "NotFoundError",
    "OverloadedError",
    "PayloadTooLarge",
    "StoreBusyError",
    "StoreError",
    "TooManyRequests",
    "UnsupportedMediaType",
]


class ApiError(VerinferError):
    """An error the gateway turns into an HTTP status with an ``{"error": ...}`` body."""

    status_code = 500
    retry_after = False  # whether the answer carries Retry-After (the client may try again)


class BadRequestError(ApiError):
    status_code = 422


class NotFoundError(ApiError):
    status_code = 404


class PayloadTooLarge(ApiError):
    status_code = 413


class UnsupportedMediaType(ApiError):
    status_code = 415


class TooManyRequests(ApiError):
    status_code = 429
    retry_after = True


class OverloadedError(ApiError):
    status_code = 503
    retry_after = True


class BackendError(ApiError):
    status_code = 500


class StoreError(ApiError):
    status_code = 503


class StoreBusyError(StoreError):
    retry_after = True
