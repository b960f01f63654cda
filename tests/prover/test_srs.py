"""SRS selection: ceremony files from VERINFER_SRS_DIR (hash-checked), else a dev SRS."""

from __future__ import annotations

from pathlib import Path

import ezkl
import numpy as np
import pytest

from prover.errors import SrsError
from prover.pipeline import ZkProver
from prover.srs import (
    DEV_SRS_WARNING,
    file_sha256,
    is_dev_srs,
    parse_expected_hashes,
    srs_path,
)
from verinfer.settings import Settings, get_settings


def test_parse_expected_hashes() -> None:
    assert parse_expected_hashes("10=AB, 11=0xcd") == {10: "ab", 11: "cd"}
    with pytest.raises(SrsError, match="k=sha256hex"):
        parse_expected_hashes("ten=ab")


def test_dev_srs_warning_is_plain() -> None:
    assert "forge" in DEV_SRS_WARNING and "VERINFER_SRS_DIR" in DEV_SRS_WARNING


def test_missing_ceremony_file_is_clear(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d", srs_dir=tmp_path / "ceremony")
    with pytest.raises(SrsError, match=r"kzg11\.srs"):
        srs_path(11, s)


@pytest.mark.slow
def test_dev_srs_generated_once(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, srs_dir=None)
    p = srs_path(4, s)
    mtime = p.stat().st_mtime_ns
    assert is_dev_srs(s) and p == tmp_path / "srs" / "kzg4.srs"
    assert srs_path(4, s).stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_ceremony_srs_from_env_is_used(
    mlp_prover: ZkProver, digits_x: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ceremony = tmp_path / "ceremony"
    ceremony.mkdir()
    k = mlp_prover.logrows
    ezkl.gen_srs(srs_path=str(ceremony / f"kzg{k}.srs"), logrows=k)
    digest = file_sha256(ceremony / f"kzg{k}.srs")
    data_dir = mlp_prover.paths.root.parents[2]  # share the tuned record: only setup reruns
    monkeypatch.setenv("VERINFER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("VERINFER_SRS_DIR", str(ceremony))
    monkeypatch.setenv("VERINFER_SRS_SHA256", f"{k}={digest}")
    get_settings.cache_clear()
    try:
        prover = ZkProver.for_model("digits-mlp")
        assert not is_dev_srs() and prover.paths.srs == ceremony / f"kzg{k}.srs"
        assert prover.paths.vk != mlp_prover.paths.vk  # keys are per SRS
        assert prover.verify(prover.prove(digits_x[3]))
        monkeypatch.setenv("VERINFER_SRS_SHA256", f"{k}={'0' * 64}")
        get_settings.cache_clear()
        with pytest.raises(SrsError, match="sha256"):
            ZkProver.for_model("digits-mlp")
    finally:
        get_settings.cache_clear()


def test_production_refuses_a_dev_srs_and_an_unpinned_folder(tmp_path: Path) -> None:
    from prover.srs import check_srs_policy

    check_srs_policy(Settings(data_dir=tmp_path))  # development: allowed, with the warning
    with pytest.raises(SrsError, match="forge"):
        check_srs_policy(Settings(data_dir=tmp_path, production=True))
    folder = tmp_path / "ceremony"
    folder.mkdir()
    (folder / "kzg4.srs").write_bytes(b"not really an srs")
    unpinned = Settings(data_dir=tmp_path, production=True, srs_dir=folder)
    with pytest.raises(SrsError, match="not pinned"):
        check_srs_policy(unpinned)
    other_k = Settings(data_dir=tmp_path, production=True, srs_dir=folder, srs_sha256="5=ab")
    check_srs_policy(other_k)
    with pytest.raises(SrsError, match="pins no hash for k=4"):
        srs_path(4, other_k)
    digest = file_sha256(folder / "kzg4.srs")
    pinned = Settings(data_dir=tmp_path, production=True, srs_dir=folder, srs_sha256=f"4={digest}")
    assert srs_path(4, pinned) == folder / "kzg4.srs"


def test_verifiers_never_generate_an_srs(tmp_path: Path) -> None:
    with pytest.raises(SrsError, match="it is made when the model is prepared"):
        srs_path(4, Settings(data_dir=tmp_path), create=False)
    assert not (tmp_path / "srs").exists()
