"""A model route twice: ``/v2/models/{name}/…`` and ``…/versions/{version}/…`` (OIP paths).

OIP clients address a model with or without a version; the gateway serves version "1" of
each model, and any other version is a 404 naming the one it serves.

Usage::

    add_model_route(router, "GET", "/ready", model_ready, responses=...)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Path

from api.deps import Gateway

__all__ = ["add_model_route"]


def _versioned(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` with a ``version`` path parameter, checked before it runs."""
    sig = inspect.signature(endpoint, eval_str=True)
    version = inspect.Parameter(
        "version",
        inspect.Parameter.KEYWORD_ONLY,
        annotation=str,
        default=Path(description='the model version; this gateway serves "1"'),
    )
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in sig.parameters.values()]

    def check(kw: dict[str, Any]) -> None:
        gw: Gateway = kw["gw"]
        gw.check_version(kw["name"], kw.pop("version"))

    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def async_wrapper(**kw: Any) -> Any:
            check(kw)
            return await endpoint(**kw)

        wrapper: Callable[..., Any] = async_wrapper
    else:

        @functools.wraps(endpoint)
        def sync_wrapper(**kw: Any) -> Any:
            check(kw)
            return endpoint(**kw)

        wrapper = sync_wrapper
    wrapper.__signature__ = sig.replace(parameters=[*params, version])  # type: ignore[attr-defined]
    return wrapper


def add_model_route(
    router: APIRouter, method: str, suffix: str, endpoint: Callable[..., Any], **kw: Any
) -> None:
    """Add ``endpoint`` at the model path with ``suffix``, and at its versioned twin."""
    base = "/v2/models/{name}"
    router.add_api_route(base + suffix, endpoint, methods=[method], **kw)
    versioned = _versioned(endpoint)
    name = f"{endpoint.__name__}_versioned"
    router.add_api_route(
        f"{base}/versions/{{version}}{suffix}", versioned, methods=[method], name=name, **kw
    )
