"""Build a tiny real EZKL circuit (torch Linear 4→3) and its Solidity verifier, offline."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INPUT = [0.5, -0.25, 1.0, 0.125]


@dataclass(frozen=True)
class EzklProof:
    sol_path: Path
    proof: bytes
    instances: list[int]
    n_inputs: int


def _export_onnx(path: Path) -> None:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3).eval()
    x = torch.tensor([INPUT])
    torch.onnx.export(
        model,
        (x,),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["input"],
        output_names=["output"],
    )


def _settings(d: Path) -> None:
    import ezkl as _ezkl

    ezkl: Any = _ezkl  # its shipped .pyi stubs are out of date

    ra = ezkl.PyRunArgs()
    ra.input_visibility = "public"
    ra.output_visibility = "public"
    ra.param_visibility = "fixed"
    ra.decomp_base = 128
    ra.decomp_legs = 4
    ezkl.gen_settings(str(d / "model.onnx"), str(d / "settings.json"), py_run_args=ra)
    ezkl.calibrate_settings(
        str(d / "input.json"), str(d / "model.onnx"), str(d / "settings.json"), "resources"
    )
    ezkl.compile_circuit(str(d / "model.onnx"), str(d / "model.compiled"), str(d / "settings.json"))


def _create_verifier(d: Path) -> None:
    import ezkl as _ezkl

    ezkl: Any = _ezkl  # its shipped .pyi stubs are out of date

    async def run() -> None:
        await ezkl.create_evm_verifier(
            vk_path=str(d / "vk.key"),
            settings_path=str(d / "settings.json"),
            sol_code_path=str(d / "Verifier.sol"),
            abi_path=str(d / "Verifier.abi"),
            srs_path=str(d / "kzg.srs"),
        )

    # It writes the .sol, then fails downloading solc (no internet): expected.
    with contextlib.suppress(Exception):
        asyncio.run(run())
    if not (d / "Verifier.sol").exists():
        raise RuntimeError("ezkl.create_evm_verifier did not write Verifier.sol")


def build(d: Path) -> EzklProof:
    """Export, calibrate, compile, make a dev SRS, set up, prove, write the verifier."""
    import ezkl as _ezkl

    ezkl: Any = _ezkl  # its shipped .pyi stubs are out of date

    _export_onnx(d / "model.onnx")
    (d / "input.json").write_text(json.dumps({"input_data": [INPUT]}))
    _settings(d)
    logrows = json.loads((d / "settings.json").read_text())["run_args"]["logrows"]
    ezkl.gen_srs(str(d / "kzg.srs"), logrows)
    ezkl.gen_witness(str(d / "input.json"), str(d / "model.compiled"), str(d / "witness.json"))
    ezkl.setup(
        str(d / "model.compiled"), str(d / "vk.key"), str(d / "pk.key"), srs_path=str(d / "kzg.srs")
    )
    ezkl.prove(
        str(d / "witness.json"),
        str(d / "model.compiled"),
        str(d / "pk.key"),
        str(d / "proof.json"),
        srs_path=str(d / "kzg.srs"),
    )
    _create_verifier(d)
    proof = json.loads((d / "proof.json").read_text())
    hexp = proof["hex_proof"]
    instances = [int.from_bytes(bytes.fromhex(h), "little") for h in proof["instances"][0]]
    return EzklProof(d / "Verifier.sol", bytes.fromhex(hexp.removeprefix("0x")), instances, 4)
