from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from api.cli import app
from models.card import ModelCard
from models.commitment import model_commitment
from models.digits import load_digits_split
from models.errors import ModelNotBuiltError, UnknownModelError
from models.registry import Registry


@pytest.mark.parametrize("name", ["digits-mlp", "digits-cnn"])
def test_accuracy_recomputed_with_onnxruntime(registry: Registry, name: str) -> None:
    card = registry.card(name)
    data = load_digits_split()
    sess = ort.InferenceSession(str(registry.onnx_path(name)))
    x = data.x_test.reshape([-1, *card.inputs[0].shape[1:]])
    preds = [int(np.argmax(sess.run(None, {"input": x[i : i + 1]})[0])) for i in range(len(x))]
    accuracy = float(np.mean(np.array(preds) == data.y_test))
    assert accuracy >= 0.90
    assert accuracy == pytest.approx(card.metrics["test_accuracy"])
    assert card.metrics["onnx_vs_torch_max_abs_diff"] <= 1e-4


@pytest.mark.slow
def test_build_is_deterministic_and_commitment_names_the_bytes(
    registry: Registry, tmp_path: Path
) -> None:
    fresh = Registry(tmp_path).build("digits-mlp")
    assert fresh.commitment == registry.card("digits-mlp").commitment
    assert fresh.commitment == model_commitment(tmp_path / "digits-mlp" / "model.onnx")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["digits-mlp"]["commitment"] == fresh.commitment


def test_commitment_changes_with_a_weight(registry: Registry, tmp_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(registry.onnx_path("digits-mlp")))
    init = model.graph.initializer[0]
    arr = numpy_helper.to_array(init).copy()
    arr.flat[0] += 1e-3
    init.CopyFrom(numpy_helper.from_array(arr, init.name))
    path = tmp_path / "tampered.onnx"
    onnx.save(model, str(path))
    assert model_commitment(path) != registry.card("digits-mlp").commitment


def test_unknown_and_unbuilt_models_say_what_to_do(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    with pytest.raises(UnknownModelError, match="known models: digits-cnn"):
        reg.card("no-such-model")
    with pytest.raises(ModelNotBuiltError, match="verinfer models build digits-mlp"):
        reg.card("digits-mlp")


def test_card_round_trips(registry: Registry, tmp_path: Path) -> None:
    card = registry.card("digits-cnn")
    card.save(tmp_path / "card.json")
    assert ModelCard.load(tmp_path / "card.json") == card
    assert card.inputs[0].shape == [1, 1, 8, 8]


def test_cli_list_show_and_errors(registry: Registry) -> None:
    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)
    names = {row["name"]: row for row in listed}
    assert names["digits-mlp"]["commitment"] == registry.card("digits-mlp").commitment
    shown = runner.invoke(app, ["models", "show", "digits-mlp"])
    assert json.loads(shown.stdout)["name"] == "digits-mlp"
    bad = runner.invoke(app, ["models", "show", "nope"])
    assert bad.exit_code != 0


def test_builds_use_the_committed_weights_and_refuse_a_tampered_file(tmp_path: Path) -> None:
    import shutil

    import numpy as np

    from models.digits import PINS_FILE, WEIGHTS_DIR, build_digits
    from models.errors import ExportError

    card = build_digits("digits-mlp", tmp_path / "a")
    assert card.commitment == build_digits("digits-mlp", tmp_path / "b").commitment
    assert card.extra["weights_sha256"] and card.metrics["test_accuracy"] > 0.95
    copy = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, copy)
    with np.load(copy / "digits-mlp.npz") as z:
        state = {k: z[k] for k in z.files}
    key = sorted(state)[0]
    state[key] = state[key] + np.float32(1e-3)
    np.savez(copy / "digits-mlp.npz", **state)
    with pytest.raises(ExportError, match=f"does not match its pin in {PINS_FILE}"):
        build_digits("digits-mlp", tmp_path / "c", weights_dir=copy)
    (copy / "digits-cnn.npz").unlink()
    with pytest.raises(ExportError, match="models train digits-cnn"):
        build_digits("digits-cnn", tmp_path / "d", weights_dir=copy)


def test_retraining_is_explicit_and_rewrites_weights_and_pin(tmp_path: Path) -> None:
    import json

    from models.digits import PINS_FILE, build_digits, train_digits

    path = train_digits("digits-cnn", weights_dir=tmp_path)
    pins = json.loads((tmp_path / PINS_FILE).read_text())
    assert path.is_file() and set(pins) == {"digits-cnn"}
    card = build_digits("digits-cnn", tmp_path / "out", weights_dir=tmp_path)
    assert card.extra["weights_sha256"] == pins["digits-cnn"]
