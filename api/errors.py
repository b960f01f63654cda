"""Errors of the gateway and CLI.

VerinferError
└── ApiError
    ├── BadRequestError   (input of the wrong shape, dtype or value: HTTP 400/422)
    ├── NotFoundError     (unknown model, proof or job: HTTP 404)
    ├── PayloadTooLarge   (the body is over VERINFER_MAX_BODY_BYTES: HTTP 413)
    ├── OverloadedError   (the proving queue is full: HTTP 503 + Retry-After)
    └── StoreError        (the job store could not persist or read: HTTP 503)
        └── StoreBusyError  (it stayed locked or unreachable through every retry: + Retry-After)
"""

from __future__ import annotations

from verinfer.errors import VerinferError


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


class OverloadedError(ApiError):
    status_code = 503
    retry_after = True


class StoreError(ApiError):
    status_code = 503


class StoreBusyError(StoreError):
    retry_after = True
