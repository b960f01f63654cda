"""Work an infer request queues is handed over after its answer is written, and never lost."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import api.inference
from api.app import create_app
from api.deferred import Deferred, collecting, defer
from api.routes.infer import _ThenResponse
from models.registry import Registry
from tests.api.fakes import body, gateway


def test_outside_a_request_defer_runs_at_once_inside_it_waits() -> None:
    ran: list[str] = []
    defer(lambda: ran.append("now"))
    with collecting() as later:
        defer(lambda: ran.append("later"))
        assert ran == ["now"]
    later.run()
    later.run()  # once each
    assert ran == ["now", "later"]


def test_a_failing_action_does_not_stop_the_others() -> None:
    ran: list[int] = []
    later = Deferred()

    def boom() -> None:
        raise RuntimeError("a hand-off bug")

    later.add(boom)
    later.add(lambda: ran.append(2))
    later.run()
    assert ran == [2]


def _sent_then(fail_send: bool) -> tuple[list[str], list[int]]:
    sent: list[str] = []
    seen_at: list[int] = []
    later = Deferred()
    later.add(lambda: seen_at.append(len(sent)))

    async def send(message: Any) -> None:
        if fail_send and message["type"] == "http.response.body":
            raise OSError("the client has gone")
        sent.append(message["type"])

    async def receive() -> Any:
        return {"type": "http.disconnect"}

    response = _ThenResponse(b"{}", media_type="application/json", then=later)
    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    with contextlib.suppress(OSError):  # the send error reaches the server, as it would
        asyncio.run(response(scope, receive, send))
    return sent, seen_at


def test_the_hand_off_comes_after_the_last_byte_even_if_the_client_has_gone() -> None:
    sent, seen_at = _sent_then(fail_send=False)
    assert sent == ["http.response.start", "http.response.body"] and seen_at == [2]
    sent, seen_at = _sent_then(fail_send=True)
    assert seen_at == [1]  # still handed over: the job was accepted


def test_a_job_persisted_before_the_answer_failed_is_still_queued(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, backend = gateway(registry.card("digits-mlp"), tmp_path / "d.db")
    backend.release.set()
    created: list[str] = []
    create = gw.store.create

    def recorded(*args: Any) -> Any:
        job = create(*args)
        created.append(job.id)
        return job

    monkeypatch.setattr(gw.store, "create", recorded)

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("encoder bug")

    monkeypatch.setattr(api.inference, "encode_response", broken)
    with TestClient(create_app(gw), raise_server_exceptions=False) as client:
        r = client.post("/v2/models/digits-mlp/infer", json=body([0.5] * 64))
        assert r.status_code == 500 and len(created) == 1
        deadline = time.monotonic() + 30
        while gw.store.get(created[0]).status != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
    assert gw.store.get(created[0]).status == "done"  # proven: it was queued after the failure
