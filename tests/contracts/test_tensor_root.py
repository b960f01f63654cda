"""TensorRoot (the escrow's tensor root of packed be32 values) equals merkle.tensor_root."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from web3 import Web3

from contracts.bindings import call, deploy
from contracts.build import PKG_DIR, library_sources
from contracts.compiler import Artifact, compile_files, import_closure
from contracts.errors import ContractRevert
from contracts.reverts import error_table
from disputes.commitments.merkle import tensor_root
from tests.contracts.conftest import Env

HARNESS = PKG_DIR / "test" / "TensorRootHarness.sol"
I32 = (-(2**31), 2**31)


def _compile() -> Artifact:
    # Only the harness's import closure: others' sources need not compile for this module.
    libs = {p.name: p for p in library_sources() if p.resolve() != HARNESS.resolve()}
    texts = {name: p.read_text() for name, p in libs.items()}
    texts[HARNESS.name] = HARNESS.read_text()
    needed = [libs[n] for n in import_closure(HARNESS.name, texts) if n != HARNESS.name]
    return compile_files([HARNESS], needed)["TensorRootHarness"]


@pytest.fixture(scope="module")
def harness(chain_env: Env) -> Iterator[tuple[object, Artifact]]:
    art = _compile()
    address = deploy(chain_env.w3, chain_env.deployer, art)
    yield chain_env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=art.abi), art


def _be32(t: np.ndarray) -> bytes:
    return bytes(t.astype(">i4").tobytes())


def _random_tensors(rng: np.random.Generator) -> list[np.ndarray]:
    """1 row, powers of two and not, width 1, full-range and small negative values, 3-d."""
    shapes = [(1, 1), (1, 7), (2, 3), (3, 5), (4, 4), (5, 2), (7, 1), (9, 6), (16, 3), (17, 2)]
    out = [rng.integers(*I32, size=s, dtype=np.int64) for s in shapes]
    out += [rng.integers(-50, 0, size=s, dtype=np.int64) for s in [(1, 64), (6, 8)]]
    out.append(rng.integers(*I32, size=(2, 3, 4), dtype=np.int64))
    out.append(np.array([I32[0], I32[1] - 1, -1, 0], dtype=np.int64).reshape(1, 4))
    return out


def _rows_width(t: np.ndarray) -> tuple[int, int]:
    return int(np.prod(t.shape[:-1])), int(t.shape[-1])


def test_roots_equal_the_python_tensor_root(harness: tuple[object, Artifact]) -> None:
    contract, _ = harness
    tensors = _random_tensors(np.random.default_rng(7))
    shapes = [_rows_width(t) for t in tensors]
    fn = contract.functions.roots(  # type: ignore[attr-defined]
        [_be32(t) for t in tensors], [r for r, _ in shapes], [w for _, w in shapes]
    )
    got = [bytes(h) for h in fn.call()]
    assert got == [tensor_root(t) for t in tensors]
    assert got[0] == tensor_root(tensors[0].reshape(-1))  # a 1-row tree's root is its leaf


def test_offset_reads_the_tensor_in_the_middle(harness: tuple[object, Artifact]) -> None:
    contract, _ = harness
    rng = np.random.default_rng(3)
    a, b = rng.integers(*I32, size=(3, 2)), rng.integers(*I32, size=(5, 3))
    data = _be32(a) + _be32(b)
    got = contract.functions.ofBe32(data, a.size * 4, 5, 3).call()  # type: ignore[attr-defined]
    assert bytes(got) == tensor_root(b)


def test_short_data_is_refused(harness: tuple[object, Artifact]) -> None:
    contract, art = harness
    fn = contract.functions.ofBe32(b"\x00" * 23, 0, 2, 3)  # type: ignore[attr-defined]
    with pytest.raises(ContractRevert) as exc:
        call(fn.call, error_table(art.abi), "ofBe32")
    assert (exc.value.name, exc.value.error_args) == ("ShortTensorData", (24, 23))
