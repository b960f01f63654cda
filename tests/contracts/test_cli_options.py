"""`chain_options`: a command gets one ChainOptions built from the shared flags and ETH_RPC_URL;
`load_signer` takes a keystore password as text or from a file and never prints the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from eth_account import Account
from typer.testing import CliRunner

from contracts.cli_options import ChainOptions, chain_options, load_signer
from contracts.errors import SignerError

runner = CliRunner()
KEY = "0x" + "42" * 32


def _app(**options: Any) -> tuple[typer.Typer, list[ChainOptions]]:
    """A one-command app whose command records the ChainOptions it was called with."""
    app = typer.Typer()
    seen: list[ChainOptions] = []

    @app.command()
    @chain_options(**options)
    def verb(
        game: Annotated[int, typer.Argument()],
        *,
        chain: ChainOptions,
        loud: Annotated[bool, typer.Option("--loud")] = False,
    ) -> None:
        seen.append(chain)
        typer.echo(f"game {game} loud {loud}")

    return app, seen


def test_a_verb_gets_the_chain_options_from_its_flags(tmp_path: Path) -> None:
    app, seen = _app(models=True)
    args = ["7", "--rpc-url", "http://node:8545", "--private-key", KEY, "--loud"]
    args += ["--keystore", str(tmp_path / "k.json"), "--password-file", str(tmp_path / "pw")]
    args += ["--deployment", str(tmp_path / "d.json"), "--model", "a", "--model", "b"]
    res = runner.invoke(app, args, env={"ETH_RPC_URL": "http://other:1"})
    assert res.exit_code == 0, res.output
    assert res.output.strip() == "game 7 loud True"
    assert seen == [
        ChainOptions(
            "http://node:8545",
            KEY,
            tmp_path / "k.json",
            tmp_path / "pw",
            tmp_path / "d.json",
            ["a", "b"],
        )
    ]


def test_eth_rpc_url_fills_the_flag() -> None:
    app, seen = _app()
    res = runner.invoke(app, ["1"], env={"ETH_RPC_URL": "http://from-env:8545"})
    assert res.exit_code == 0, res.output
    assert seen == [ChainOptions("http://from-env:8545", None, None, None, None, None)]
    assert seen[0].url() == "http://from-env:8545"


def test_flags_left_out_are_refused_and_the_envvar_can_be_unbound() -> None:
    app, seen = _app(signer=False, deployment=False, rpc_envvar=None)
    res = runner.invoke(app, ["1"], env={"ETH_RPC_URL": "http://from-env:8545"})
    assert res.exit_code == 0, res.output
    assert seen == [ChainOptions(None, None, None, None, None, None)]
    res = runner.invoke(app, ["1", "--private-key", KEY])
    assert res.exit_code == 2 and KEY not in res.output
    helped = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "--rpc-url" in helped and "--keystore" not in helped and "--deployment" not in helped


def test_helps_reword_a_flag() -> None:
    app, _ = _app(helps={"rpc_url": "Settle on this node."})
    helped = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "Settle on this node." in helped and "JSON-RPC URL of the node." not in helped


def test_a_clash_or_a_positional_chain_is_refused() -> None:
    with pytest.raises(TypeError, match="clash"):

        @chain_options()
        def clash(rpc_url: str, *, chain: ChainOptions) -> None: ...

    with pytest.raises(TypeError, match="keyword-only"):

        @chain_options()
        def positional(chain: ChainOptions) -> None: ...


def test_load_signer_takes_the_keystore_password_as_text_or_file(tmp_path: Path) -> None:
    account = Account.from_key(KEY)
    keystore = tmp_path / "key.json"
    blob = Account.encrypt(account.key, "s3cret", kdf="pbkdf2", iterations=2)
    keystore.write_text(json.dumps(blob))
    (tmp_path / "pw").write_text("s3cret\n")
    by_file = load_signer(ChainOptions(None, None, keystore, tmp_path / "pw", None, None))
    by_text = load_signer(ChainOptions(None, None, keystore, None, None, None), password="s3cret")
    assert by_file is not None and by_text is not None
    assert by_file.address == by_text.address == account.address
    assert KEY[2:] not in repr(by_file)
    with pytest.raises(SignerError, match=r"pass --password$"):
        # stdin is no terminal under pytest: no prompt, the command's flag is named
        load_signer(
            ChainOptions(None, None, keystore, None, None, None), password_flag="--password"
        )
