"""Calibration samples: read from a user's file or drawn from input ranges, checked, stored.

A sample set maps each model input name to an array of ``n`` samples, shape ``(n, *shape)``.
Files: ``.npy`` (one input: the array), ``.npz`` (one array per input name) or ``.json``
(``{"input name": [sample, …]}``). One sample may also be given in the input's own shape.

Usage::

    xs = load_calibration(Path("cal.npz"), card.inputs)        # {"x": (n, 1, 3, 8, 8) array}
    xs = sample_ranges({"x": (0.0, 1.0)}, card.inputs, n=32)
    save_samples(model_dir / CALIBRATION_FILE, xs)
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from models.card import ModelCard, TensorSpec
from models.errors import CalibrationError

CALIBRATION_FILE = "calibration.npz"
N_RANGE_SAMPLES = 32
N_CALIBRATION = 32  # EZKL calibration is slow per sample; the fidelity check uses them all
SampleSet = dict[str, NDArray[np.generic]]


@dataclass(frozen=True)
class Samples:
    """One input's samples: EZKL calibrates on ``calibration``, fidelity is measured on ``test``.

    Each array holds samples along axis 0 (each one reshapes to the input's shape).
    """

    calibration: NDArray[np.float32]
    test: NDArray[np.float32]


def load_calibration(path: Path, inputs: list[TensorSpec]) -> SampleSet:
    """Samples for every input from ``path`` (.npy, .npz or .json), checked against ``inputs``."""
    raw = _read(path, inputs)
    names = {t.name for t in inputs}
    missing, extra = sorted(names - set(raw)), sorted(set(raw) - names)
    if missing or extra:
        raise CalibrationError(
            f"{path}: calibration keys must be the input names {sorted(names)}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unknown {extra}" if extra else "")
        )
    return checked({t.name: np.asarray(raw[t.name]) for t in inputs}, inputs, str(path))


def sample_ranges(
    ranges: Mapping[str, tuple[float, float]],
    inputs: list[TensorSpec],
    n: int = N_RANGE_SAMPLES,
    seed: int = 0,
) -> SampleSet:
    """``n`` uniform samples per input from its [lo, hi] range (integers for integer inputs)."""
    unknown = sorted(set(ranges) - {t.name for t in inputs})
    if unknown:
        raise CalibrationError(f"--input-range names unknown input(s) {unknown}")
    rng = np.random.default_rng(seed)
    out: SampleSet = {}
    for t in inputs:
        if t.name not in ranges:
            raise CalibrationError(
                f"input {t.name!r} has no calibration data: pass --calibration FILE or "
                f"--input-range {t.name}=LO:HI"
            )
        lo, hi = ranges[t.name]
        out[t.name] = _uniform(rng, t, lo, hi, n)
    return checked(out, inputs, "--input-range")


def parse_range(text: str) -> tuple[str, tuple[float, float]]:
    """``NAME=LO:HI`` → (name, (lo, hi)); a clear error otherwise."""
    name, _, span = text.partition("=")
    lo, sep, hi = span.partition(":")
    try:
        bounds = (float(lo), float(hi))
    except ValueError:
        bounds = (math.nan, math.nan)
    if not name or not sep or not all(map(math.isfinite, bounds)) or bounds[0] > bounds[1]:
        raise CalibrationError(f"--input-range {text!r}: expected NAME=LO:HI with LO ≤ HI")
    return name, bounds


def checked(xs: Mapping[str, NDArray[np.generic]], inputs: list[TensorSpec], src: str) -> SampleSet:
    """Each input as ``(n, *shape)`` with one ``n`` for all, finite values, in declared bounds."""
    out = {t.name: _as_samples(np.asarray(xs[t.name]), t, src) for t in inputs}
    counts = {name: len(a) for name, a in out.items()}
    if len(set(counts.values())) != 1:
        raise CalibrationError(f"{src}: every input needs the same number of samples: {counts}")
    return out


def save_samples(path: Path, xs: SampleSet) -> Path:
    """Store a checked sample set (one array per input name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, allow_pickle=False, **xs)
    return path


def load_samples(path: Path) -> SampleSet:
    """A sample set stored by ``save_samples``."""
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def samples_for(card: ModelCard, model_dir: Path) -> Samples:
    """The zk tuner's samples of a model: the digits split, or the stored calibration set."""
    from models.digits import ARCHS, digits_samples

    if card.source == "catalogue" and card.name in ARCHS:
        cal, test = digits_samples(card.inputs[0].shape)
        return Samples(cal, test)
    path = model_dir / CALIBRATION_FILE
    if not path.is_file():
        raise CalibrationError(
            f"{card.name} has no calibration samples at {path}; add it again with "
            "`verinfer models add … --calibration FILE`"
        )
    xs = load_samples(path)[card.inputs[0].name].astype(np.float32)
    return Samples(calibration=xs[:N_CALIBRATION], test=xs)


def _read(path: Path, inputs: list[TensorSpec]) -> dict[str, object]:
    try:
        return _read_any(path, inputs)
    except CalibrationError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise CalibrationError(f"cannot read calibration file {path}: {exc}") from None


def _read_any(path: Path, inputs: list[TensorSpec]) -> dict[str, object]:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if len(inputs) != 1:
            names = [t.name for t in inputs]
            raise CalibrationError(
                f"{path}: a .npy file holds one array, but the model has inputs {names}; "
                "use .npz or .json keyed by input name"
            )
        return {inputs[0].name: np.load(path, allow_pickle=False)}
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    if suffix == ".json":
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise CalibrationError(f"{path}: expected a JSON object keyed by input name")
        return dict(data)
    raise CalibrationError(f"{path}: calibration files are .npy, .npz or .json, not {suffix!r}")


def _as_samples(a: NDArray[np.generic], t: TensorSpec, src: str) -> NDArray[np.generic]:
    shape = tuple(t.shape)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise CalibrationError(f"{src}: input {t.name!r} must be numbers, got {a.dtype}")
    if a.shape == shape:
        a = a[None]
    elif a.shape[1:] != shape and shape[:1] == (1,) and a.shape[1:] == shape[1:]:
        a = a.reshape(len(a), *shape)
    if a.ndim == 0 or a.shape[1:] != shape or len(a) == 0:
        raise CalibrationError(
            f"{src}: input {t.name!r} samples have shape {list(a.shape)}; expected "
            f"(n, {', '.join(map(str, shape))}) or one sample of shape {list(shape)}"
        )
    _check_values(a, t, src)
    return a.astype(np.int64 if _is_int(t) else np.float32)


def _check_values(a: NDArray[np.generic], t: TensorSpec, src: str) -> None:
    f = a.astype(np.float64)
    if not np.all(np.isfinite(f)):
        raise CalibrationError(f"{src}: input {t.name!r} has NaN or infinite values")
    if _is_int(t) and not np.all(f == np.round(f)):
        raise CalibrationError(f"{src}: input {t.name!r} is {t.dtype}, but has fractions")
    lo, hi = float(f.min()), float(f.max())
    if (t.min is not None and lo < t.min) or (t.max is not None and hi > t.max):
        raise CalibrationError(
            f"{src}: input {t.name!r} values span [{lo}, {hi}], outside [{t.min}, {t.max}]"
        )


def _uniform(
    rng: np.random.Generator, t: TensorSpec, lo: float, hi: float, n: int
) -> NDArray[np.generic]:
    shape = (n, *t.shape)
    if _is_int(t):
        return rng.integers(math.ceil(lo), math.floor(hi) + 1, size=shape, dtype=np.int64)
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def _is_int(t: TensorSpec) -> bool:
    return t.dtype.startswith(("int", "uint", "bool"))
