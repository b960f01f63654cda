"""Check that the pinned chain tools (anvil, node + solc-js) are installed and run.

Usage::

    python -m contracts.toolcheck   # exit 0 when fine, 1 with a message saying what to run
"""

from __future__ import annotations

import subprocess
import sys

from contracts.compiler import EXPECTED_SOLC, solc_version
from contracts.errors import ChainError, ToolMissingError
from verinfer.settings import get_settings

FIX = "run `make setup` (it runs `npm ci` in tools/)"


def anvil_version() -> str:
    """`anvil --version`'s first line; raises ToolMissingError when anvil cannot run."""
    anvil = get_settings().anvil_bin
    try:
        proc = subprocess.run(
            [str(anvil), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolMissingError(f"anvil not runnable at {anvil}: {exc}; {FIX}") from exc
    if proc.returncode != 0:
        raise ToolMissingError(f"`{anvil} --version` failed: {proc.stderr.strip()}; {FIX}")
    return proc.stdout.strip().splitlines()[0]


def check_solc() -> str:
    """solc-js's version; raises ToolMissingError unless it is the pinned one."""
    version = solc_version()
    if not version.startswith(EXPECTED_SOLC + "+"):
        raise ToolMissingError(f"solc-js is {version}, expected {EXPECTED_SOLC}; {FIX}")
    return version


def main() -> int:
    try:
        print(f"anvil:   {anvil_version()}")
        print(f"solc-js: {check_solc()}")
    except ChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
