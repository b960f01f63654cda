"""The two digits models: a small MLP and a small CNN trained on scikit-learn's bundled digits.

Their weights are committed (``models/weights/<name>.npz``, a few KB, pinned by the content hash
in ``models/weights/digits.json``), so every machine builds the same ONNX bytes and commitment:
training with a fixed seed still gives other floats on other CPUs. Retraining is explicit
(``verinfer models train NAME``) and rewrites the weights and their pin.

Usage::

    from models.digits import build_digits
    card = build_digits("digits-mlp", Path(".verinfer/models/digits-mlp"))
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from numpy.typing import NDArray
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from models.card import ModelCard, TensorSpec
from models.commitment import model_commitment
from models.errors import ExportError

SEED = 20261123
EPOCHS = 300
ONNX_TOLERANCE = 1e-4
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
PINS_FILE = "digits.json"


@dataclass(frozen=True)
class DigitsData:
    """Digits images scaled to [0, 1] (8x8 → 64 floats), split once with a fixed seed."""

    x_train: NDArray[np.float32]
    y_train: NDArray[np.int64]
    x_test: NDArray[np.float32]
    y_test: NDArray[np.int64]


def load_digits_split() -> DigitsData:
    """The fixed train/test split every digits model and test uses."""
    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return DigitsData(x_tr, y_tr, x_te, y_te)


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10)
    )


ARCHS = {"digits-mlp": (_mlp, [1, 64]), "digits-cnn": (_cnn, [1, 1, 8, 8])}


def _train(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(EPOCHS):
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()


def _shaped(x: NDArray[np.float32], shape: list[int]) -> NDArray[np.float32]:
    return x.reshape([-1, *shape[1:]])


def _export(net: nn.Module, shape: list[int], path: Path) -> None:
    dummy = torch.zeros(shape, dtype=torch.float32)
    torch.onnx.export(
        net,
        (dummy,),
        str(path),
        input_names=["input"],
        output_names=["logits"],
        opset_version=17,
        dynamo=False,
    )


def _onnx_logits(path: Path, x: NDArray[np.float32]) -> NDArray[np.float32]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rows = [sess.run(None, {"input": x[i : i + 1]})[0] for i in range(len(x))]
    return np.concatenate(rows).astype(np.float32)


def weights_sha256(state: dict[str, NDArray[np.float32]]) -> str:
    """Content hash of a state dict: names, dtypes, shapes and bytes (not the .npz container)."""
    h = hashlib.sha256()
    for key in sorted(state):
        a = np.ascontiguousarray(state[key])
        h.update(f"{key}:{a.dtype.str}:{list(a.shape)}".encode() + a.tobytes())
    return h.hexdigest()


def _pins(weights_dir: Path) -> dict[str, str]:
    path = weights_dir / PINS_FILE
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def train_digits(name: str, weights_dir: Path = WEIGHTS_DIR) -> Path:
    """Train ``name`` afresh (fixed seed), write its weights and pin; returns the .npz path."""
    make, shape = ARCHS[name]
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    data = load_digits_split()
    net = make()
    _train(net, torch.from_numpy(_shaped(data.x_train, shape)), torch.from_numpy(data.y_train))
    state = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    weights_dir.mkdir(parents=True, exist_ok=True)
    path = weights_dir / f"{name}.npz"
    np.savez(path, **state)
    pins = _pins(weights_dir)
    pins[name] = weights_sha256(state)
    (weights_dir / PINS_FILE).write_text(json.dumps(dict(sorted(pins.items())), indent=2) + "\n")
    return path


def _committed(name: str, weights_dir: Path) -> tuple[nn.Module, str]:
    path = weights_dir / f"{name}.npz"
    pins = _pins(weights_dir)
    hint = f"retrain explicitly with `verinfer models train {name}` and commit the result"
    if not path.is_file() or name not in pins:
        raise ExportError(f"{name}: no committed weights at {path}; {hint}")
    with np.load(path) as z:
        state = {k: z[k] for k in z.files}
    if weights_sha256(state) != pins[name]:
        raise ExportError(f"{name}: {path} does not match its pin in {PINS_FILE}; {hint}")
    net = ARCHS[name][0]()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return net, pins[name]


def build_digits(name: str, out_dir: Path, weights_dir: Path = WEIGHTS_DIR) -> ModelCard:
    """Export and check one digits model from its committed weights; write ONNX and card."""
    _, shape = ARCHS[name]
    torch.set_num_threads(1)
    data = load_digits_split()
    net, pin = _committed(name, weights_dir)
    net.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "model.onnx"
    _export(net, shape, onnx_path)
    x_test = _shaped(data.x_test, shape)
    with torch.no_grad():
        torch_logits = net(torch.from_numpy(x_test)).numpy()
    onnx_logits = _onnx_logits(onnx_path, x_test)
    diff = float(np.max(np.abs(torch_logits - onnx_logits)))
    if diff > ONNX_TOLERANCE:
        raise ExportError(f"{name}: ONNX differs from PyTorch by {diff:.2e}; re-export the model")
    accuracy = float(np.mean(np.argmax(onnx_logits, axis=1) == data.y_test))
    card = ModelCard(
        name=name,
        mode="zk",
        description=f"{name}: scikit-learn digits (8x8 grey images, 0..1) → 10 class logits",
        inputs=[
            TensorSpec(
                name="input",
                shape=shape,
                min=0.0,
                max=1.0,
                description="pixel intensities in [0, 1]",
            )
        ],
        outputs=[TensorSpec(name="logits", shape=[1, 10])],
        commitment=model_commitment(onnx_path),
        onnx_file="model.onnx",
        metrics={
            "test_accuracy": accuracy,
            "onnx_vs_torch_max_abs_diff": diff,
            "n_test": float(len(data.y_test)),
        },
        labels=[str(i) for i in range(10)],
        extra={
            "seed": SEED,
            "epochs": EPOCHS,
            "dataset": "sklearn.datasets.load_digits",
            "weights_sha256": pin,
        },
    )
    card.save(out_dir / "card.json")
    return card


def digits_samples(shape: list[int], n_calibration: int = 32) -> tuple[NDArray[np.float32], ...]:
    """(calibration, test) inputs for the zk tuner: training images, then the test set."""
    d = load_digits_split()
    cal = d.x_train[:n_calibration].reshape([-1, *shape[1:]])
    return cal, d.x_test.reshape([-1, *shape[1:]])
