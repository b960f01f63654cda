"""`chain deploy` against the session anvil, and its error messages."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from contracts.bindings import Deployment
from contracts.chain import Anvil
from contracts.cli import app

runner = CliRunner()


def test_deploy(anvil: Anvil, tmp_path: Path) -> None:
    out = tmp_path / "dep.json"
    key = anvil.accounts[5].private_key
    args = ["deploy", "--rpc-url", anvil.rpc_url, "--private-key", key, "--out", str(out)]
    res = runner.invoke(app, [*args, "--json", "--fulfil-timeout", "99"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    dep = Deployment.load(out)
    assert info["escrow"] == dep.escrow and dep.fulfil_timeout == 99
    assert dep.deployer == anvil.accounts[5].address
    assert key[2:] not in res.output


def test_deploy_unreachable(tmp_path: Path) -> None:
    args = ["deploy", "--rpc-url", "http://127.0.0.1:9", "--private-key", "0x" + "11" * 32]
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "d.json")])
    assert res.exit_code == 1 and "verinfer chain up" in res.output
