"""The bounded in-memory queue of work ids behind the job worker and the claim service.

The persisted row is the truth; this queue only orders the ids to run. Admission is bounded
before anything is persisted: ``reserve`` holds a slot (or refuses with OverloadedError, HTTP
503), the row is written, then ``put`` consumes the slot, or ``release`` gives it back when
writing failed. So a full queue never half-accepts a request.

Usage::

    q = WorkQueue(256, "the proving queue", "jobs")
    q.reserve(); store.create(...); q.put(job_id, reserved=True)
    job_id = q.take(stopping)          # blocks; None once ``stopping`` is set
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from api.errors import OverloadedError

__all__ = ["WorkQueue"]

WAKE_S = 1.0  # a waiting runner re-checks ``stopping`` at least this often


class WorkQueue:
    """Ids waiting to run, at most ``max_size`` of them counting reserved slots."""

    def __init__(self, max_size: int, name: str, unit: str) -> None:
        self.max_size, self.name, self.unit = max_size, name, unit
        self._items: deque[str] = deque()
        self._reserved = 0
        self._cv = threading.Condition()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def reserved(self) -> int:
        """Slots held by requests being persisted now."""
        return self._reserved

    def reserve(self) -> None:
        """Hold a slot for an id about to be persisted; OverloadedError when full."""
        with self._cv:
            if len(self._items) + self._reserved >= self.max_size:
                raise OverloadedError(
                    f"{self.name} is full ({self.max_size} {self.unit}); retry shortly"
                )
            self._reserved += 1

    def release(self) -> None:
        """Give back a slot whose id was not persisted."""
        with self._cv:
            self._reserved = max(0, self._reserved - 1)

    def put(self, item: str, reserved: bool = False) -> None:
        """Queue ``item`` at the back (once), consuming its reserved slot if it had one."""
        with self._cv:
            if reserved:
                self._reserved = max(0, self._reserved - 1)
            if item not in self._items:
                self._items.append(item)
            self._cv.notify()

    def extend(self, items: Iterable[str]) -> None:
        """Queue the ids found unfinished at start-up (those not queued already)."""
        with self._cv:
            queued = set(self._items)
            self._items.extend(i for i in items if i not in queued)
            self._cv.notify_all()

    def put_front(self, items: Iterable[str]) -> None:
        """Put ids back at the head (a runner crashed under them: they go first)."""
        with self._cv:
            self._items.extendleft(items)
            self._cv.notify()

    def take(self, stopping: threading.Event) -> str | None:
        """The next id, waiting for one; None once ``stopping`` is set."""
        with self._cv:
            while not self._items and not stopping.is_set():
                self._cv.wait(WAKE_S)
            return None if stopping.is_set() else self._items.popleft()

    def wake_all(self) -> None:
        """Wake every waiting runner (to see ``stopping``)."""
        with self._cv:
            self._cv.notify_all()

    def position(self, item: str) -> int:
        """n when ``item`` is n-th in line (1 = next), -1 when not queued."""
        with self._cv:
            items = list(self._items)
        return items.index(item) + 1 if item in items else -1
