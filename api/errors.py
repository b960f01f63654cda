"""Errors of the gateway and CLI.

VerinferError
└── ApiError
    ├── BadRequestError   (input of the wrong shape, dtype or value: HTTP 400/422)
    ├── NotFoundError     (unknown model, proof or job: HTTP 404)
    └── StoreError        (the job store could not persist or read)
"""

from __future__ import annotations

from verinfer.errors import VerinferError


class ApiError(VerinferError):
    """An error the gateway turns into an HTTP status with an ``{"error": ...}`` body."""

    status_code = 500


class BadRequestError(ApiError):
    status_code = 422


class NotFoundError(ApiError):
    status_code = 404


class StoreError(ApiError):
    status_code = 503
