"""The real `verinfer` command: demo end to end, then `verify` on what it saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _verinfer(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("verinfer")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=1800, env=os.environ.copy()
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


def test_verify_accepts_the_saved_response_and_rejects_a_tampered_one(
    demo_steps: list[dict[str, object]], tmp_path: Path
) -> None:
    saved = next(Path(str(s["path"])) for s in demo_steps if "saved" in str(s["step"]))
    ok = _verinfer("verify", str(saved))
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    doc = json.loads(saved.read_text())
    doc["input"][10] = 1.0 if doc["input"][10] < 0.5 else 0.0
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(doc))
    rejected = _verinfer("verify", str(bad))
    assert rejected.returncode == 1
    assert "not your input" in rejected.stderr


def test_verify_names_a_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"response": {}}')
    run = _verinfer("verify", str(bad))
    assert run.returncode == 1
    assert "lacks input, proof" in run.stderr
