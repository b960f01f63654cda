"""`Signer`: a local signing key (raw private key or encrypted keystore) that never shows it.

Usage::

    signer = Signer.from_private_key(os.environ["ETH_PRIVATE_KEY"])
    signer = Signer.from_keystore(Path("key.json"), password)
    signer = Signer.from_settings()        # ETH_PRIVATE_KEY or ETH_KEYSTORE (+ password)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import SecretStr

from contracts.errors import SignerError
from verinfer.settings import get_settings


class Signer:
    """Holds a key for signing transactions; repr/str show only the address."""

    __slots__ = ("_account",)

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @classmethod
    def from_private_key(cls, key: str | SecretStr) -> Signer:
        """From a hex private key (with or without 0x)."""
        raw = key.get_secret_value() if isinstance(key, SecretStr) else key
        try:
            return cls(Account.from_key(raw.strip()))
        except Exception:  # eth_account raises several types; `from None`: never echo the key
            raise SignerError(
                "the private key is not a valid 32-byte hex key; check ETH_PRIVATE_KEY"
            ) from None

    @classmethod
    def from_keystore(cls, path: Path, password: str | SecretStr) -> Signer:
        """From an encrypted JSON keystore (geth / `cast wallet` format)."""
        pw = password.get_secret_value() if isinstance(password, SecretStr) else password
        try:
            blob: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise SignerError(f"cannot read keystore {path}: {exc}") from exc
        try:
            key = Account.decrypt(blob, pw)
        except ValueError:
            raise SignerError(f"keystore {path} did not decrypt: wrong password?") from None
        return cls(Account.from_key(key))

    @classmethod
    def from_settings(cls, password: str | SecretStr | None = None) -> Signer:
        """From ETH_PRIVATE_KEY, else ETH_KEYSTORE with `password`."""
        s = get_settings()
        if s.private_key is not None:
            return cls.from_private_key(s.private_key)
        if s.keystore is not None:
            if password is None:
                raise SignerError("ETH_KEYSTORE is set: pass its password (--password)")
            return cls.from_keystore(s.keystore, password)
        raise SignerError("no signing key: set ETH_PRIVATE_KEY or ETH_KEYSTORE, or pass a flag")

    @property
    def address(self) -> str:
        return str(self._account.address)

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        """Sign a filled transaction dict; returns the raw signed bytes."""
        return bytes(self._account.sign_transaction(tx).raw_transaction)

    def __repr__(self) -> str:
        return f"Signer(address={self.address})"

    __str__ = __repr__
