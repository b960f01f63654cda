"""The Open Inference Protocol as real clients speak it: binary tensors both ways, INT64 inputs,
compressed bodies, versions, requested outputs, and a 422 naming each lie a body can tell."""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from numpy.typing import NDArray

from api.app import create_app
from api.deps import Gateway
from api.errors import BadRequestError
from api.jobs import JobStore
from api.oip import decode_bytes, encode_bytes
from models.card import ModelCard, TensorSpec
from models.registry import Registry
from tests.api.fakes import FakeBackend, gateway

URL = "/v2/models/digits-mlp/infer"
LENGTH = "Inference-Header-Content-Length"


@pytest.fixture
def client(registry: Registry, tmp_path: Path) -> Any:
    backend = FakeBackend(registry.card("digits-mlp"), released=True)
    gw, _ = gateway(registry.card("digits-mlp"), tmp_path / "j.db", backend, max_body_bytes=1 << 16)
    with TestClient(create_app(gw)) as c:
        yield c


def binary_body(header: dict[str, Any], *tensors: bytes) -> tuple[bytes, dict[str, str]]:
    """A binary-extension body: the JSON header, then the raw tensors (as Triton's client)."""
    raw = json.dumps(header).encode()
    return raw + b"".join(tensors), {LENGTH: str(len(raw))}


def _pixels(first: float = 0.5) -> NDArray[np.float32]:
    x = np.full((1, 64), 0.5, dtype="<f4")
    x[0, 0] = first
    return x


def _input(size: int, **extra: Any) -> dict[str, Any]:
    params = {"binary_data_size": size, **extra}
    return {"name": "input", "shape": [1, 64], "datatype": "FP32", "parameters": params}


def _split(r: Any) -> tuple[dict[str, Any], bytes]:
    n = int(r.headers[LENGTH])
    return json.loads(r.content[:n]), r.content[n:]


def test_binary_in_and_binary_out_echoing_the_id(client: TestClient) -> None:
    x = _pixels(0.25)
    header = {"id": "req-7", "inputs": [_input(256)], "parameters": {"binary_data_output": True}}
    content, headers = binary_body(header, x.tobytes())
    r = client.post(URL, content=content, headers=headers)  # no Content-Type, like tritonclient
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    doc, tail = _split(r)
    assert doc["id"] == "req-7" and doc["model_name"] == "digits-mlp"
    out = doc["outputs"][0]
    assert out == {
        "name": "logits",
        "datatype": "FP32",
        "shape": [1, 10],
        "parameters": {"binary_data_size": 40},
    }
    logits = np.frombuffer(tail, dtype="<f4")
    assert logits[0] == pytest.approx(float(x.sum()) * 2) and logits[1:].tolist() == [0.0] * 9
    assert doc["parameters"]["verification"] == "zk" and doc["parameters"]["proof_id"]


