"""Work an infer request sets off, run once its answer has left: ``defer`` and ``collecting``.

Waking a runner thread the moment a job is queued made it fight the event loop for the GIL
(store reads, pickling, the pool's pipes) exactly while the answer was being sent: about a
millisecond per answer (bench/gateway.py). The row is persisted before the answer either way;
only the in-memory hand-off waits. Outside a request (the fulfiller, tests) ``defer`` runs at
once. If the process dies in between, the persisted row is re-queued at start-up as after any
crash.

Usage::

    with collecting() as later:
        answer = await run_in_threadpool(run_inference, gw, name, raw)  # calls defer(...)
    ...  # write the answer, then (finally) later.run(): api.routes.infer's response does it
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["Deferred", "collecting", "defer"]

log = logging.getLogger(__name__)


class Deferred:
    """The actions deferred by one request, run once each."""

    def __init__(self) -> None:
        self._actions: list[Callable[[], None]] = []

    def add(self, action: Callable[[], None]) -> None:
        self._actions.append(action)

    def run(self) -> None:
        """Run every action (a failing one is logged; the others still run)."""
        actions, self._actions = self._actions, []
        for action in actions:
            try:
                action()
            except Exception:
                log.exception("a deferred hand-off failed; its row is re-queued at restart")


_current: contextvars.ContextVar[Deferred | None] = contextvars.ContextVar(
    "verinfer_deferred", default=None
)


def defer(action: Callable[[], None]) -> None:
    """Run ``action`` after the current request's answer is sent (at once outside a request)."""
    later = _current.get()
    if later is None:
        action()
    else:
        later.add(action)


@contextmanager
def collecting() -> Iterator[Deferred]:
    """Collect what ``defer`` is given in this context (threads started from it included)."""
    later = Deferred()
    token = _current.set(later)
    try:
        yield later
    finally:
        _current.reset(token)
