"""Decode revert data into `ContractRevert` (custom error name + args) by 4-byte selector.

Usage::

    table = error_table(escrow_abi, registry_abi)
    raise decode_revert(bytes.fromhex(data[2:]), table)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from contracts.errors import ContractRevert

ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)

ErrorTable = dict[bytes, tuple[str, list[str]]]


def canonical_type(param: dict[str, Any]) -> str:
    """The ABI type string used in signatures (tuples expanded)."""
    typ = str(param["type"])
    if typ.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param.get("components", []))
        return f"({inner}){typ[len('tuple') :]}"
    return typ


def error_table(*abis: Iterable[dict[str, Any]]) -> ErrorTable:
    """Map selector → (error name, arg types) over every `error` entry of the given ABIs."""
    table: ErrorTable = {
        ERROR_STRING: ("Error", ["string"]),
        PANIC: ("Panic", ["uint256"]),
    }
    for abi in abis:
        for item in abi:
            if item.get("type") == "error":
                types = [canonical_type(p) for p in item.get("inputs", [])]
                sig = f"{item['name']}({','.join(types)})"
                table[keccak(text=sig)[:4]] = (str(item["name"]), types)
    return table


def decode_revert(data: bytes, table: ErrorTable) -> ContractRevert:
    """A `ContractRevert` for raw revert data; name "" when empty, "Unknown" if unmatched."""
    if len(data) < 4:
        return ContractRevert("", (), data)
    entry = table.get(data[:4])
    if entry is None:
        return ContractRevert("Unknown", ("0x" + data.hex(),), data)
    name, types = entry
    try:
        args = tuple(abi_decode(types, data[4:]))
    except Exception:  # malformed payload: keep the name, drop the args
        args = ()
    return ContractRevert(name, tuple(_plain(t, a) for t, a in zip(types, args, strict=True)), data)


def _plain(typ: str, value: Any) -> Any:
    if typ == "address":
        return to_checksum_address(value)
    return "0x" + value.hex() if isinstance(value, bytes) else value


def revert_data(exc_data: Any) -> bytes:
    """Raw bytes from the `data` web3 attaches to a ContractLogicError (str, dict or None)."""
    if isinstance(exc_data, dict):
        exc_data = exc_data.get("data")
    if isinstance(exc_data, str) and exc_data.startswith("0x"):
        try:
            return bytes.fromhex(exc_data[2:])
        except ValueError:
            return b""
    return b""
