"""Child process for the determinism test: prints the roots of a few fixed executions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from disputes.execution.executor import load_program, run
from disputes.tracing.trace import trace
from tests.disputes.golden_cases import digits_input
from tests.disputes.tiny import tiny_input


def roots(tiny: Path, digits: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, path, name, x in [
        ("tiny", tiny, "x", tiny_input()),
        ("digits", digits, "input", digits_input()),
    ]:
        p = load_program(path)
        out[key] = {
            "run": run(p, {name: x}).root.hex(),
            "ref": run(p, {name: x}, fast=False).root.hex(),
            "checkpoints": [c.hex() for c in trace(p, {name: x}).checkpoints],
        }
    return out


if __name__ == "__main__":
    print(json.dumps(roots(Path(sys.argv[1]), Path(sys.argv[2]))))
