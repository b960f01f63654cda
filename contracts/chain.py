"""Start and stop a local anvil dev node on a free loopback port.

Usage::

    with Anvil() as node:
        w3 = connect(node.rpc_url)
        key = node.accounts[0].private_key
        node.increase_time(3600)
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from eth_account import Account

from contracts.errors import AnvilError
from verinfer.settings import get_settings

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNTS = 10
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class DevAccount:
    """A funded anvil dev account. Its key is public knowledge: never use it on a real chain."""

    address: str
    private_key: str = field(repr=False)


def dev_accounts(n: int = DEV_ACCOUNTS, mnemonic: str = DEV_MNEMONIC) -> list[DevAccount]:
    """Derive the first `n` accounts of anvil's mnemonic (BIP-44 path m/44'/60'/0'/0/i)."""
    Account.enable_unaudited_hdwallet_features()
    accts = [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(n)]
    return [DevAccount(a.address, "0x" + bytes(a.key).hex()) for a in accts]


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_port_free(port: int) -> None:
    # Without this, a node already on the port would answer eth_chainId and be mistaken for ours.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise AnvilError(
                f"port {port} on 127.0.0.1 is in use (another `verinfer chain up`?); "
                "stop it or pick another --port"
            ) from None


def rpc_call(url: str, method: str, params: list[Any] | None = None, timeout: float = 5.0) -> Any:
    """One raw JSON-RPC call (no web3). Usage: ``rpc_call(url, "eth_chainId")``."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    req = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            reply = json.loads(resp.read())
    except (OSError, ValueError) as exc:
        raise AnvilError(f"JSON-RPC {method} to {url} failed: {exc}") from exc
    if "error" in reply:
        raise AnvilError(f"JSON-RPC {method} returned an error: {reply['error']}")
    return reply.get("result")


class Anvil:
    """An anvil process on 127.0.0.1; a context manager that stops it on exit."""

    def __init__(self, port: int | None = None, chain_id: int = 31337, binary: Path | None = None):
        self.port = port or free_port()
        self.chain_id = chain_id
        self.binary = binary or get_settings().anvil_bin
        self.accounts = dev_accounts()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Anvil:
        """Launch anvil and wait until it answers `eth_chainId`."""
        _ensure_port_free(self.port)
        cmd = [str(self.binary), "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        cmd += ["--chain-id", str(self.chain_id), "--mnemonic", DEV_MNEMONIC]
        try:
            self._proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            raise AnvilError(
                f"cannot start anvil at {self.binary}: {exc}; run `make setup`"
            ) from exc
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._fail_if_exited()
            try:
                if int(rpc_call(self.rpc_url, "eth_chainId", timeout=1.0), 16) == self.chain_id:
                    return
            except AnvilError:
                time.sleep(0.05)
        self.stop()
        raise AnvilError(f"anvil did not answer on {self.rpc_url} within {START_TIMEOUT_S} s")

    def _fail_if_exited(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
            raise AnvilError(
                f"anvil exited with code {self._proc.returncode} (port {self.port} taken?): "
                f"{err.strip()[-1000:]}"
            )

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Terminate anvil (kill if it does not exit within a few seconds)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        if proc.stderr:
            proc.stderr.close()

    def increase_time(self, seconds: int) -> None:
        """Move the chain clock forward and mine a block so the new time is visible."""
        increase_time(self.rpc_url, seconds)

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def increase_time(rpc_url: str, seconds: int) -> None:
    """`evm_increaseTime` + `evm_mine`. Usage: ``increase_time(url, 60)``."""
    rpc_call(rpc_url, "evm_increaseTime", [seconds])
    rpc_call(rpc_url, "evm_mine")


def snapshot(rpc_url: str) -> str:
    """`evm_snapshot`: an id to `revert_to` later (tests isolate state with it)."""
    return str(rpc_call(rpc_url, "evm_snapshot"))


def revert_to(rpc_url: str, snapshot_id: str) -> None:
    """`evm_revert` to a snapshot taken with `snapshot`."""
    if not rpc_call(rpc_url, "evm_revert", [snapshot_id]):
        raise AnvilError(f"evm_revert to snapshot {snapshot_id} failed")
