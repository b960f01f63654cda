"""Errors of the contracts package (compile, local chain, web3 calls, reverts).

    VerinferError
    └── ChainError
        ├── ToolMissingError    (anvil / node / solc-js not installed: run `make setup`)
        ├── CompileError        (solc reported errors; carries solc's messages)
        ├── ArtifactError       (a committed artifact is missing, unreadable or stale)
        ├── AnvilError          (the local dev node did not start or answer)
        ├── RpcError            (the JSON-RPC endpoint is unreachable or a call failed)
        ├── SignerError         (no key, a bad key, or a keystore that does not decrypt)
        └── ContractRevert      (a transaction or call reverted; carries the custom error name)

Usage::

    try:
        escrow.fulfill(request_id, proof, instances)
    except ContractRevert as exc:
        if exc.name == "InvalidProof": ...
"""

from __future__ import annotations

from typing import Any

from verinfer.errors import VerinferError


class ChainError(VerinferError):
    """Anything that went wrong compiling, deploying or talking to a contract."""


class ToolMissingError(ChainError):
    """A pinned chain tool (anvil, node, solc-js) is missing or does not run."""


class CompileError(ChainError):
    """solc rejected a source; the message lists solc's errors."""


class ArtifactError(ChainError):
    """A compiled artifact is missing, malformed or out of date."""


class AnvilError(ChainError):
    """The local anvil node failed to start, answer or stop."""


class RpcError(ChainError):
    """The JSON-RPC endpoint could not be reached or a call failed without a revert."""


class SignerError(ChainError):
    """A signing key could not be loaded."""


class ContractRevert(ChainError):
    """A call reverted. ``name`` is the custom error (``"Error"`` for a reason string,
    ``""`` when the revert carried no data) and ``args`` its decoded arguments."""

    def __init__(self, name: str, args: tuple[Any, ...] = (), data: bytes = b"") -> None:
        self.name = name
        self.error_args = args
        self.data = data
        shown = f"{name}({', '.join(map(str, args))})" if name else "empty revert data"
        super().__init__(f"contract reverted: {shown}")
