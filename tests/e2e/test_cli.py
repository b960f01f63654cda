"""The real `verinfer` command: demo end to end, then `verify` on what it saved."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from verinfer.settings import get_settings

pytestmark = pytest.mark.slow


def _verinfer(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("verinfer")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=1800, env={**os.environ, **env}
    )


@pytest.fixture(scope="module")
def demo_steps(registry: object) -> list[dict[str, object]]:
    run = _verinfer("demo", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    steps: list[dict[str, object]] = json.loads(run.stdout)
    return steps


def test_demo_pays_the_provider_and_rejects_a_tampered_proof(
    demo_steps: list[dict[str, object]],
) -> None:
    titles = [str(s["step"]) for s in demo_steps]
    assert any("development SRS" in t for t in titles)
    paid = [s for s in demo_steps if "paid the provider" in str(s["step"])]
    assert len(paid) == 2
    for step in paid:
        assert step["finalized"] is True
        assert int(str(step["gross_payment_wei"])) == int(str(step["credited_wei"]))
    tampered = next(s for s in demo_steps if "tampered" in str(s["step"]))
    assert tampered["verifier_accepts"] is False
    assert tampered["escrow"] == "reverted with InvalidProof"
    assert int(str(tampered["client_refund_after_timeout_wei"])) > 0


def test_demo_catches_a_cheating_optimistic_provider_and_pays_an_honest_one(
    demo_steps: list[dict[str, object]],
) -> None:
    caught = next(s for s in demo_steps if "the watcher caught it" in str(s["step"]))
    assert caught["winner"] == "watcher" and caught["decided_by"] == "one_step"
    assert caught["request_status"] == "refunded"
    assert int(str(caught["client_refund_wei"])) == 10**16  # the whole fee back
    bond = 10**17
    assert int(str(caught["watcher_reward_wei"])) == bond // 2  # half the cheater's bond
    assert int(str(caught["burned_wei"])) == bond - bond // 2
    assert int(str(caught["watcher_bond_back_wei"])) == bond
    paid = next(s for s in demo_steps if "honest claim passes" in str(s["step"]))
    assert paid["watcher_checked"] is True and paid["games_opened"] == 0
    assert paid["finalized"] is True
    assert int(str(paid["provider_credited_wei"])) == 10**16 + bond  # fee and bond back


def test_verify_accepts_the_saved_response_and_rejects_a_tampered_one(
    demo_steps: list[dict[str, object]], tmp_path: Path
) -> None:
    saved = _saved(demo_steps, "digits-mlp")
    ok = _verinfer("verify", str(saved), "--model", "digits-mlp")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    doc = json.loads(saved.read_text())
    doc["input"][10] = 1.0 if doc["input"][10] < 0.5 else 0.0
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(doc))
    rejected = _verinfer("verify", str(bad), "--model", "digits-mlp")
    assert rejected.returncode == 1
    assert "not your input" in rejected.stderr


def _saved(demo_steps: list[dict[str, object]], model: str) -> Path:
    return next(
        Path(str(s["path"]))
        for s in demo_steps
        if "saved" in str(s["step"]) and str(s["step"]).startswith(model)
    )


def test_verify_trusts_the_user_not_the_bundle(
    demo_steps: list[dict[str, object]], tmp_path: Path
) -> None:
    # A digits-cnn bundle checked as digits-mlp fails: the bundle cannot pick its own model.
    cnn = _saved(demo_steps, "digits-cnn")
    wrong = _verinfer("verify", str(cnn), "--model", "digits-mlp")
    assert wrong.returncode == 1 and "expected" in wrong.stderr
    unnamed = _verinfer("verify", str(cnn))
    assert unnamed.returncode != 0 and "name the model you trust" in unnamed.stderr


def test_verify_builds_nothing(demo_steps: list[dict[str, object]], tmp_path: Path) -> None:
    # The model is built in this data dir but its circuit was never prepared: verify must say
    # so, not tune a circuit and make keys and an SRS to check against.
    data = tmp_path / "data"
    shutil.copytree(get_settings().models_dir, data / "models")
    saved = _saved(demo_steps, "digits-mlp")
    run = _verinfer("verify", str(saved), "--model", "digits-mlp", VERINFER_DATA_DIR=str(data))
    assert run.returncode == 1 and "verinfer models prepare digits-mlp" in run.stderr
    assert not (data / "artifacts").exists() and not (data / "srs").exists()


def test_verify_names_a_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"response": {}}')
    run = _verinfer("verify", str(bad), "--model", "digits-mlp")
    assert run.returncode == 1
    assert "lacks input, proof" in run.stderr
