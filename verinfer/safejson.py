"""Decode untrusted JSON with a bounded size and nesting depth: no document can crash us.

Why this exists: importing web3 pulls in py_ecc, which raises the interpreter's recursion limit
to 100000. CPython's C JSON decoder recurses once per nesting level and trusts that limit, so a
200 KB body of ``[[[[…`` overflows the C stack and kills the process (a segfault, not an
exception). ``verinfer/__init__`` puts the limit back after that import, and ``loads``
refuses over-deep or over-large documents before the decoder ever sees them, so the gateway
(untrusted requests) and the dApp client (an untrusted gateway) are safe either way.

Usage::

    doc = loads(body, max_bytes=1 << 20)      # JsonLimitError: too large, too deep or invalid
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from verinfer.errors import VerinferError

MAX_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)


class JsonLimitError(VerinferError, ValueError):
    """A JSON document that is too large, nested too deep, or not JSON; ``kind`` says which."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def nesting_depth(data: bytes) -> int:
    """Deepest ``[``/``{`` nesting of a JSON text, ignoring brackets inside strings."""
    code = np.frombuffer(_STRING.sub(b'""', data), dtype=np.uint8)
    opens = np.isin(code, _OPEN)
    steps = opens.astype(np.int32) - np.isin(code, _CLOSE).astype(np.int32)
    marks = steps[steps != 0]
    return int(np.cumsum(marks).max()) if marks.size else 0


def loads(data: bytes | str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` for untrusted input: JsonLimitError instead of a crash or a huge parse."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise JsonLimitError(
            f"JSON document is {len(raw)} bytes, over the limit of {max_bytes}", "too_large"
        )
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise JsonLimitError(
            f"JSON nested {depth} levels deep, over the limit of {max_depth}; "
            "send tensors flat or nested only as deep as their shape",
            "too_deep",
        )
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise JsonLimitError(f"body is not valid JSON: {exc}", "invalid") from None
