"""Bounded JSON decoding and the recursion limit that py_ecc raises on import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from verinfer.safejson import JsonLimitError, loads, nesting_depth


def test_depth_ignores_brackets_inside_strings() -> None:
    assert nesting_depth(b'{"a": [1, [2, "[[[[", {"b": "]"}]]}') == 4
    assert nesting_depth(b'"\\"[[[["') == 0
    assert nesting_depth(b"17") == 0


@pytest.mark.parametrize(
    ("doc", "kind"),
    [
        (b"[" * 40 + b"]" * 40, "too_deep"),
        (b" " * 101, "too_large"),
        (b"[1, 2", "invalid"),
        (b"\xff", "invalid"),
        (b"1" * 5000, "invalid"),  # beyond CPython's int-digits limit
    ],
)
def test_refusals_say_which_limit(doc: bytes, kind: str) -> None:
    with pytest.raises(JsonLimitError) as err:
        loads(doc, max_bytes=100 if kind == "too_large" else 10_000)
    assert err.value.kind == kind


def test_valid_documents_decode_as_json_does() -> None:
    doc = {"inputs": [{"data": [[0.5, 1], [2, 3]], "name": "x]["}]}
    assert loads(json.dumps(doc), max_bytes=1000) == doc


def test_importing_our_packages_undoes_py_ecc_and_deep_json_raises() -> None:
    code = (
        "import sys, json\n"
        "import contracts.bindings, api.app, verifier\n"
        "assert sys.getrecursionlimit() == 1000, sys.getrecursionlimit()\n"
        "try:\n"
        "    json.loads('[' * 200000 + ']' * 200000)\n"
        "except RecursionError:\n"
        "    print('RecursionError')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])  # -11 would be a segfault
    assert run.stdout.strip() == "RecursionError"
