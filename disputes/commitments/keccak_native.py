"""Loader for the batched keccak256 C library (commitments/keccak_batch.c), compiled with gcc.

The library is built on first use (or by ``make native``) into ``<repo>/build/native/``, named
by a hash of the C source and flags so a stale build is never loaded. There is no silent Python
fallback: without a C compiler this raises :class:`~disputes.errors.MerkleError` saying so.
ctypes releases the GIL during each call, so big batches are split across threads.

Usage::

    from disputes.commitments.keccak_native import keccak256_many, leaf_hashes_i64, tensor_roots_i64
    digests = keccak256_many(b"", 0)            # (1, 32) uint8: keccak256 of the empty string
    roots = tensor_roots_i64([rows_a, rows_b])  # Merkle roots of 2-d int64 arrays, in C

Design
------
* **4-way AVX2.** ``keccak_f4`` runs keccak-f[1600] on 4 independent states at once: 25
  ``__m256i`` lanes, lane i of state j in 64-bit element j; rotations are shift/shift/or
  (rotations by 8 and 56 are one ``vpshufb``, by 1 an add), chi is ``vpandn``. All leaves of a
  tensor have the same length and nodes are all 65 bytes, so messages go 4 at a time; the < 4
  left over go through the scalar path. Compiled with ``__attribute__((target("avx2")))`` and
  chosen at run time by ``__builtin_cpu_supports``; the flags (CFLAGS) stay portable (no
  ``-march=native``), so one build dir serves any x86-64.
* **Scalar.** The permutation is fully unrolled with the 25 lanes in local variables (XKCP
  opt64 style), compiled twice: plain C ("portable") and with BMI1/BMI2 (``andn``, ``rorx``),
  which "scalar" uses when the CPU has them.
* **Fused packing.** A wide leaf is ``0x00 ‖ be64(row)`` and a node ``0x01 ‖ left ‖ right``:
  both are "a prefix byte and 8-byte words", so the lanes are built straight from the int64 row
  (or the child hashes): ``lane_k = (x_k << 8) | (x_{k-1} >> 56)``, ``x_k`` the byte-swapped
  int64. A narrow leaf (every value fits int32, merkle.py rule 2) is ``0x02 ‖ be32(row)``: its
  values are first packed two per word, then hashed the same way (an odd row's message stops 4
  bytes short of its last word).
* **Roots in C.** ``vi_merkle_root`` / ``vi_tensor_roots_i64`` hash the levels in place in C
  (Z_h padding computed on the way up), so committing a tensor is one call, and
  :func:`tensor_roots_i64` commits a whole list of tensors with one C call per thread (the list
  cut into runs of about equal bytes). Batches under ``PARALLEL_MIN_BYTES`` stay on the calling
  thread: a handoff to the pool costs ~0.1-0.15 ms.
* **Choosing the path.** Every function takes ``impl`` ("auto", "avx2", "scalar", "portable");
  the default is ``$VERINFER_KECCAK_IMPL`` or "auto" (= avx2 where the CPU has it). Forcing a
  path the CPU cannot run raises MerkleError. The tests run all paths against each other and
  against eth_hash.

Figures (AMD EPYC Zen 3, 2 cores, AVX2 + BMI2, gcc 12 -O3; MB/s of int64 row data hashed into
leaves of 384-wide rows; "old" is the previous one-message-at-a-time C code with a byte-packed
copy of each row):

==============  ============  ============  ==================
path            1 thread      2 threads     65-byte nodes, 1 t
==============  ============  ============  ==================
old             314 MB/s      605 MB/s      —
portable        285 MB/s      555 MB/s      1.1 M/s
scalar (BMI2)   340 MB/s      665 MB/s      1.3 M/s
avx2            1135 MB/s     2190 MB/s     4.1 M/s
==============  ============  ============  ==================

Committing a MiniLM-sized trace (100 tensors 128×384 + 13 of 128×1536 + 36 of 12×128×128, 116 MB
of int64; leaves and all tree levels): old ``tensor_root`` per tensor 268 ms (2 threads; 450 ms
on one core); now ``tensor_roots_i64`` / ``merkle.tensor_roots`` 66 ms with 2 threads, 117 ms on
one; ``merkle.tensor_root`` called per tensor 90-105 ms (each 128×384 tensor is under
PARALLEL_MIN_BYTES, so only the bigger ones use both cores). Thread figures need the second
core idle; with another process busy, 2 threads measure like 1.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from disputes import clib
from disputes.errors import MerkleError

SOURCE = Path(__file__).with_name("keccak_batch.c")
BUILD_DIR = clib.BUILD_DIR
CFLAGS = ["-O3", "-fPIC", "-shared", "-std=c11", "-fno-strict-aliasing"]
# Below this many bytes per batch (~1 ms of AVX2 hashing), handing work to the thread pool
# (~0.1-0.15 ms a handoff) costs more than it saves.
PARALLEL_MIN_BYTES = 1 << 20
U8 = NDArray[np.uint8]

IMPL_ENV = "VERINFER_KECCAK_IMPL"
# Code paths of keccak_batch.c (its VI_* constants): "auto" picks avx2 where the CPU has it.
IMPLS: dict[str, int] = {"auto": 0, "scalar": 1, "avx2": 2, "portable": 3}
_ENOMEM, _EUNSUPPORTED = -1, -2

_P = ctypes.c_void_p  # every pointer argument is passed as an int address (cheapest for ctypes)


def library_path() -> Path:
    """Where the compiled library for the current source and flags lives (built or not)."""
    return clib.library_path(SOURCE, "libvikeccak", CFLAGS)


def build_library(force: bool = False) -> Path:
    """Compile keccak_batch.c if needed and return the .so path: ``build_library()``."""
    return clib.build(
        SOURCE,
        "libvikeccak",
        CFLAGS,
        purpose="the Merkle commitments need the keccak C library",
        error=MerkleError,
        force=force,
    )


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    if sys.byteorder != "little":
        raise MerkleError("the keccak C library assumes a little-endian host")
    size, cint = ctypes.c_size_t, ctypes.c_int
    signatures: dict[str, list[type]] = {
        "vi_keccak256_many": [_P, size, size, cint, _P],
        "vi_leaf_hashes_i64": [_P, size, size, cint, _P],
        "vi_node_hashes": [_P, size, cint, _P],
        "vi_merkle_root": [_P, size, cint, _P],
        "vi_tensor_roots_i64": [_P, _P, _P, size, cint, _P],
        "vi_impl_supported": [cint],
        "vi_impl_resolved": [cint],
    }
    return clib.load(build_library(), signatures)


def impl_code(impl: str | None = None) -> int:
    """The C code path for impl, default ``$VERINFER_KECCAK_IMPL`` or "auto": ``impl_code()``.

    Raises MerkleError for an unknown name or a path this CPU cannot run (avx2 without AVX2)."""
    name = impl if impl is not None else os.environ.get(IMPL_ENV, "auto") or "auto"
    if name not in IMPLS:
        raise MerkleError(f"unknown keccak implementation {name!r}; choose one of {sorted(IMPLS)}")
    code = IMPLS[name]
    if not _lib().vi_impl_supported(code):
        raise MerkleError(f"keccak implementation {name!r} is not supported by this CPU")
    return code


def active_impl(impl: str | None = None) -> str:
    """The path impl (or the environment default) runs here: "avx2", "scalar" or "portable"."""
    resolved = _lib().vi_impl_resolved(impl_code(impl))
    return next(name for name, code in IMPLS.items() if code == resolved)


def _check(rc: int) -> None:
    if rc == _ENOMEM:
        raise MerkleError("out of memory while hashing Merkle leaves")
    if rc != 0:
        raise MerkleError(f"keccak C library call failed with code {rc}")


def _threads() -> int:
    from verinfer.settings import get_settings

    configured = get_settings().threads
    return max(1, configured if configured is not None else min(os.cpu_count() or 1, 8))


def _chunks(n: int, n_bytes: int) -> list[tuple[int, int]]:
    """Split n messages for the threads, cut at multiples of 4 (whole AVX2 groups)."""
    parts = min(_threads(), max(n // 4, 1)) if n_bytes >= PARALLEL_MIN_BYTES else 1
    bounds = [0, *(n * k // parts // 4 * 4 for k in range(1, parts)), n]
    return [(bounds[k], bounds[k + 1]) for k in range(parts) if bounds[k] < bounds[k + 1]]


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    # One long-lived pool: starting threads per call would cost more than small batches take.
    return ThreadPoolExecutor(_threads(), thread_name_prefix="keccak")


def _run(chunks: list[tuple[int, int]], one: Callable[[int, int], None]) -> None:
    if len(chunks) == 1:
        one(*chunks[0])
        return
    for future in [_pool().submit(one, lo, hi) for lo, hi in chunks]:
        future.result()


def keccak256_many(data: bytes | U8, length: int, impl: str | None = None) -> U8:
    """keccak256 of each consecutive ``length``-byte message in data: (n, 32) uint8."""
    buf = np.ascontiguousarray(
        np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data, dtype=np.uint8
    ).reshape(-1)
    n = len(buf) // length if length else 1
    if length and len(buf) % length:
        raise MerkleError(f"{len(buf)} bytes is not a whole number of {length}-byte messages")
    out = np.empty((n, 32), dtype=np.uint8)
    lib, code = _lib(), impl_code(impl)
    src, dst = buf.ctypes.data, out.ctypes.data

    def one(lo: int, hi: int) -> None:
        _check(lib.vi_keccak256_many(src + lo * length, hi - lo, length, code, dst + 32 * lo))

    _run(_chunks(n, len(buf)), one)
    return out


def _rows_i64(rows: NDArray[np.int64]) -> NDArray[np.int64]:
    data = np.ascontiguousarray(rows, dtype=np.int64)
    if data.ndim != 2:
        raise MerkleError(f"leaf rows must be a 2-d int64 array; got shape {data.shape}")
    return data


def leaf_hashes_i64(rows: NDArray[np.int64], impl: str | None = None) -> U8:
    """The merkle.py rule-2 leaf hash of each row of a 2-d int64 array: (n, 32) uint8."""
    data = _rows_i64(rows)
    n, width = data.shape
    out = np.empty((n, 32), dtype=np.uint8)
    lib, code = _lib(), impl_code(impl)
    src, dst = data.ctypes.data, out.ctypes.data

    def one(lo: int, hi: int) -> None:
        _check(lib.vi_leaf_hashes_i64(src + 8 * width * lo, hi - lo, width, code, dst + 32 * lo))

    if n:
        _run(_chunks(n, data.nbytes), one)
    return out


def node_hashes(children: U8, impl: str | None = None) -> U8:
    """keccak256(0x01 ‖ left ‖ right) of consecutive pairs of an (2m, 32) array: (m, 32) uint8."""
    data = np.ascontiguousarray(children, dtype=np.uint8).reshape(-1, 64)
    m = len(data)
    out = np.empty((m, 32), dtype=np.uint8)
    lib, code = _lib(), impl_code(impl)
    src, dst = data.ctypes.data, out.ctypes.data

    def one(lo: int, hi: int) -> None:
        _check(lib.vi_node_hashes(src + 64 * lo, hi - lo, code, dst + 32 * lo))

    if m:
        _run(_chunks(m, data.nbytes), one)
    return out


def merkle_root(leaves: U8, impl: str | None = None) -> bytes:
    """Root of the tree over (n, 32) leaf hashes, zero-padded (merkle.py rule 4), in one C call."""
    data = np.ascontiguousarray(leaves, dtype=np.uint8).reshape(-1, 32)
    out = np.empty(32, dtype=np.uint8)
    _check(_lib().vi_merkle_root(data.ctypes.data, len(data), impl_code(impl), out.ctypes.data))
    return out.tobytes()


def tensor_roots_i64(tensors: Sequence[NDArray[np.int64]], impl: str | None = None) -> list[bytes]:
    """Merkle roots (merkle.py rules 2-4) of many 2-d int64 row arrays: ``[root, ...]``.

    Leaves and tree levels are hashed in C without going back to Python per tensor. The list is
    cut into one contiguous run per thread with about equal bytes each (one C call per thread);
    a single big tensor instead has its leaves split across the threads."""
    arrays = [_rows_i64(t) for t in tensors]
    count = len(arrays)
    lib, code = _lib(), impl_code(impl)
    if count == 1 and arrays[0].nbytes >= PARALLEL_MIN_BYTES and _threads() > 1:
        return [merkle_root(leaf_hashes_i64(arrays[0], impl), impl)]
    ptrs = np.array([a.ctypes.data for a in arrays], dtype=np.uintp)
    n_rows = np.array([a.shape[0] for a in arrays], dtype=np.uintp)
    widths = np.array([a.shape[1] for a in arrays], dtype=np.uintp)
    out = np.empty((count, 32), dtype=np.uint8)
    sizes = np.cumsum([a.nbytes for a in arrays])
    total = int(sizes[-1]) if count else 0
    parts = min(_threads(), count) if total >= PARALLEL_MIN_BYTES else 1
    cuts = [int(np.searchsorted(sizes, total * k // parts)) for k in range(1, parts)]
    bounds = sorted({0, *cuts, count})
    word = ptrs.itemsize

    def one(lo: int, hi: int) -> None:
        rc = lib.vi_tensor_roots_i64(
            ptrs.ctypes.data + word * lo,
            n_rows.ctypes.data + word * lo,
            widths.ctypes.data + word * lo,
            hi - lo,
            code,
            out.ctypes.data + 32 * lo,
        )
        _check(rc)

    if count:
        _run([(lo, hi) for lo, hi in itertools.pairwise(bounds) if lo < hi], one)
    return [row.tobytes() for row in out]


if __name__ == "__main__":
    print(build_library(force="--force" in sys.argv), f"(keccak path: {active_impl()})")
