"""Jobs: the store every accepted request is persisted in, and the workers that run them.

- ``store``: ``JobStore`` (SQLAlchemy: SQLite WAL by default, any URL such as PostgreSQL).
- ``worker``: ``JobWorker``, admission (bounded queue), supervised runner threads, retries.
- ``pool``: the ``WorkerPool`` seam; ``ProcessPool`` (worker processes) and ``InlinePool``;
  ``follow`` (a task's outcome, cut at the task timeout).
- ``queue``: ``WorkQueue``, the bounded queue of ids (the claim service's too).
- ``txn``: ``Transactions``, the stores' one transaction runner (lock, retries, errors).
- ``tasks``: what runs inside a worker process (``TASKS``, loaded backends, ``Outcome``).

Usage::

    pool = ProcessPool(load_worker_backend, ["digits-mlp"])
    worker = JobWorker(JobStore(url), pool, served={"digits-mlp"})
    worker.start()
"""

from api.jobs.pool import InlinePool, ProcessPool, WorkerLost, WorkerPool, follow
from api.jobs.queue import WorkQueue
from api.jobs.store import Job, JobStore, Status
from api.jobs.tasks import Outcome, ProveBackend
from api.jobs.txn import Transactions
from api.jobs.worker import JobWorker

__all__ = [
    "InlinePool",
    "Job",
    "JobStore",
    "JobWorker",
    "Outcome",
    "ProcessPool",
    "ProveBackend",
    "Status",
    "Transactions",
    "WorkQueue",
    "WorkerLost",
    "WorkerPool",
    "follow",
]
