"""200 requests, 50 at a time, over real HTTP into one SQLite store: none fails."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from api.app import create_app
from api.serve import ServerThread
from models.registry import Registry
from tests.api.fakes import FakeBackend, body, gateway


def test_concurrent_writes_never_fail(registry: Registry, tmp_path: Path) -> None:
    card = registry.card("digits-mlp")
    backend = FakeBackend(card, released=True, predict_s=0.05)
    gw, _ = gateway(card, tmp_path / "jobs.db", backend)
    with ServerThread(create_app(gw)) as url, httpx.Client(base_url=url, timeout=60) as http:

        def one(i: int) -> tuple[int, str]:
            r = http.post("/v2/models/digits-mlp/infer", json=body([(i % 100) / 100] * 64))
            return r.status_code, r.json().get("parameters", {}).get("proof_id", r.text)

        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(one, range(200)))
        codes = [c for c, _ in results]
        assert codes == [200] * 200, {c: codes.count(c) for c in set(codes)}
        ids = {pid for _, pid in results}
        assert len(ids) == 200
        for pid in list(ids)[:20]:
            assert http.get(f"/v2/models/digits-mlp/proofs/{pid}").status_code in (200, 202)
