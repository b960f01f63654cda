"""How close the integer executor's MiniLM embeddings are to onnxruntime float32's.

Shared by the accuracy tests and the benchmark, so both report the same measure.

Usage::

    cos = minilm_cosines(program, onnx_path, 20)   # one cosine per varied sentence
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from disputes.execution.executor import run
from disputes.program.ir import Program


def minilm_cosines(program: Program, onnx_path: Path, n: int) -> list[float]:
    """Cosine of our embedding to onnxruntime float32's for each of ``n`` varied sentences."""
    from models.minilm import tokenize
    from models.sentences import varied_sentences

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    cos = []
    for s in varied_sentences(n):
        ids, mask = tokenize([s])
        feed = {"input_ids": ids, "attention_mask": mask}
        ref = np.asarray(sess.run(None, feed)[0], dtype=np.float64).reshape(-1)
        got = run(program, feed).values.reshape(-1)
        cos.append(float(ref @ got / (np.linalg.norm(ref) * np.linalg.norm(got))))
    return cos
