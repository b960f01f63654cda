"""Triton's own Python client (``tritonclient.http``) against the real `verinfer serve` process.

What a Triton user gets is checked against the proof: the outputs read with ``as_numpy`` from a
binary response are the outputs the EZKL proof makes public (``verifier.check_response``).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton
from numpy.typing import NDArray
from tritonclient.utils import InferenceServerException

from api.verify_cmd import trusted_model
from contracts.chain import free_port
from models.digits import load_digits_split
from tests.e2e.served import SERVE, Served, wait_for
from verifier import Client, check_response

pytestmark = pytest.mark.slow

MODELS = {"digits-mlp": [1, 64], "digits-cnn": [1, 1, 8, 8]}


@contextmanager
def _serve(tmp: Path, models: list[str]) -> Iterator[Served]:
    """`verinfer serve --model …` for several models; stopped with SIGINT, which must exit 0."""
    port = free_port()
    env = {**os.environ, "VERINFER_DATABASE_URL": f"sqlite:///{tmp / 'jobs.db'}"}
    log = tmp / "gateway.log"
    flags = [arg for m in models for arg in ("--model", m)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*SERVE, "--port", str(port), *flags], stdout=out, stderr=out, env=env
        )
    served = Served(f"http://127.0.0.1:{port}", proc, log)
    try:
        client = triton.InferenceServerClient(f"127.0.0.1:{port}")
        wait_for(client.is_server_ready, "gateway ready", served, 900)
        yield served
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code: int | None = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = None
    assert code == 0, served.tail()


@pytest.fixture(scope="module")
def served(registry: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with _serve(tmp_path_factory.mktemp("triton"), list(MODELS)) as s:
        yield s


@pytest.fixture
def client(served: Served) -> Iterator[triton.InferenceServerClient]:
    c = triton.InferenceServerClient(served.url.removeprefix("http://"))
    yield c
    c.close()


def _digit(i: int, model: str) -> NDArray[np.float32]:
    x: NDArray[np.float32] = load_digits_split().x_test[i].astype(np.float32)
    return x.reshape(MODELS[model])


def _input(x: NDArray[Any], binary: bool, name: str = "input", dt: str = "FP32") -> Any:
    tensor = triton.InferInput(name, list(x.shape), dt)
    tensor.set_data_from_numpy(x, binary_data=binary)
    return tensor


def test_server_model_metadata_readiness_index_and_config(
    client: triton.InferenceServerClient,
) -> None:
    assert client.is_server_live() and client.is_server_ready()
    meta = client.get_server_metadata()
    assert meta["name"] == "verinfer" and "binary_tensor_data" in meta["extensions"]
    index = client.get_model_repository_index()
    assert [(m["name"], m["state"]) for m in index] == [(n, "READY") for n in sorted(MODELS)]
    for name, shape in MODELS.items():
        assert client.is_model_ready(name) and client.is_model_ready(name, "1")
        model = client.get_model_metadata(name)
        assert model["inputs"] == [{"name": "input", "datatype": "FP32", "shape": shape}]
        assert model["parameters"]["verification"] == "zk"
        assert model["outputs"] == [{"name": "logits", "datatype": "FP64", "shape": [1, 10]}]
        config = client.get_model_config(name)
        assert config["input"][0] == {"name": "input", "data_type": "TYPE_FP32", "dims": shape}
        assert config["output"][0]["data_type"] == "TYPE_FP64"
    assert not client.is_model_ready("nope")


@pytest.mark.parametrize("model", list(MODELS))
def test_binary_both_ways_gives_the_proven_outputs(
    client: triton.InferenceServerClient, served: Served, model: str
) -> None:
    x = _digit(3, model)
    result = client.infer(model, [_input(x, binary=True)], request_id=f"bin-{model}")
    response = result.get_response()
    assert response["id"] == f"bin-{model}"
    # FP64: the proof's outputs are fixed-point at 2^-30, which FP32 would round off.
    assert response["outputs"][0]["datatype"] == "FP64"
    assert response["outputs"][0]["parameters"]["binary_data_size"] == 80
    logits = result.as_numpy("logits")
    assert logits.dtype == np.float64 and logits.shape == (1, 10)
    with Client(served.url) as http:
        proof = http.proof(model, response["parameters"]["proof_id"], wait_s=300)
    as_json = {**response, "outputs": [{**response["outputs"][0], "data": logits.ravel().tolist()}]}
    checked = check_response(x.ravel().tolist(), as_json, proof, trusted_model(model, None, None))
    assert checked.checked_off_chain
    assert checked.prediction == int(load_digits_split().y_test[3])


@pytest.mark.parametrize("model", list(MODELS))
def test_json_both_ways_and_binary_agree(client: triton.InferenceServerClient, model: str) -> None:
    x = _digit(5, model)
    wanted = [triton.InferRequestedOutput("logits", binary_data=False)]
    as_json = client.infer(model, [_input(x, binary=False)], outputs=wanted)
    assert "data" in as_json.get_response()["outputs"][0]
    as_binary = client.infer(model, [_input(x, binary=True)])
    assert np.array_equal(as_json.as_numpy("logits"), as_binary.as_numpy("logits"))
    gzipped = client.infer(model, [_input(x, True)], request_compression_algorithm="gzip")
    assert np.array_equal(gzipped.as_numpy("logits"), as_binary.as_numpy("logits"))
    pending = client.async_infer(model, [_input(x, True)], model_version="1")
    assert np.array_equal(pending.get_result().as_numpy("logits"), as_binary.as_numpy("logits"))


def test_statistics_count_what_was_served(client: triton.InferenceServerClient) -> None:
    def counts() -> tuple[int, int]:
        stats = client.get_inference_statistics("digits-mlp")["model_stats"][0]
        s = stats["inference_stats"]
        return s["success"]["count"], s["fail"]["count"]

    ok, failed = counts()
    x = _digit(0, "digits-mlp")
    client.infer("digits-mlp", [_input(x, True)])
    client.infer("digits-mlp", [_input(x, False)])
    with pytest.raises(InferenceServerException):
        client.infer("digits-mlp", [_input(x.reshape(1, 8, 8), True)])
    assert counts() == (ok + 2, failed + 1)
    every = client.get_inference_statistics()["model_stats"]
    assert sorted(s["name"] for s in every) == sorted(MODELS)


@pytest.mark.parametrize(
    ("model", "make", "status", "fragment"),
    [
        ("nope", lambda x: _input(x, True), "404", "unknown model 'nope'; served models"),
        (
            "digits-mlp",
            lambda x: _input(x.reshape(1, 8, 8), True),
            "422",
            "shape [1, 8, 8] does not match the model's [1, 64]",
        ),
        (
            "digits-mlp",
            lambda x: _input(x.astype(np.int64), True, dt="INT64"),
            "422",
            "datatype 'INT64' not accepted; send FP32",
        ),
        (
            "digits-mlp",
            lambda x: _input(x, False, name="pixels"),
            "422",
            "unknown input 'pixels'; this model takes 'input'",
        ),
        (
            "digits-mlp",
            lambda x: _input(x * 3, True),
            "422",
            "outside the model's accepted range [0.0, 1.0]",
        ),
    ],
)
def test_errors_surface_as_inference_server_exception_with_our_message(
    client: triton.InferenceServerClient, model: str, make: Any, status: str, fragment: str
) -> None:
    x = _digit(0, "digits-mlp")
    with pytest.raises(InferenceServerException) as err:
        client.infer(model, [make(x)])
    assert err.value.status() == status
    assert fragment in err.value.message()
    with pytest.raises(InferenceServerException, match="unknown model 'nope'"):
        client.get_model_metadata("nope")
