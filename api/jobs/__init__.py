"""Jobs: the store every accepted request is persisted in, and the workers that run them.

- ``store``: ``JobStore`` (SQLAlchemy: SQLite WAL by default, any URL such as PostgreSQL).
- ``worker``: ``JobWorker``, admission (bounded queue), supervised runner threads, retries.
- ``pool``: the ``WorkerPool`` seam; ``ProcessPool`` (worker processes) and ``InlinePool``.
- ``tasks``: what runs inside a worker process (``TASKS``, loaded backends, ``Outcome``).

Usage::

    pool = ProcessPool(load_worker_backend, ["digits-mlp"])
    worker = JobWorker(JobStore(url), pool, served={"digits-mlp"})
    worker.start()
"""

from api.jobs.pool import InlinePool, ProcessPool, WorkerLost, WorkerPool
from api.jobs.store import Job, JobStore, Status
from api.jobs.tasks import Outcome, ProveBackend
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
    "WorkerLost",
    "WorkerPool",
]
