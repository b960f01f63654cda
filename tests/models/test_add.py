"""`verinfer models add` on models that are not in the catalogue, built from PyTorch here:
validation, the one-error list of unsupported ops, calibration files, the measured mode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto
from onnx import helper as oh
from typer.testing import CliRunner

from api.cli import app
from models.calibration import CALIBRATION_FILE, load_calibration, samples_for
from models.card import ModelCard, TensorSpec
from models.errors import (
    CalibrationError,
    FidelityError,
    InvalidModelError,
    UnknownModelError,
    UnsupportedOpsError,
)
from models.fidelity import Tolerance
from models.onboard import AddOptions, add_model
from models.registry import Registry
from models.validate import validate_onnx
from prover.cache import TuningRecord, record_path
from tests.models.nets import CNN_SHAPE, small_cnn
from verinfer.settings import Settings

runner = CliRunner()


def _two_unsupported_ops(path: Path) -> Path:
    """x → TopK → Relu → Hardmax → Hardmax → ReduceMax: TopK and Hardmax have no lowering."""
    x = oh.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8])
    y = oh.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 1])
    k = oh.make_tensor("k", TensorProto.INT64, [1], [3])
    nodes = [
        oh.make_node("TopK", ["x", "k"], ["v", "i"], name="top3", axis=2),
        oh.make_node("Relu", ["v"], ["r"], name="relu"),
        oh.make_node("Hardmax", ["r"], ["h1"], name="hard_a"),
        oh.make_node("Hardmax", ["h1"], ["h2"], name="hard_b"),
        oh.make_node("ReduceMax", ["h2"], ["y"], name="pick", axes=[2]),
    ]
    graph = oh.make_graph(nodes, "two-gaps", [x], [y], [k])
    onnx.save(oh.make_model(graph, opset_imports=[oh.make_opsetid("", 13)]), str(path))
    return path


def _nothing_installed(reg: Registry, name: str) -> None:
    assert not (reg.root / name).exists()
    assert list(reg.root.glob(".adding-*")) == []


# ---- validation and refusals (nothing measured, nothing written) ----


def test_a_dynamic_axis_is_named_with_both_fixes(tmp_path: Path, user_settings: Settings) -> None:
    path = small_cnn(tmp_path / "dyn.onnx", {"x": {0: "batch"}, "y": {0: "batch"}})
    with pytest.raises(InvalidModelError) as exc:
        add_model(path, "dyn", AddOptions(input_ranges={"x": (0, 1)}), settings=user_settings)
    msg = str(exc.value)
    assert "input 'x' axis 0 ('batch') is dynamic" in msg
    assert "re-export with fixed shapes" in msg and "--input-shape x=1,1,10,10" in msg
    _nothing_installed(Registry(user_settings.models_dir), "dyn")
    fixed = validate_onnx(path, {"x": CNN_SHAPE})
    assert fixed.inputs[0].shape == CNN_SHAPE and fixed.outputs[0].shape == [1, 5]
    with pytest.raises(InvalidModelError, match="contradicts the model's fixed 10"):
        validate_onnx(path, {"x": [1, 1, 10, 12]})


def test_every_unsupported_op_is_listed_in_one_error_before_any_work(
    tmp_path: Path, user_settings: Settings
) -> None:
    path = _two_unsupported_ops(tmp_path / "gaps.onnx")
    missing = tmp_path / "no-such-calibration.npz"  # never read: the op check comes first
    opts = AddOptions(calibration=missing)
    with pytest.raises(UnsupportedOpsError) as exc:
        add_model(path, "gaps", opts, settings=user_settings)
    msg = str(exc.value)
    assert "cannot lower 2 op type(s)" in msg
    assert "TopK (nodes top3)" in msg and "Hardmax (nodes hard_a, hard_b)" in msg
    assert "relu" not in msg and "ReduceMax" not in msg
    assert "take the argmax outside" not in msg and "pick the top entries outside" in msg
    assert "--mode zk" in msg
    _nothing_installed(Registry(user_settings.models_dir), "gaps")


def test_the_cli_prints_the_op_list_as_one_error(tmp_path: Path, cli_data: Settings) -> None:
    path = _two_unsupported_ops(tmp_path / "gaps.onnx")
    run = runner.invoke(app, ["models", "add", str(path), "--name", "gaps", "--json"])
    assert run.exit_code == 1
    out = json.loads(run.stdout.splitlines()[0])
    assert out["ok"] is False and "TopK (nodes top3)" in out["error"]


def test_bad_calibration_files_say_what_is_wrong(tmp_path: Path, cnn_onnx: Path) -> None:
    inputs = validate_onnx(cnn_onnx).inputs
    xs = np.zeros((4, *CNN_SHAPE), np.float32)
    np.savez(tmp_path / "wrong-key.npz", image=xs)
    np.savez(tmp_path / "shape.npz", x=np.zeros((4, 1, 9, 10)))
    np.save(tmp_path / "nan.npy", np.full((2, *CNN_SHAPE), np.nan, np.float32))
    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "text.json").write_text(json.dumps({"x": ["a", "b"]}))
    (tmp_path / "cal.csv").write_text("1,2,3")
    cases = {
        "wrong-key.npz": r"missing \['x'\]; unknown \['image'\]",
        "shape.npz": r"samples have shape \[4, 1, 9, 10\]",
        "nan.npy": "NaN or infinite",
        "broken.npz": "cannot read calibration file",
        "list.json": "JSON object keyed by input name",
        "text.json": "must be numbers",
        "cal.csv": "are .npy, .npz or .json",
        "absent.npz": "cannot read calibration file",
    }
    for name, match in cases.items():
        with pytest.raises(CalibrationError, match=match):
            load_calibration(tmp_path / name, inputs)
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"x": xs[0].tolist()}))  # a single sample in the input's shape
    assert load_calibration(one, inputs)["x"].shape == (1, *CNN_SHAPE)


def test_a_bad_calibration_file_stops_add_with_nothing_written(
    tmp_path: Path, user_settings: Settings, cnn_onnx: Path
) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((3, 2, 2)))
    with pytest.raises(CalibrationError, match="expected \\(n, 1, 1, 10, 10\\)"):
        add_model(cnn_onnx, "bad-cal", AddOptions(calibration=bad), settings=user_settings)
    _nothing_installed(Registry(user_settings.models_dir), "bad-cal")
    with pytest.raises(CalibrationError, match="--input-range x=LO:HI"):
        add_model(cnn_onnx, "no-cal", AddOptions(), settings=user_settings)


def test_names_unknown_taken_and_catalogue(
    user_settings: Settings, transformer_card: ModelCard, transformer_onnx: Path
) -> None:
    reg = Registry(user_settings.models_dir)
    with pytest.raises(UnknownModelError, match=r"user models: .*user-transformer"):
        reg.card("no-such-model")
    opts = AddOptions(mode="optimistic", input_ranges={"x": (-1.0, 1.0)})
    with pytest.raises(InvalidModelError, match="catalogue model's name"):
        add_model(transformer_onnx, "digits-mlp", opts, settings=user_settings)
    with pytest.raises(InvalidModelError, match=r"already exists.*--replace"):
        add_model(transformer_onnx, "user-transformer", opts, settings=user_settings)
    with pytest.raises(InvalidModelError, match="lowercase letters"):
        add_model(transformer_onnx, "Bad Name", opts, settings=user_settings)


def test_cli_unknown_names_fail_with_one_line(cli_data: Settings) -> None:
    for verb in ("show", "remove", "register"):
        run = runner.invoke(app, ["models", verb, "nope"])
        assert run.exit_code == 1, verb
        assert "unknown model 'nope'" in run.output, run.output
    run = runner.invoke(app, ["models", "remove", "digits-mlp"])
    assert run.exit_code == 1 and "catalogue model" in run.output


# ---- measured modes ----


@pytest.mark.slow
def test_auto_mode_proves_the_small_cnn_with_zk(
    cnn_card: ModelCard, user_settings: Settings, cnn_onnx: Path
) -> None:
    d = cnn_card.decision
    assert d is not None and cnn_card.mode == "zk" and d["requested"] == "auto"
    assert d["circuit"]["logrows"] <= d["budget"]["max_logrows"]
    assert d["probe"]["logrows"] <= d["budget"]["max_logrows"]  # the quick probe ran first
    assert "fits the zk budget" in d["reason"]
    tol = Tolerance(**d["tolerance"])
    f = d["fidelity"]
    assert f["max_rel_error"] <= tol.max_rel_error and f["argmax_agreement"] >= tol.min_agreement
    assert f["n_samples"] == 24 and d["classifier_outputs"] is True
    assert cnn_card.metrics["zk_max_rel_error"] == f["max_rel_error"]
    assert cnn_card.labels == ["cat", "dog", "bird", "fish", "frog"]
    assert (
        cnn_card.source == "user" and cnn_card.metrics["n_params"] == 3 * 9 + 3 + 4 * 27 + 4 + 185
    )
    # The tuned circuit is cached under the commitment, so the prover never re-tunes it.
    rec = TuningRecord.load(record_path(user_settings.artifacts_dir, cnn_card.commitment, "tuned"))
    assert rec.logrows == d["zk_settings"]["logrows"] == d["circuit"]["logrows"]
    assert rec.settings["run_args"]["input_scale"] == d["zk_settings"]["input_scale"]
    assert rec.max_rel_error == f["max_rel_error"] and rec.n_agreement_samples == 24


@pytest.mark.slow
def test_the_installed_model_is_the_users_function(
    cnn_card: ModelCard, user_registry: Registry, cnn_onnx: Path, cnn_calibration: Path
) -> None:
    from models.commitment import model_commitment

    path = user_registry.onnx_path("user-cnn")
    assert model_commitment(path) == cnn_card.commitment == model_commitment(cnn_onnx)
    x = np.load(cnn_calibration)["x"][:3]
    ours = ort.InferenceSession(str(path)).run(None, {"x": x[0]})[0]
    theirs = ort.InferenceSession(str(cnn_onnx)).run(None, {"x": x[0]})[0]
    assert np.array_equal(ours, theirs)
    stored = samples_for(cnn_card, path.parent)
    assert stored.test.shape == (24, *CNN_SHAPE)
    assert (path.parent / CALIBRATION_FILE).is_file()


def test_optimistic_mode_reports_the_executors_error(
    transformer_card: ModelCard, user_registry: Registry
) -> None:
    from disputes.execution.executor import load_program

    d = transformer_card.decision
    assert d is not None and transformer_card.mode == "optimistic"
    assert d["reason"] == "--mode optimistic was requested" and "circuit" not in d
    f = d["fidelity"]
    assert 0 < f["max_rel_error"] <= 0.05 and f["argmax_agreement"] is None
    assert transformer_card.metrics["executor_max_abs_error"] == f["max_abs_error"]
    program = load_program(user_registry.onnx_path("user-transformer"))
    assert transformer_card.extra["program_root"] == "0x" + program.program_root.hex()
    assert transformer_card.extra["n_steps"] == len(program.steps)
    assert transformer_card.inputs[0] == TensorSpec(name="x", shape=[1, 8, 16], min=-1.0, max=1.0)


@pytest.mark.slow
def test_auto_mode_picks_optimistic_for_a_circuit_over_the_budget(
    transformer_onnx: Path, cli_data: Settings
) -> None:
    args = ["models", "add", str(transformer_onnx), "--name", "budget-transformer"]
    args += ["--input-range", "x=-1:1", "--zk-max-logrows", "12", "--json"]
    run = runner.invoke(app, args)
    assert run.exit_code == 0, run.output
    card = ModelCard.model_validate(json.loads(run.stdout))
    d = card.decision
    assert d is not None and card.mode == "optimistic" and d["requested"] == "auto"
    assert d["probe"]["logrows"] > 12 and d["budget"]["max_logrows"] == 12
    assert f"logrows {d['probe']['logrows']} > 12" in d["reason"]
    assert "zk_settings" not in d  # the full zk search never ran
    assert d["fidelity"]["max_rel_error"] <= 0.05
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)
    row = next(r for r in listed if r["name"] == "budget-transformer")
    assert row["source"] == "user" and row["mode"] == "optimistic"
    assert row["commitment"] == card.commitment
    assert {"digits-mlp", "minilm-l6"} <= {r["name"] for r in listed}
    shown = json.loads(runner.invoke(app, ["models", "show", "budget-transformer"]).stdout)
    assert shown["decision"]["reason"] == d["reason"] and shown["registrations"] == []
    removed = runner.invoke(app, ["models", "remove", "budget-transformer"])
    assert removed.exit_code == 0
    assert "budget-transformer" not in Registry.default().user_models()


def test_the_executor_beyond_the_tolerance_is_refused_with_the_numbers(
    transformer_onnx: Path, user_settings: Settings
) -> None:
    opts = AddOptions(
        mode="optimistic", input_ranges={"x": (-1.0, 1.0)}, tolerance=Tolerance(1e-6, 0.99)
    )
    with pytest.raises(FidelityError) as exc:
        add_model(transformer_onnx, "strict", opts, settings=user_settings)
    msg = str(exc.value)
    assert "beyond the tolerance" in msg and "> 0.000%" in msg and "(n=32)" in msg
    _nothing_installed(Registry(user_settings.models_dir), "strict")


def test_the_summary_says_mode_why_and_error(transformer_onnx: Path, cli_data: Settings) -> None:
    args = ["models", "add", str(transformer_onnx), "--name", "summary-transformer"]
    run = runner.invoke(app, [*args, "--mode", "optimistic", "--input-range", "x=-1:1"])
    assert run.exit_code == 0, run.output
    out = run.stdout
    assert "summary-transformer: added as optimistic (--mode optimistic)" in out
    assert "input  x [1, 8, 16] float32" in out and "output y [1, 8, 16] float32" in out
    assert "params 2,192" in out and "max relative" in out and "commitment 0x" in out


def _two_inputs(path: Path) -> Path:
    """(x + z) @ W: two float inputs, which the zk prover's one-tensor layout cannot take."""
    from onnx import numpy_helper

    w = numpy_helper.from_array(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), "W")
    x = oh.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    z = oh.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4])
    y = oh.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    nodes = [oh.make_node("Add", ["x", "z"], ["s"]), oh.make_node("MatMul", ["s", "W"], ["y"])]
    graph = oh.make_graph(nodes, "two-inputs", [x, z], [y], [w])
    onnx.save(oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)]), str(path))
    return path


