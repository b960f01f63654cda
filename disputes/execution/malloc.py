"""Keep the executor's big temporaries on the heap instead of fresh mmaps (glibc only).

glibc serves large allocations with a new ``mmap`` and unmaps them on ``free``, so each step's
MB-sized int64 temporaries page-fault again on first touch (measured on a 128×1536 product's
rounding: 3.1 ms with the default, 0.5 ms on the heap). Raising the mmap threshold and the trim
threshold once lets NumPy reuse freed heap memory. Process-wide; ``VERINFER_MALLOC_TUNE=0``
leaves malloc alone.

Usage::

    from disputes.execution.malloc import keep_heap
    keep_heap()   # True when glibc accepted the settings
"""

from __future__ import annotations

import ctypes
import functools
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest accepted value on 64-bit


@functools.lru_cache(maxsize=1)
def keep_heap() -> bool:
    """Raise glibc's mmap and trim thresholds once; False where that is not possible."""
    if os.environ.get("VERINFER_MALLOC_TUNE", "1") == "0":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return ok and bool(mallopt(M_TRIM_THRESHOLD, 8 * MMAP_THRESHOLD) == 1)
