"""`verinfer serve`'s flags reach the gateway it builds and the server it runs."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

import api.serve
from api.cli import app

runner = CliRunner()


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `serve` passed to build_gateway and to uvicorn (neither really starts)."""
    seen: dict[str, Any] = {}

    def build(names: list[str], progress: Any = None, chain: Any = None, **kw: Any) -> Any:
        seen.update(names=names, chain=chain, **kw)
        raise SystemExit(0)  # stop before a server is started

    monkeypatch.setattr(api.serve, "build_gateway", build)
    return seen


@pytest.mark.parametrize(
    ("flag", "want"), [([], None), (["--no-self-request"], False), (["--self-request"], True)]
)
def test_self_request_flag_reaches_the_gateway(
    built: dict[str, Any], flag: list[str], want: bool | None
) -> None:
    res = runner.invoke(app, ["serve", "--model", "minilm-l6", *flag])
    assert res.exit_code == 0, res.output
    # None: VERINFER_SELF_REQUEST decides (api.serve.build_gateway reads it)
    assert built["self_request"] is want and built["names"] == ["minilm-l6"]
