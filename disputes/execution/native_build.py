"""Build every C library of the package now instead of at first use (``make native``).

``python -m disputes.execution.native_build [--force]``; the compile helper itself is
:mod:`disputes.clib`.
"""

from __future__ import annotations

import sys

from disputes.commitments import keccak_native
from disputes.execution.ops import native


def main() -> None:
    """Build every C library of the package now instead of at first use (``make native``)."""
    force = "--force" in sys.argv
    print(keccak_native.build_library(force), f"(keccak path: {keccak_native.active_impl()})")
    print(native.build_library(force), f"(kernel path: {native.select('auto')})")


if __name__ == "__main__":
    main()
