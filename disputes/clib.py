"""Compile one of this package's C sources into a shared library, once per source and flags.

The one build helper of both C libraries (commitments/keccak_batch.c, execution/kernels.c), so
it sits at the top of the package like errors.py and imports neither layer.

Libraries go to ``<repo>/build/native/``, named by a hash of the source text and the flags, so a
stale build is never loaded and several versions can sit side by side.

``python -m disputes.execution.native_build [--force]`` (``make native``) builds every library at
once.

Example::

    path = build(Path("disputes/execution/kernels.c"), "libvikernels", ["-O3", "-fPIC", "-shared"],
                 purpose="the fast executor kernels", error=DisputeError)
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

BUILD_DIR = Path(__file__).resolve().parents[1] / "build" / "native"


def library_path(source: Path, stem: str, cflags: Sequence[str]) -> Path:
    """Where the library for this source text and these flags lives (built or not)."""
    digest = hashlib.sha256(source.read_bytes() + " ".join(cflags).encode()).hexdigest()[:16]
    return BUILD_DIR / f"{stem}-{digest}.so"


def compiler(purpose: str, error: type[Exception]) -> str:
    """``$CC`` or gcc; raises ``error`` naming ``purpose`` when it is not installed."""
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        raise error(
            f"C compiler {cc!r} not found; install gcc (apt-get install gcc) or set CC, "
            f"then run `make native` — {purpose}"
        )
    return cc


def build(
    source: Path,
    stem: str,
    cflags: Sequence[str],
    *,
    purpose: str,
    error: type[Exception],
    force: bool = False,
) -> Path:
    """Compile ``source`` unless already built and return the .so path (``error`` on failure)."""
    target = library_path(source, stem, cflags)
    if target.is_file() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # A unique temporary name renamed into place: concurrent builders never see a partial file.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    cmd = [compiler(purpose, error), *cflags, "-o", str(tmp), str(source), "-lm"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise error(f"compiling {source.name} failed: {done.stderr.strip()[:2000]}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def load(path: Path, signatures: dict[str, list[type]]) -> ctypes.CDLL:
    """Open a built library and declare each entry point's argument types (all return int)."""
    lib = ctypes.CDLL(str(path))
    for name, argtypes in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = ctypes.c_int
    return lib