def test_binary_in_json_out_and_json_in_binary_out(client: TestClient) -> None:
    x = _pixels()
    header = {
        "inputs": [_input(256)],
        "outputs": [{"name": "logits", "parameters": {"binary_data": False}}],
    }
    content, headers = binary_body(header, x.tobytes())
    r = client.post(URL, content=content, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert LENGTH.lower() not in r.headers
    assert r.json()["outputs"][0]["data"][0] == pytest.approx(64.0)
    tensor = {"name": "input", "shape": [1, 64], "datatype": "FP32", "data": x.ravel().tolist()}
    wanted = {
        "inputs": [tensor],
        "outputs": [{"name": "logits", "parameters": {"binary_data": True}}],
    }
    r = client.post(URL, content=json.dumps(wanted))
    doc, tail = _split(r)
    assert doc["outputs"][0]["parameters"]["binary_data_size"] == 40 and len(tail) == 40


@pytest.mark.parametrize(
    ("content", "headers", "fragment"),
    [
        (b'{"inputs": []}', {LENGTH: "999"}, "not a byte length within"),
        (b'{"inputs": []}', {LENGTH: "ten"}, "not a byte length within"),
        (*binary_body({"inputs": [_input(300)]}, _pixels().tobytes()), "runs past the 256 bytes"),
        (*binary_body({"inputs": [_input(128)]}, _pixels().tobytes()), "belong to no input"),
        (*binary_body({"inputs": [_input(128)]}, _pixels().tobytes()[:128]), "128 bytes of FP32"),
        (*binary_body({"inputs": [_input(-4)]}), "not a byte count"),
        (*binary_body({"inputs": [_input(True)]}), "not a byte count"),
        (json.dumps({"inputs": [_input(256)]}).encode(), {}, "no Inference-Header-Content-Length"),
        (
            *binary_body({"inputs": [{**_input(256), "data": [0.5] * 64}]}, _pixels().tobytes()),
            "not both",
        ),
        (*binary_body({"inputs": [_input(256)]}, _pixels(np.nan).tobytes()), "NaN and infinity"),
        (*binary_body({"inputs": [_input(256)]}, _pixels(3.0).tobytes()), "outside the model's"),
        (
            *binary_body(
                {"inputs": [{**_input(512), "datatype": "FP64"}]}, _pixels().astype("<f8").tobytes()
            ),
            None,
        ),
        (
            *binary_body({"inputs": [{**_input(64), "datatype": "INT8"}]}, bytes(64)),
            "datatype 'INT8'",
        ),
        (
            *binary_body({"inputs": [{**_input(64), "datatype": "NOPE"}]}, bytes(64)),
            "datatype 'NOPE'",
        ),
    ],
)
def test_every_lie_a_binary_body_can_tell_is_a_422_naming_it(
    client: TestClient, content: bytes, headers: dict[str, str], fragment: str | None
) -> None:
    r = client.post(URL, content=content, headers=headers)
    if fragment is None:  # FP64 for an FP32 input: accepted (every value checked to fit)
        assert r.status_code == 200, r.text
        return
    assert r.status_code == 422, r.text
    assert fragment in r.json()["error"]


@pytest.mark.parametrize(
    ("request_doc", "fragment"),
    [
        ({"outputs": [{"name": "probs"}]}, "unknown output 'probs'; this model gives 'logits'"),
        ({"outputs": [{"name": "logits", "parameters": {"classification": 3}}]}, "classification"),
        ({"parameters": {"binary_data_output": "yes"}}, "must be true or false"),
        ({"parameters": {"nested": {"a": 1}}}, "parameters.nested"),
    ],
)
def test_bad_output_requests_and_nested_parameters_are_422(
    client: TestClient, request_doc: dict[str, Any], fragment: str
) -> None:
    tensor = {"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}
    r = client.post(URL, json={"inputs": [tensor], **request_doc})
    assert r.status_code == 422, r.text
    assert fragment in r.json()["error"]


def test_gzip_and_deflate_bodies_are_read_and_a_bomb_is_413(client: TestClient) -> None:
    tensor = {"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}
    raw = json.dumps({"id": "z", "inputs": [tensor]}).encode()
    for encoding, packed in (("gzip", gzip.compress(raw)), ("deflate", zlib.compress(raw))):
        r = client.post(URL, content=packed, headers={"Content-Encoding": encoding})
        assert r.status_code == 200, (encoding, r.text)
        assert r.json()["id"] == "z"
    bomb = gzip.compress(b" " * (8 << 20))  # 8 MiB of spaces in about 8 KB
    assert len(bomb) < 1 << 16
    r = client.post(URL, content=bomb, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413 and "inflates to more than" in r.json()["error"]
    r = client.post(URL, content=raw, headers={"Content-Encoding": "br"})
    assert r.status_code == 415 and "gzip, deflate" in r.json()["error"]
    r = client.post(URL, content=b"not gzip", headers={"Content-Encoding": "gzip"})
    assert r.status_code == 422 and "not valid gzip" in r.json()["error"]


def test_versioned_routes_serve_version_1_only(client: TestClient) -> None:
    tensor = {"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}
    base = "/v2/models/digits-mlp/versions"
    assert client.post(f"{base}/1/infer", json={"inputs": [tensor]}).status_code == 200
    for suffix in ("", "/ready", "/config", "/stats"):
        assert client.get(f"{base}/1{suffix}").status_code == 200, suffix
        r = client.get(f"{base}/2{suffix}")
        assert r.status_code == 404 and "no version '2'" in r.json()["error"]
    r = client.post(f"{base}/2/infer", json={"inputs": [tensor]})
    assert r.status_code == 404 and "serves version 1" in r.json()["error"]


def test_server_metadata_repository_config_and_flat_model_parameters(client: TestClient) -> None:
    server = client.get("/v2").json()
    assert server["name"] == "verinfer" and server["version"] == "0.1.0"
    assert {"binary_tensor_data", "statistics", "model_repository"} <= set(server["extensions"])
    index = client.post("/v2/repository/index").json()
    assert index == [{"name": "digits-mlp", "version": "1", "state": "READY", "reason": ""}]
    config = client.get("/v2/models/digits-mlp/config").json()
    assert config["input"] == [{"name": "input", "data_type": "TYPE_FP32", "dims": [1, 64]}]
    assert config["output"][0]["data_type"] == "TYPE_FP32"
    params = client.get("/v2/models/digits-mlp").json()["parameters"]
    assert all(isinstance(v, str | int | float | bool) for v in params.values()), params
    assert params["verification"] == "zk" and "metric_test_accuracy" in params


def test_statistics_count_successes_failures_and_proofs(client: TestClient) -> None:
    tensor = {"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}
    for _ in range(2):
        assert client.post(URL, json={"inputs": [tensor]}).status_code == 200
    assert client.post(URL, json={"inputs": [{**tensor, "shape": [64]}]}).status_code == 422
    assert client.post("/v2/models/nope/infer", json={"inputs": [tensor]}).status_code == 404
    one = client.get("/v2/models/digits-mlp/stats").json()["model_stats"]
    assert client.get("/v2/models/stats").json()["model_stats"][0]["name"] == "digits-mlp"
    s = one[0]
    assert s["inference_count"] == 2 and s["execution_count"] == 2
    assert s["inference_stats"]["success"]["count"] == 2
    assert s["inference_stats"]["fail"]["count"] == 1
    assert s["inference_stats"]["compute_infer"]["count"] == 2
    assert s["inference_stats"]["success"]["ns"] >= s["inference_stats"]["compute_infer"]["ns"] > 0
    assert s["last_inference"] > 0
    assert client.get("/v2/models/nope/stats").status_code == 404


def test_bytes_elements_round_trip_and_a_short_one_is_refused() -> None:
    items = [b"", b"hello", bytes(range(256))]
    raw = encode_bytes(items)
    assert raw[:4] == struct.pack("<I", 0) and decode_bytes(raw, 3, "t") == items
    with pytest.raises(BadRequestError, match="length-prefixed"):
        decode_bytes(raw[:-1], 3, "t")
    with pytest.raises(BadRequestError, match="length-prefixed"):
        decode_bytes(raw, 2, "t")


# A MiniLM-like model: two INT64 inputs, the mask bounded to {0, 1}.
SEQ = 8


class IdsBackend:
    """Sums ids under the mask into a 4-vector; records the arrays it was given."""

    def __init__(self, card: ModelCard) -> None:
        self.name, self.commitment = card.name, card.commitment
        self.input_shape = [1, 2 * SEQ]
        self.seen: list[dict[str, NDArray[Any]]] = []

    def predict(self, inputs: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        self.seen.append(inputs)
        total = float((inputs["input_ids"] * inputs["attention_mask"]).sum())
        return {"embedding": np.asarray([[total, 0.0, 0.0, 1.0]])}

    def prove(self, x: NDArray[np.float32]) -> dict[str, Any]:
        return {"proof_hex": "0x00"}


def _ids_card() -> ModelCard:
    return ModelCard(
        name="ids-model",
        mode="zk",
        description="fake MiniLM-shaped model",
        inputs=[
            TensorSpec(name="input_ids", shape=[1, SEQ], dtype="int64"),
            TensorSpec(name="attention_mask", shape=[1, SEQ], dtype="int64", min=0, max=1),
        ],
        outputs=[TensorSpec(name="embedding", shape=[1, 4])],
        commitment="0x" + "11" * 32,
        onnx_file="model.onnx",
    )


@pytest.fixture
def ids(tmp_path: Path) -> Any:
    card = _ids_card()
    backend = IdsBackend(card)
    gw = Gateway(
        JobStore(f"sqlite:///{tmp_path / 'i.db'}"), {card.name: backend}, {card.name: card}
    )
    with TestClient(create_app(gw)) as c:
        yield c, backend


IDS_URL = "/v2/models/ids-model/infer"
TOKENS = [101, 7592, 2088, 102, 0, 0, 0, 0]
MASK = [1, 1, 1, 1, 0, 0, 0, 0]


def _ids_tensor(name: str, data: list[Any], datatype: str = "INT64") -> dict[str, Any]:
    return {"name": name, "shape": [1, SEQ], "datatype": datatype, "data": data}


def test_int64_inputs_as_json_reach_the_backend_as_int64(ids: Any) -> None:
    client, backend = ids
    doc = {"inputs": [_ids_tensor("attention_mask", MASK), _ids_tensor("input_ids", TOKENS)]}
    r = client.post(IDS_URL, json=doc)
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["data"][0] == float(sum(TOKENS[:4]))
    got = backend.seen[-1]
    assert got["input_ids"].dtype == np.int64 and got["input_ids"].tolist() == [TOKENS]
    assert got["attention_mask"].dtype == np.int64 and got["attention_mask"].shape == (1, SEQ)
    meta = client.get("/v2/models/ids-model").json()
    assert [t["datatype"] for t in meta["inputs"]] == ["INT64", "INT64"]


def test_int64_and_int32_binary_inputs_are_accepted(ids: Any) -> None:
    client, backend = ids
    ids64 = np.asarray([TOKENS], dtype="<i8").tobytes()
    mask32 = np.asarray([MASK], dtype="<i4").tobytes()

    def binary(name: str, datatype: str, size: int) -> dict[str, Any]:
        params = {"binary_data_size": size}
        return {"name": name, "shape": [1, SEQ], "datatype": datatype, "parameters": params}

    header = {"inputs": [binary("input_ids", "INT64", 64), binary("attention_mask", "INT32", 32)]}
    content, headers = binary_body(header, ids64, mask32)
    r = client.post(IDS_URL, content=content, headers=headers)
    assert r.status_code == 200, r.text
    assert backend.seen[-1]["attention_mask"].dtype == np.int64
    assert backend.seen[-1]["attention_mask"].tolist() == [MASK]


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ([_ids_tensor("input_ids", TOKENS)], "missing input 'attention_mask'"),
        (
            [_ids_tensor("input_ids", TOKENS), _ids_tensor("input_ids", TOKENS)],
            "given twice",
        ),
        (
            [_ids_tensor("input_ids", TOKENS, "FP32"), _ids_tensor("attention_mask", MASK)],
            "datatype 'FP32' not accepted; send INT64",
        ),
        (
            [_ids_tensor("input_ids", [1.5] * SEQ), _ids_tensor("attention_mask", MASK)],
            "element 0 is 1.5, not an integer",
        ),
        (
            [_ids_tensor("input_ids", [2**63] * SEQ), _ids_tensor("attention_mask", MASK)],
            "outside int64's range",
        ),
        (
            [_ids_tensor("input_ids", [True] * SEQ), _ids_tensor("attention_mask", MASK)],
            "not an integer",
        ),
        (
            [_ids_tensor("input_ids", TOKENS), _ids_tensor("attention_mask", [2] * SEQ)],
            "outside the model's accepted range [0.0, 1.0]",
        ),
    ],
)
def test_int64_inputs_that_do_not_fit_are_422(
    ids: Any, inputs: list[dict[str, Any]], fragment: str
) -> None:
    client, backend = ids
    r = client.post(IDS_URL, json={"inputs": inputs})
    assert r.status_code == 422, r.text
    assert fragment in r.json()["error"]
    assert backend.seen == []
