"""Compile Solidity with the pinned solc-js (standard-JSON, fixed settings) into `Artifact`s.

Usage::

    from contracts.compiler import compile_file
    art = compile_file(Path("verifier.sol"), contract_name="Halo2Verifier")
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any, ClassVar

from contracts.errors import CompileError, ToolMissingError
from contracts.jsonfile import JsonFile
from verinfer.settings import get_settings

SCRIPT = Path(__file__).with_name("solc_compile.cjs")
EXPECTED_SOLC = "0.8.30"
# runs=1: EZKL's assembly verifier hits "Stack too deep" without the optimizer and runs=1 keeps
# the per-model verifier under the 24,576-byte runtime size limit.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 1},
    "evmVersion": "cancun",
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}
COMPILE_TIMEOUT_S = 300
# Sources are named by file name (one flat namespace), so `import "./X.sol"` names X.sol.
_IMPORT = re.compile(r"""^\s*import\s+(?:[^"';]*\sfrom\s+)?["']\./([^"']+)["']""", re.M)


class Artifact(JsonFile):
    """One compiled contract; what `contracts/artifacts/<Name>.json` holds."""

    file_kind: ClassVar[str] = "artifact"
    file_hint: ClassVar[str] = "run `python -m contracts.build`"

    contract_name: str
    source_name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    settings: dict[str, Any]
    source_sha256: str


def _run_node(args: list[str], stdin: str | None = None) -> str:
    s = get_settings()
    cmd = [s.node_bin, str(SCRIPT), str(s.solcjs_dir), *args]
    try:
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolMissingError(
            f"cannot run solc-js via {s.node_bin!r}: {exc}; run `make setup`"
        ) from exc
    if proc.returncode != 0:
        raise ToolMissingError(
            f"solc-js failed (is it installed in {s.solcjs_dir}? run `make setup`): "
            f"{proc.stderr.strip()[-2000:]}"
        )
    return proc.stdout


def solc_version() -> str:
    """The solc-js version string, e.g. ``0.8.30+commit.73712a01.Emscripten.clang``."""
    return _run_node(["--version"]).strip()


def source_sha256(text: str) -> str:
    """Hex sha256 of a source's UTF-8 text (what artifacts record to detect drift)."""
    return hashlib.sha256(text.encode()).hexdigest()


def import_closure(name: str, texts: dict[str, str]) -> list[str]:
    """``name`` and every source it imports (``import … "./X.sol"``), transitively, sorted."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        if current not in texts:
            raise CompileError(f"{name} imports {current}, which is not among the sources")
        seen.add(current)
        todo.extend(_IMPORT.findall(texts[current]))
    return sorted(seen)


def closure_sha256(name: str, texts: dict[str, str]) -> str:
    """Drift hash of a source with its imports (of the text alone when it imports nothing)."""
    names = import_closure(name, texts)
    if names == [name]:
        return source_sha256(texts[name])
    h = hashlib.sha256()
    for n in names:
        h.update(n.encode() + b"\0" + texts[n].encode() + b"\0")
    return h.hexdigest()


def _standard_json(sources: dict[str, str]) -> str:
    return json.dumps(
        {
            "language": "Solidity",
            "sources": {name: {"content": text} for name, text in sources.items()},
            "settings": SETTINGS,
        }
    )


def _check_errors(output: dict[str, Any]) -> None:
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        msgs = "\n".join(e.get("formattedMessage") or e.get("message", "") for e in errors)
        raise CompileError(f"solc could not compile:\n{msgs}")


def _solc(sources: dict[str, str]) -> tuple[str, dict[str, Any]]:
    raw = _run_node([], stdin=_standard_json(sources))
    try:
        wrapped: dict[str, Any] = json.loads(raw)
        version, output = str(wrapped["version"]), dict(wrapped["output"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CompileError(f"solc-js returned unexpected output: {raw[:500]!r}") from exc
    _check_errors(output)
    return version, output


def _artifact(
    output: dict[str, Any],
    version: str,
    source_name: str,
    texts: dict[str, str],
    contract_name: str,
) -> Artifact:
    contract = output.get("contracts", {}).get(source_name, {}).get(contract_name)
    if contract is None:
        found = sorted(output.get("contracts", {}).get(source_name, {}))
        raise CompileError(f"no contract {contract_name!r} in {source_name}; found {found}")
    return Artifact(
        contract_name=contract_name,
        source_name=source_name,
        abi=contract["abi"],
        bytecode="0x" + contract["evm"]["bytecode"]["object"],
        deployed_bytecode="0x" + contract["evm"]["deployedBytecode"]["object"],
        compiler_version=version,
        settings=SETTINGS,
        source_sha256=closure_sha256(source_name, texts),
    )


def compile_source(text: str, source_name: str, contract_name: str) -> Artifact:
    """Compile one self-contained source text and return `contract_name`'s artifact.

    Usage: ``compile_source(Path("A.sol").read_text(), "A.sol", "A")``
    """
    version, output = _solc({source_name: text})
    return _artifact(output, version, source_name, {source_name: text}, contract_name)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise CompileError(f"cannot read Solidity source {path}: {exc}") from exc


def compile_file(path: Path, contract_name: str | None = None) -> Artifact:
    """Compile a self-contained .sol file (default contract: the file's stem).

    Usage: ``compile_file(Path("Verifier.sol"), contract_name="Halo2Verifier")``
    """
    return compile_source(_read(path), path.name, contract_name or path.stem)


def compile_files(paths: list[Path], libraries: list[Path] | None = None) -> dict[str, Artifact]:
    """Compile files in one solc run; each file's contract is named as its stem.

    ``libraries`` are sources the files may import (``import "./Lib.sol"``, names are flat)
    that produce no artifact of their own; an artifact's drift hash covers what it imports.
    Usage: ``arts = compile_files([Path("src/ModelRegistry.sol")]); arts["ModelRegistry"]``
    """
    all_paths = [*paths, *(libraries or [])]
    texts = {p.name: _read(p) for p in all_paths}
    if len(texts) != len(all_paths):
        raise CompileError("two Solidity sources share a file name; names must be unique")
    version, output = _solc(texts)
    return {p.stem: _artifact(output, version, p.name, texts, p.stem) for p in paths}
