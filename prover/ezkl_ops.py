"""Thin, typed wrappers over the EZKL calls the pipeline uses; EZKL errors become ours.

EZKL's ``.pyi`` stubs are out of date, so every call passes keyword arguments checked against
``help(ezkl.<fn>)`` for ezkl 23.0.5.

Usage::

    from prover import ezkl_ops
    ezkl_ops.gen_settings(onnx, settings_json, {"decomp_base": 128, "decomp_legs": 4})
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import ezkl
import numpy as np
from numpy.typing import ArrayLike

from prover.errors import (
    CircuitError,
    ProofRejected,
    ProverError,
    ProvingError,
    VerifierExportError,
)

T = TypeVar("T")

VISIBILITY = {
    "input_visibility": "public",
    "output_visibility": "public",
    "param_visibility": "fixed",
}


def call(fn: Callable[..., T], err: type[ProverError], what: str, hint: str, **kwargs: Any) -> T:
    """Run one EZKL call; wrap its terse RuntimeError in err with what failed and what to do."""
    try:
        return fn(**kwargs)
    except RuntimeError as e:
        raise err(f"{what} failed: {e}. {hint}") from e


def write_input(path: Path, x: ArrayLike) -> Path:
    """Write one input (any shape, flattened) as EZKL's input JSON."""
    flat = np.asarray(x, dtype=np.float32).reshape(-1)
    path.write_text(json.dumps({"input_data": [[float(v) for v in flat]]}))
    return path


def write_inputs(path: Path, xs: ArrayLike) -> Path:
    """Write several samples as one calibration file (EZKL splits it into batches of one)."""
    return write_input(path, xs)


def gen_settings(onnx_path: Path, out: Path, run_args: dict[str, Any]) -> dict[str, Any]:
    """ezkl.gen_settings with our visibility and the given run-args overrides; returns the JSON."""
    ra = ezkl.PyRunArgs()
    for key, value in {**VISIBILITY, **run_args}.items():
        setattr(ra, key, value)
    call(
        ezkl.gen_settings,
        CircuitError,
        "ezkl.gen_settings",
        "Check that the ONNX file exists and uses operators EZKL supports.",
        model=str(onnx_path),
        output=str(out),
        py_run_args=ra,
    )
    return read_json(out)


@contextmanager
def output_to_log(log: Path) -> Iterator[None]:
    """Send file descriptors 1 and 2 to ``log`` for the duration (EZKL's Rust code prints there)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with log.open("ab") as sink:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


def calibrate(data: Path, onnx_path: Path, settings: Path, scales: list[int] | None) -> None:
    """ezkl.calibrate_settings for the smallest circuit ("resources") at the given scales."""
    # Calibration prints large fidelity tables (on stderr) that would bury the CLI's progress
    # bar and messages; they go to a log in the settings' (working) folder instead.
    with output_to_log(settings.parent / "ezkl-calibrate.log"):
        _calibrate(data, onnx_path, settings, scales)


def _calibrate(data: Path, onnx_path: Path, settings: Path, scales: list[int] | None) -> None:
    call(
        ezkl.calibrate_settings,
        CircuitError,
        "ezkl.calibrate_settings",
        "Try other scales or a larger decomposition range.",
        data=str(data),
        model=str(onnx_path),
        settings=str(settings),
        target="resources",
        scales=scales,
    )


def compile_circuit(onnx_path: Path, settings: Path, out: Path) -> None:
    """ezkl.compile_circuit: ONNX + settings → compiled circuit."""
    call(
        ezkl.compile_circuit,
        CircuitError,
        "ezkl.compile_circuit",
        "The settings may not fit the model; delete the artifact folder to re-tune.",
        model=str(onnx_path),
        compiled_circuit=str(out),
        settings_path=str(settings),
    )


def gen_witness(data: Path, compiled: Path, out: Path) -> dict[str, Any]:
    """ezkl.gen_witness: run the quantized model; returns the witness JSON."""
    w: dict[str, Any] = call(
        ezkl.gen_witness,
        CircuitError,
        "ezkl.gen_witness",
        "Check the input's shape and that its values are finite and in the model's range.",
        data=str(data),
        model=str(compiled),
        output=str(out),
    )
    return w


def mock(witness: Path, compiled: Path) -> bool:
    """ezkl.mock: True when every constraint holds for this witness, False otherwise."""
    try:
        return bool(ezkl.mock(witness=str(witness), model=str(compiled)))
    except RuntimeError:
        return False


def setup(compiled: Path, vk: Path, pk: Path, srs: Path) -> None:
    """ezkl.setup: make the verifying and proving keys for the compiled circuit and SRS."""
    call(
        ezkl.setup,
        CircuitError,
        "ezkl.setup",
        "Check that the SRS has at least the circuit's logrows.",
        model=str(compiled),
        vk_path=str(vk),
        pk_path=str(pk),
        srs_path=str(srs),
    )


def prove(witness: Path, compiled: Path, pk: Path, proof: Path, srs: Path) -> dict[str, Any]:
    """ezkl.prove (it reloads the pk from disk on every call; ezkl offers no in-memory pk)."""
    call(
        ezkl.prove,
        ProvingError,
        "ezkl.prove",
        "The witness may not satisfy the circuit; check the input range, or re-tune.",
        witness=str(witness),
        model=str(compiled),
        pk_path=str(pk),
        proof_path=str(proof),
        srs_path=str(srs),
    )
    return read_json(proof)  # the file has hex_proof and pretty_public_inputs, the dict does not


def verify(proof: Path, settings: Path, vk: Path, srs: Path) -> bool:
    """ezkl.verify: True, or ProofRejected (a bad proof makes EZKL raise)."""
    call(
        ezkl.verify,
        ProofRejected,
        "proof verification",
        "The proof or its public instances were altered, or were made for another key/SRS.",
        proof_path=str(proof),
        settings_path=str(settings),
        vk_path=str(vk),
        srs_path=str(srs),
    )
    return True


def evm_verifier(vk: Path, settings: Path, sol: Path, srs: Path) -> Path:
    """Write the Solidity verifier; EZKL then fails to download solc, which we ignore."""

    async def run() -> None:  # ezkl needs a running loop even to create the coroutine
        await ezkl.create_evm_verifier(
            vk_path=str(vk),
            settings_path=str(settings),
            sol_code_path=str(sol),
            abi_path=str(sol.with_suffix(".abi")),
            srs_path=str(srs),
            reusable=False,
        )

    try:
        # A thread with its own loop works whether or not the caller runs an event loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, run()).result()
    except RuntimeError as e:
        if not sol.is_file():
            raise VerifierExportError(
                f"ezkl.create_evm_verifier wrote no .sol file: {e}. Check the vk and SRS paths."
            ) from e
    return sol


def read_json(path: Path) -> dict[str, Any]:
    """Load a JSON object from a file."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data
