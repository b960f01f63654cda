"""A small HTTP client for a verinfer gateway (Open Inference Protocol)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from verifier.errors import GatewayError
from verinfer.safejson import JsonLimitError, loads

# A proof document is a few tens of KB; the cap only stops a hostile gateway from exhausting
# the client's memory (or, nested deep, its C stack: see verinfer.safejson).
MAX_RESPONSE_BYTES = 16 << 20


class Client:
    """Send inputs and fetch proofs. Example::

    with Client("http://127.0.0.1:8000") as c:
        resp = c.infer("digits-mlp", pixels, shape=[1, 64])
        proof = c.proof("digits-mlp", resp["parameters"]["proof_id"])
    """

    def __init__(
        self, base_url: str, timeout: float = 30.0, max_response_bytes: int = MAX_RESPONSE_BYTES
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout)
        self.max_response_bytes = max_response_bytes

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
        return self._json(*self._fetch("POST", f"/v2/models/{model}/infer", json=body))

    def proof(
        self, model: str, proof_id: str, wait_s: float = 120.0, poll_s: float = 0.25
    ) -> dict[str, Any]:
        """The finished proof document, polling while the gateway answers 202."""
        deadline = time.monotonic() + wait_s
        while True:
            status, body = self._fetch("GET", f"/v2/models/{model}/proofs/{proof_id}")
            if status != 202:
                return self._json(status, body)
            if time.monotonic() > deadline:
                raise GatewayError(
                    f"proof {proof_id} not ready after {wait_s:.0f}s; "
                    "poll again later or raise wait_s"
                )
            time.sleep(poll_s)

    def _fetch(self, method: str, url: str, **kw: Any) -> tuple[int, bytes]:
        """(status, body) with the body read only up to ``max_response_bytes``."""
        try:
            with self._http.stream(method, url, **kw) as resp:
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > self.max_response_bytes:
                        raise GatewayError(
                            f"gateway answer to {method} {url} is over "
                            f"{self.max_response_bytes} bytes; refusing to read it"
                        )
                return resp.status_code, bytes(body)
        except httpx.HTTPError as exc:
            raise GatewayError(f"{method} {url} failed: {exc}") from exc

    def _json(self, status: int, raw: bytes) -> dict[str, Any]:
        try:
            body = loads(raw, max_bytes=self.max_response_bytes)
        except JsonLimitError as exc:
            raise GatewayError(f"gateway sent an unusable answer (HTTP {status}): {exc}") from exc
        if not isinstance(body, dict):
            raise GatewayError(f"gateway sent JSON that is not an object (HTTP {status})")
        if status >= 400:
            raise GatewayError(f"gateway error {status}: {body.get('error', body)}")
        return body
