"""Loader for the batched keccak256 C library (disputes/keccak_batch.c), compiled with gcc.

The library is built on first use (or by ``make native``) into ``<repo>/build/native/``, named
by a hash of the C source and flags so a stale build is never loaded. There is no silent Python
fallback: without a C compiler this raises :class:`~disputes.errors.MerkleError` saying so.
ctypes releases the GIL during each call, so big batches are split across threads.

Usage::

    from disputes.keccak_native import keccak256_many, leaf_hashes_i64, node_hashes
    digests = keccak256_many(b"", 1)            # (1, 32) uint8: keccak256 of the empty string
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from disputes.errors import MerkleError

SOURCE = Path(__file__).with_name("keccak_batch.c")
BUILD_DIR = Path(__file__).resolve().parents[1] / "build" / "native"
CFLAGS = ["-O3", "-fPIC", "-shared", "-std=c11", "-fno-strict-aliasing"]
# Below this many bytes per batch (~1 ms of hashing), handing work to threads costs more than it
# saves.
PARALLEL_MIN_BYTES = 1 << 17
U8 = NDArray[np.uint8]

_U8P = ctypes.POINTER(ctypes.c_uint8)
_I64P = ctypes.POINTER(ctypes.c_int64)


def library_path() -> Path:
    """Where the compiled library for the current source and flags lives (built or not)."""
    digest = hashlib.sha256(SOURCE.read_bytes() + " ".join(CFLAGS).encode()).hexdigest()[:16]
    return BUILD_DIR / f"libvikeccak-{digest}.so"


def _compiler() -> str:
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        raise MerkleError(
            f"C compiler {cc!r} not found; install gcc (apt-get install gcc) or set CC, "
            "then run `make native` — the Merkle commitments need the keccak C library"
        )
    return cc


def build_library(force: bool = False) -> Path:
    """Compile keccak_batch.c if needed and return the .so path: ``build_library()``."""
    target = library_path()
    if target.is_file() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Compile to a temporary name and rename: concurrent builders never see a partial file.
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    cmd = [_compiler(), *CFLAGS, "-o", tmp, str(SOURCE)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        os.unlink(tmp)
        raise MerkleError(f"compiling {SOURCE.name} failed: {done.stderr.strip()[:2000]}")
    os.replace(tmp, target)
    return target


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    if sys.byteorder != "little":
        raise MerkleError("the keccak C library assumes a little-endian host")
    lib = ctypes.CDLL(str(build_library()))
    size = ctypes.c_size_t
    lib.vi_keccak256_many.argtypes = [_U8P, size, size, _U8P]
    lib.vi_keccak256_many.restype = None
    lib.vi_leaf_hashes_i64.argtypes = [_I64P, size, size, _U8P]
    lib.vi_leaf_hashes_i64.restype = ctypes.c_int
    lib.vi_node_hashes.argtypes = [_U8P, size, _U8P]
    lib.vi_node_hashes.restype = None
    return lib


def _threads() -> int:
    from verinfer.settings import get_settings

    configured = get_settings().threads
    return max(1, configured if configured is not None else min(os.cpu_count() or 1, 8))


def _chunks(n: int, n_bytes: int) -> list[tuple[int, int]]:
    parts = min(_threads(), n) if n_bytes >= PARALLEL_MIN_BYTES else 1
    bounds = [n * k // parts for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(parts) if bounds[k] < bounds[k + 1]]


def _u8(a: NDArray[np.uint8], offset: int = 0) -> ctypes._Pointer[ctypes.c_uint8]:
    return ctypes.cast(a.ctypes.data + offset, _U8P)


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


def keccak256_many(data: bytes | NDArray[np.uint8], length: int) -> U8:
    """keccak256 of each consecutive ``length``-byte message in data: (n, 32) uint8."""
    buf = np.ascontiguousarray(
        np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data, dtype=np.uint8
    ).reshape(-1)
    n = len(buf) // length if length else 1
    if length and len(buf) % length:
        raise MerkleError(f"{len(buf)} bytes is not a whole number of {length}-byte messages")
    out = np.empty((n, 32), dtype=np.uint8)
    lib = _lib()

    def one(lo: int, hi: int) -> None:
        lib.vi_keccak256_many(_u8(buf, lo * length), hi - lo, length, _u8(out, 32 * lo))

    _run(_chunks(n, len(buf)), one)
    return out


def leaf_hashes_i64(rows: NDArray[np.int64]) -> U8:
    """keccak256(0x00 ‖ big-endian int64s) of each row of a 2-d int64 array: (n, 32) uint8."""
    data = np.ascontiguousarray(rows, dtype=np.int64)
    n, width = data.shape
    out = np.empty((n, 32), dtype=np.uint8)
    lib = _lib()

    def one(lo: int, hi: int) -> None:
        ptr = ctypes.cast(data.ctypes.data + 8 * width * lo, _I64P)
        if lib.vi_leaf_hashes_i64(ptr, hi - lo, width, _u8(out, 32 * lo)) != 0:
            raise MerkleError("out of memory while hashing Merkle leaves")

    if n:
        _run(_chunks(n, data.nbytes), one)
    return out


def node_hashes(children: U8) -> U8:
    """keccak256(0x01 ‖ left ‖ right) of consecutive pairs of an (2m, 32) array: (m, 32) uint8."""
    data = np.ascontiguousarray(children, dtype=np.uint8).reshape(-1, 64)
    m = len(data)
    out = np.empty((m, 32), dtype=np.uint8)
    lib = _lib()

    def one(lo: int, hi: int) -> None:
        lib.vi_node_hashes(_u8(data, 64 * lo), hi - lo, _u8(out, 32 * lo))

    if m:
        _run(_chunks(m, data.nbytes), one)
    return out


if __name__ == "__main__":
    print(build_library(force="--force" in sys.argv))
