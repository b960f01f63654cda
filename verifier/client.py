"""A small HTTP client for a verinfer gateway (Open Inference Protocol)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from verifier.errors import GatewayError


class Client:
    """Send inputs and fetch proofs. Example::

    with Client("http://127.0.0.1:8000") as c:
        resp = c.infer("digits-mlp", pixels, shape=[1, 64])
        proof = c.proof("digits-mlp", resp["parameters"]["proof_id"])
    """

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def infer(
        self, model: str, x: Sequence[float], shape: list[int], input_name: str = "input"
    ) -> dict[str, Any]:
        """POST the input; returns the response body (outputs at once, proof id in parameters)."""
        body = {
            "inputs": [
                {
                    "name": input_name,
                    "shape": shape,
                    "datatype": "FP32",
                    "data": [float(v) for v in x],
                }
            ]
        }
        return self._json(self._http.post(f"/v2/models/{model}/infer", json=body))

    def proof(
        self, model: str, proof_id: str, wait_s: float = 120.0, poll_s: float = 0.25
    ) -> dict[str, Any]:
        """The finished proof document, polling while the gateway answers 202."""
        deadline = time.monotonic() + wait_s
        while True:
            resp = self._http.get(f"/v2/models/{model}/proofs/{proof_id}")
            if resp.status_code != 202:
                return self._json(resp)
            if time.monotonic() > deadline:
                raise GatewayError(
                    f"proof {proof_id} not ready after {wait_s:.0f}s; "
                    "poll again later or raise wait_s"
                )
            time.sleep(poll_s)

    @staticmethod
    def _json(resp: httpx.Response) -> dict[str, Any]:
        try:
            body: dict[str, Any] = resp.json()
        except ValueError as exc:
            raise GatewayError(f"gateway sent non-JSON (HTTP {resp.status_code})") from exc
        if resp.status_code >= 400:
            raise GatewayError(f"gateway error {resp.status_code}: {body.get('error', body)}")
        return body
