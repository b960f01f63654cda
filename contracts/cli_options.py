"""The chain and signer flags every command shares, and the one loader of a Signer from them.

Flags follow Foundry: ``--rpc-url`` (``ETH_RPC_URL``), ``--private-key`` (better:
``ETH_PRIVATE_KEY``), ``--keystore`` (``ETH_KEYSTORE``) with ``--password-file``, and
``--deployment`` (the JSON ``verinfer chain up`` writes); ``--model`` names the local models to
re-execute with. Each flag is declared here once; ``chain_options`` adds them to a command and
hands it one ``chain: ChainOptions``. Keys are never printed.

Usage::

    @app.command("status")
    @chain_options(models=True)
    def status(game: int, *, chain: ChainOptions) -> None:
        signer = load_signer(chain, required=False)
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from verinfer.settings import get_settings

if TYPE_CHECKING:
    from contracts.signer import Signer

R = TypeVar("R")
RPC_ENVVAR = "ETH_RPC_URL"
NO_RPC_URL = "no RPC URL: pass --rpc-url or set ETH_RPC_URL"


def no_signer_message(password_flag: str = "--password-file") -> str:
    """What to say when no key is given (the command's password flag named)."""
    return f"no signing key: set ETH_PRIVATE_KEY, or pass --keystore with {password_flag}"


@dataclass(frozen=True)
class ChainOptions:
    """The flags every command shares."""

    rpc_url: str | None
    private_key: str | None
    keystore: Path | None
    password_file: Path | None
    deployment: Path | None
    models: list[str] | None

    def url(self) -> str:
        """``--rpc-url``, else ETH_RPC_URL (or VERINFER_RPC_URL) from the settings."""
        from contracts.errors import RpcError

        url = self.rpc_url or get_settings().rpc_url
        if not url:
            raise RpcError(NO_RPC_URL)
        return url


@dataclass(frozen=True)
class _Flag:
    """One shared flag: its declaration, value type, default help and typer extras."""

    decl: str
    type: Any
    help: str
    extra: Mapping[str, Any]


_FLAGS: dict[str, _Flag] = {
    "rpc_url": _Flag("--rpc-url", str | None, "JSON-RPC URL of the node.", {"envvar": RPC_ENVVAR}),
    "private_key": _Flag(
        "--private-key",
        str | None,
        "Signer key; prefer ETH_PRIVATE_KEY (flags show in `ps`).",
        {"show_default": False},
    ),
    "keystore": _Flag("--keystore", Path | None, "Encrypted keystore (default: ETH_KEYSTORE).", {}),
    "password_file": _Flag(
        "--password-file", Path | None, "File holding the keystore's password.", {}
    ),
    "deployment": _Flag(
        "--deployment", Path | None, "Deployment JSON (default: <data dir>/deployment.json).", {}
    ),
    "model": _Flag(
        "--model", list[str] | None, "Local model(s) to re-execute with (default: all built).", {}
    ),
}
SIGNER_FLAGS = ("private_key", "keystore", "password_file")


def option(name: str, help: str | None = None, **overrides: Any) -> Any:
    """The typer.Option of shared flag ``name`` (a parameter name), in a command's own words.

    Example: ``rpc_url: Annotated[str | None, option("rpc_url", "Node to deploy on.")] = None``
    """
    flag = _FLAGS[name]
    return typer.Option(flag.decl, help=help or flag.help, **{**flag.extra, **overrides})


RpcUrl = Annotated[str | None, option("rpc_url")]
PrivateKey = Annotated[str | None, option("private_key")]
Keystore = Annotated[Path | None, option("keystore")]
PasswordFile = Annotated[Path | None, option("password_file")]
DeploymentPath = Annotated[Path | None, option("deployment")]
Models = Annotated[list[str] | None, option("model")]


def chain_options(
    *,
    signer: bool = True,
    deployment: bool = True,
    models: bool = False,
    helps: Mapping[str, str] | None = None,
    rpc_envvar: str | None = RPC_ENVVAR,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a command the shared flags in place of its keyword-only ``chain`` parameter.

    typer reads the wrapper's ``__signature__``: the flags show in ``--help`` where ``chain``
    stands, and the command is called with ``chain=ChainOptions(...)`` built from them.
    ``signer=False`` leaves out the key flags, ``models=True`` adds ``--model``; ``helps``
    rewords flags for one command (by parameter name), ``rpc_envvar=None`` unbinds ETH_RPC_URL.

    Example::

        @app.command("check")
        @chain_options(signer=False, models=True)
        def check(claim: int, *, chain: ChainOptions) -> None: ...
    """
    names = ["rpc_url", *(SIGNER_FLAGS if signer else ())]
    names += [n for n, on in (("deployment", deployment), ("model", models)) if on]
    shared = [_parameter(n, (helps or {}).get(n), rpc_envvar) for n in names]

    def decorate(func: Callable[..., R]) -> Callable[..., R]:
        sig = inspect.signature(func, eval_str=True)
        params = list(sig.parameters.values())
        at = _chain_slot(func, params, names)

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> R:
            given = {n: kwargs.pop(n, None) for n in names}
            chain = ChainOptions(
                given.get("rpc_url"),
                given.get("private_key"),
                given.get("keystore"),
                given.get("password_file"),
                given.get("deployment"),
                given.get("model"),
            )
            return func(*args, chain=chain, **kwargs)

        new = sig.replace(parameters=[*params[:at], *shared, *params[at + 1 :]])
        command.__signature__ = new  # type: ignore[attr-defined]
        # typer also reads type hints: the wrapped function's may name TYPE_CHECKING imports.
        command.__annotations__ = {p.name: p.annotation for p in new.parameters.values()}
        command.__annotations__["return"] = sig.return_annotation
        return command

    return decorate


def _parameter(name: str, help: str | None, rpc_envvar: str | None) -> inspect.Parameter:
    overrides = {"envvar": rpc_envvar} if name == "rpc_url" else {}
    kind = inspect.Parameter.KEYWORD_ONLY
    hint: Any = Annotated[_FLAGS[name].type, option(name, help, **overrides)]
    return inspect.Parameter(name, kind, default=None, annotation=hint)


def _chain_slot(func: Callable[..., Any], params: list[inspect.Parameter], names: list[str]) -> int:
    """Where ``chain`` stands; it must be keyword-only and no other parameter may clash."""
    where = {p.name: i for i, p in enumerate(params)}
    chain = params[where["chain"]] if "chain" in where else None
    if chain is None or chain.kind is not inspect.Parameter.KEYWORD_ONLY:
        raise TypeError(f"{func.__qualname__}: chain_options needs a keyword-only `chain`")
    clash = sorted(set(names) & set(where))
    if clash:
        raise TypeError(f"{func.__qualname__}: parameters {clash} clash with the shared flags")
    return where["chain"]


# ---- the signer ----


def load_signer(
    opts: ChainOptions,
    required: bool = True,
    *,
    password: str | None = None,
    password_flag: str = "--password-file",
) -> Signer | None:
    """Flags first, then ETH_PRIVATE_KEY / ETH_KEYSTORE; the key is never echoed.

    ``password`` is a keystore password given as text (``chain deploy --password``); else it
    is read from ``opts.password_file``, else prompted for on a terminal. ``password_flag``
    is the flag the messages name.

    Example: ``signer = load_signer(ChainOptions(None, None, path, pw_file, None, None))``
    """
    from contracts.errors import SignerError
    from contracts.signer import Signer

    s = get_settings()
    if opts.private_key:
        return Signer.from_private_key(opts.private_key)
    keystore = opts.keystore or (None if s.private_key is not None else s.keystore)
    if keystore is not None:
        pw = password if password is not None else _password(opts.password_file, password_flag)
        return Signer.from_keystore(keystore, pw)
    if s.private_key is not None:
        return Signer.from_private_key(s.private_key)
    if required:
        raise SignerError(no_signer_message(password_flag))
    return None


def _password(path: Path | None, flag: str) -> str:
    from contracts.errors import SignerError

    if path is not None:
        try:
            return path.read_text().rstrip("\r\n")
        except OSError as exc:
            raise SignerError(f"cannot read the password file {path}: {exc.strerror}") from None
    if sys.stdin.isatty():
        return str(typer.prompt("keystore password", hide_input=True))
    raise SignerError(f"the keystore needs its password: pass {flag}")
