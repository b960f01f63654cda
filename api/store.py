"""Where the job store used to live; it is ``api.jobs.store`` now (kept for old imports).

Usage::

    from api.store import JobStore  # same class as api.jobs.JobStore
"""

from api.jobs.store import TRANSIENT, Job, JobStore, Status

__all__ = ["TRANSIENT", "Job", "JobStore", "Status"]
