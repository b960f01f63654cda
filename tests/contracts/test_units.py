"""Pure helpers: input hashing, felts, revert decoding, signer key hygiene."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_abi.abi import encode
from eth_account import Account
from eth_utils.crypto import keccak

from contracts.encoding import FIELD_MODULUS, from_felt, input_hash, to_felt, words
from contracts.errors import SignerError
from contracts.reverts import decode_revert, error_table
from contracts.signer import Signer

KEY = "0x" + "42" * 32


def test_input_hash_is_packed_words() -> None:
    assert input_hash([1, 2]) == keccak(encode(["uint256", "uint256"], [1, 2]))
    assert words([FIELD_MODULUS - 1])[:1] == b"\x30"
    with pytest.raises(ValueError, match="to_felt"):
        words([-1])


def test_felts() -> None:
    assert to_felt(-1) == FIELD_MODULUS - 1 and to_felt(5) == 5
    assert from_felt(to_felt(-123)) == -123
    with pytest.raises(ValueError):
        to_felt(FIELD_MODULUS)


def test_decode_revert_variants() -> None:
    abi = [{"type": "error", "name": "Bad", "inputs": [{"type": "uint256", "name": "x"}]}]
    table = error_table(abi)
    assert (
        decode_revert(keccak(text="Bad(uint256)")[:4] + encode(["uint256"], [7]), table).name
        == "Bad"
    )
    err = decode_revert(bytes.fromhex("08c379a0") + encode(["string"], ["nope"]), table)
    assert (err.name, err.error_args) == ("Error", ("nope",))
    assert decode_revert(b"", table).name == ""
    assert decode_revert(b"\xde\xad\xbe\xef", table).name == "Unknown"


def test_signer_never_shows_key() -> None:
    s = Signer.from_private_key(KEY)
    assert s.address == Account.from_key(KEY).address
    assert "42" * 8 not in repr(s) and "42" * 8 not in str(s)


def test_signer_bad_key_not_echoed() -> None:
    with pytest.raises(SignerError) as exc:
        Signer.from_private_key("0x1234zz")
    assert "1234zz" not in str(exc.value) and exc.value.__cause__ is None


def test_signer_keystore(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(bytes.fromhex(KEY[2:]), "pw", iterations=2)))
    assert Signer.from_keystore(path, "pw").address == Account.from_key(KEY).address
    with pytest.raises(SignerError, match="wrong password"):
        Signer.from_keystore(path, "nope")
