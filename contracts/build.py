"""Compile the core contracts and (re)write the committed artifacts in `contracts/artifacts/`.

Usage::

    python -m contracts.build            # rewrite artifacts
    from contracts.build import load_artifact
    escrow = load_artifact("InferenceEscrow")
"""

from __future__ import annotations

from pathlib import Path

from contracts.compiler import Artifact, compile_files
from contracts.errors import ArtifactError

PKG_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = PKG_DIR / "artifacts"
SOURCES: dict[str, Path] = {
    "ModelRegistry": PKG_DIR / "src" / "ModelRegistry.sol",
    "InferenceEscrow": PKG_DIR / "src" / "InferenceEscrow.sol",
    "OneStepVerifier": PKG_DIR / "src" / "onestep" / "OneStepVerifier.sol",
    "DisputeGame": PKG_DIR / "src" / "DisputeGame.sol",
    "MockVerifier": PKG_DIR / "test" / "MockVerifier.sol",
    "ReentrantClient": PKG_DIR / "test" / "ReentrantClient.sol",
    "ExampleConsumer": PKG_DIR / "src" / "ExampleConsumer.sol",
    "MockGame": PKG_DIR / "test" / "MockGame.sol",
    "MockGameEscrow": PKG_DIR / "test" / "MockGameEscrow.sol",
}


def artifact_path(name: str) -> Path:
    """Where the committed artifact of contract `name` lives."""
    return ARTIFACTS_DIR / f"{name}.json"


def load_artifact(name: str) -> Artifact:
    """Load a committed artifact by contract name. Usage: ``load_artifact("ModelRegistry")``."""
    if name not in SOURCES:
        raise ArtifactError(f"unknown contract {name!r}; known: {sorted(SOURCES)}")
    return Artifact.load(artifact_path(name))


def library_sources() -> list[Path]:
    """Every other .sol file under src/ and test/: importable, no artifact of its own."""
    mains = set(SOURCES.values())
    found = [*(PKG_DIR / "src").rglob("*.sol"), *(PKG_DIR / "test").rglob("*.sol")]
    return sorted(p for p in found if p not in mains)


def compile_all() -> dict[str, Artifact]:
    """Compile every source in `SOURCES` afresh (one solc run, libraries included)."""
    return compile_files(list(SOURCES.values()), library_sources())


def build_all() -> list[Path]:
    """Compile every source and write its artifact; returns the written paths."""
    written = []
    for name, art in compile_all().items():
        art.save(artifact_path(name))
        written.append(artifact_path(name))
    return written


def main() -> None:
    for path in build_all():
        print(f"wrote {path.relative_to(PKG_DIR.parent)}")


if __name__ == "__main__":
    main()
