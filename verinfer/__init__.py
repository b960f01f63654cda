"""verinfer core: settings, the root error, the field encoding and safe JSON, for every package.

Importing any verinfer package imports this first. It imports py_ecc (pulled in by web3 and
eth_account) once and puts back the recursion limit that py_ecc raises to 100000: with that
limit CPython's C JSON decoder overflows the C stack on deeply nested input (a segfault) instead
of raising RecursionError. See ``verinfer.safejson``.
"""

from __future__ import annotations

import sys

PY_ECC_RECURSION_LIMIT = 100_000
SAFE_RECURSION_LIMIT = 1000  # CPython's default; every library we use runs within it


def cap_recursion_limit() -> None:
    """Undo py_ecc's ``sys.setrecursionlimit(100000)``; a limit the user chose is kept."""
    if sys.getrecursionlimit() >= PY_ECC_RECURSION_LIMIT:
        sys.setrecursionlimit(SAFE_RECURSION_LIMIT)


import py_ecc  # noqa: E402, F401  - imported here, once, so that its side effect is undone

cap_recursion_limit()
