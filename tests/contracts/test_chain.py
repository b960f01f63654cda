"""The anvil launcher: start, answer, advance time, stop; failures are AnvilError."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.bindings import connect
from contracts.chain import Anvil, dev_accounts, rpc_call
from contracts.errors import AnvilError, RpcError
from contracts.toolcheck import anvil_version, check_solc

pytestmark = pytest.mark.slow


def test_start_answer_stop() -> None:
    node = Anvil().start()
    try:
        assert node.running
        assert int(rpc_call(node.rpc_url, "eth_chainId"), 16) == 31337
        w3 = connect(node.rpc_url)
        assert w3.eth.get_balance(node.accounts[0].address) > 0  # type: ignore[arg-type]
        t0 = w3.eth.get_block("latest")["timestamp"]
        node.increase_time(1000)
        assert w3.eth.get_block("latest")["timestamp"] >= t0 + 1000
    finally:
        node.stop()
    assert not node.running
    node.stop()  # idempotent
    with pytest.raises(AnvilError):
        rpc_call(node.rpc_url, "eth_chainId", timeout=0.5)


def test_port_taken(anvil: Anvil) -> None:
    with pytest.raises(AnvilError, match="in use"):
        Anvil(port=anvil.port).start()


def test_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(AnvilError, match="make setup"):
        Anvil(binary=tmp_path / "no-anvil").start()


def test_dev_accounts_match_anvil(anvil: Anvil) -> None:
    nodes = [a.lower() for a in rpc_call(anvil.rpc_url, "eth_accounts")]
    assert [a.address.lower() for a in dev_accounts()] == nodes
    assert "private_key" not in repr(dev_accounts()[0])


def test_connect_unreachable() -> None:
    with pytest.raises(RpcError, match="verinfer chain up"):
        connect("http://127.0.0.1:9", timeout_s=1)


def test_toolcheck() -> None:
    assert "anvil" in anvil_version()
    assert check_solc().startswith("0.8.30")
