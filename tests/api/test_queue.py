"""The bounded work queue behind the job worker and the claim service."""

from __future__ import annotations

import threading

import pytest

from api.errors import OverloadedError
from api.jobs.queue import WorkQueue


def test_reserved_slots_count_against_the_bound_and_come_back() -> None:
    q = WorkQueue(2, "the proving queue", "jobs")
    q.reserve()
    q.put("a", reserved=True)
    q.reserve()
    with pytest.raises(OverloadedError, match=r"the proving queue is full \(2 jobs\)"):
        q.reserve()
    q.release()  # the second request was not persisted after all
    q.reserve()
    assert (len(q), q.reserved) == (1, 1)


def test_order_dedup_head_requeue_and_positions() -> None:
    q = WorkQueue(8, "the tracing queue", "claims")
    q.extend(["a", "b"])
    q.put("b")  # already queued: once
    q.extend(["b", "c"])
    q.put_front(["z"])  # a crashed runner's item goes first
    assert [q.position(i) for i in ("z", "a", "b", "c", "nope")] == [1, 2, 3, 4, -1]
    stop = threading.Event()
    assert [q.take(stop) for _ in range(4)] == ["z", "a", "b", "c"]


def test_take_returns_none_once_stopping() -> None:
    q = WorkQueue(1, "q", "items")
    stop = threading.Event()
    got: list[str | None] = []
    t = threading.Thread(target=lambda: got.append(q.take(stop)))
    t.start()
    stop.set()
    q.wake_all()
    t.join(5)
    assert got == [None] and not t.is_alive()
