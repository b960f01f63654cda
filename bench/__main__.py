"""Run every benchmark: each ``bench/*.py`` module that defines ``main()``, in name order.

Usage::

    python -m bench            # all benchmarks
    python -m bench zk         # only bench/zk.py
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def bench_modules(only: list[str]) -> list[str]:
    """Names of bench modules (files next to this one), filtered by only when given."""
    names = sorted(p.stem for p in Path(__file__).parent.glob("*.py") if not p.stem.startswith("_"))
    return [n for n in names if not only or n in only]


def main() -> None:
    for name in bench_modules(sys.argv[1:]):
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "main", None)
        if callable(run):
            print(f"== bench/{name}.py ==", flush=True)
            run()
    from bench._readme import update_readme

    update_readme()


if __name__ == "__main__":
    main()
