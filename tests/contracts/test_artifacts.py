"""Committed artifacts must equal a fresh compile of the sources (no drift)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.build import SOURCES, compile_all, load_artifact
from contracts.compiler import EXPECTED_SOLC, SETTINGS, Artifact, compile_source, source_sha256
from contracts.errors import ArtifactError, CompileError


@pytest.fixture(scope="module")
def fresh() -> dict[str, Artifact]:
    return compile_all()


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_no_drift(name: str, fresh: dict[str, Artifact]) -> None:
    committed = load_artifact(name)
    hint = "run `python -m contracts.build` and commit contracts/artifacts/"
    assert committed.source_sha256 == fresh[name].source_sha256, hint
    if "import" not in SOURCES[name].read_text():
        assert committed.source_sha256 == source_sha256(SOURCES[name].read_text()), hint
    assert committed.abi == fresh[name].abi, hint
    assert committed.bytecode == fresh[name].bytecode, hint
    assert committed.deployed_bytecode == fresh[name].deployed_bytecode, hint
    assert committed == fresh[name], hint


def test_fixed_settings(fresh: dict[str, Artifact]) -> None:
    art = fresh["InferenceEscrow"]
    assert art.compiler_version.startswith(EXPECTED_SOLC + "+")
    assert art.settings == SETTINGS
    assert SETTINGS["optimizer"] == {"enabled": True, "runs": 1}
    assert SETTINGS["evmVersion"] == "cancun"


def test_compile_error_carries_solc_message() -> None:
    bad = "pragma solidity ^0.8.0; contract X { function f() public { undefinedThing(); } }"
    with pytest.raises(CompileError, match="undefinedThing"):
        compile_source(bad, "X.sol", "X")


def test_missing_contract_name() -> None:
    with pytest.raises(CompileError, match="no contract 'Y'"):
        compile_source("pragma solidity ^0.8.0; contract X {}", "X.sol", "Y")


def test_unknown_or_unreadable_artifact(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="unknown contract"):
        load_artifact("Nope")
    with pytest.raises(ArtifactError, match=r"contracts\.build"):
        Artifact.load(tmp_path / "missing.json")


def test_imports_are_resolved_and_hashed(tmp_path: Path) -> None:
    from contracts.compiler import compile_files

    lib = tmp_path / "Lib.sol"
    lib.write_text(
        "pragma solidity ^0.8.24;\n"
        "library Lib { function two() internal pure returns (uint256) { return 2; } }\n"
    )
    main = tmp_path / "Main.sol"
    main.write_text(
        'pragma solidity ^0.8.24;\nimport {Lib} from "./Lib.sol";\n'
        "contract Main { function f() external pure returns (uint256) { return Lib.two(); } }\n"
    )
    first = compile_files([main], [lib])["Main"]
    lib.write_text(lib.read_text().replace("return 2", "return 3"))
    second = compile_files([main], [lib])["Main"]
    assert first.source_sha256 != second.source_sha256  # a library change is drift too
    assert first.source_sha256 != source_sha256(main.read_text())
    with pytest.raises(CompileError, match=r'Lib\.sol" not found'):
        compile_files([main])