def test_a_two_input_model_is_served_optimistically_with_the_reason(
    tmp_path: Path, user_settings: Settings
) -> None:
    path = _two_inputs(tmp_path / "two.onnx")
    rng = np.random.default_rng(1)
    cal = tmp_path / "cal.json"
    cal.write_text(json.dumps({k: rng.uniform(-1, 1, (6, 1, 4)).tolist() for k in ("x", "z")}))
    with pytest.raises(InvalidModelError, match="one input tensor; this one has 2: use --mode"):
        add_model(path, "two", AddOptions(mode="zk", calibration=cal), settings=user_settings)
    card = add_model(path, "two", AddOptions(calibration=cal), settings=user_settings)
    d = card.decision
    assert d is not None and card.mode == "optimistic"
    assert d["reason"] == "zk proves models with one input tensor; this one has 2"
    assert d["fidelity"]["n_samples"] == 6 and "probe" not in d
    uneven = tmp_path / "uneven.json"
    uneven.write_text(json.dumps({"x": [[[0.0] * 4]] * 2, "z": [[[0.0] * 4]] * 3}))
    with pytest.raises(CalibrationError, match="same number of samples"):
        add_model(path, "uneven", AddOptions(calibration=uneven), settings=user_settings)
    with pytest.raises(CalibrationError, match="holds one array, but the model has inputs"):
        np.save(tmp_path / "one.npy", np.zeros((2, 1, 4)))
        add_model(path, "npy", AddOptions(calibration=tmp_path / "one.npy"), settings=user_settings)


def test_the_digits_models_are_ordinary_users_of_the_tuner(registry: Registry) -> None:
    from models.digits import load_digits_split
    from prover.build import card_tolerance

    card = registry.card("digits-cnn")
    s = samples_for(card, registry.model_dir("digits-cnn"))
    d = load_digits_split()
    assert s.calibration.shape == (32, 1, 8, 8) and s.test.shape == (360, 1, 8, 8)
    assert np.array_equal(s.calibration.reshape(32, 64), d.x_train[:32])
    assert np.array_equal(s.test.reshape(360, 64), d.x_test)
    assert card.source == "catalogue" and card_tolerance(card) == Tolerance()
