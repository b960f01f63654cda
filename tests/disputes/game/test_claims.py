"""The claim of a view: the bytes the escrow accepts for a real digits run, and its JSON form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from disputes.commitments import merkle
from disputes.execution.executor import quantize_inputs
from disputes.game import Response, TracedClaim, claim_of, request_input
from disputes.game.encoding import BE32, inputs_from_bytes, output_bytes
from disputes.game.view import CorruptOutput, CorruptStep, TraceView
from disputes.program.ir import Program
from disputes.tracing.trace import Trace, trace


@pytest.fixture(scope="module")
def tr(digits_mlp: Program) -> Trace:
    from models.digits import load_digits_split

    x = load_digits_split().x_test[0].reshape(digits_mlp.inputs[0].shape)
    return trace(digits_mlp, {digits_mlp.inputs[0].name: x})


def _escrow_accepts(p: Program, claim: TracedClaim) -> bool:
    """EscrowBase._checkOutput in Python: be32 length, tensor root, proof at the output slot."""
    rows, width = merkle.as_rows(np.zeros(p.slot_shape(p.output_slot), np.int64)).shape
    if len(claim.output) != rows * width * 4:
        return False
    values = np.frombuffer(claim.output, dtype=BE32).astype(np.int64).reshape(rows, width)
    root = merkle.tensor_root(values)
    depth = merkle.depth_for(p.n_slots)
    held = merkle.verify_proof(
        root, p.output_slot, claim.output_proof, claim.final_checkpoint, depth=depth
    )
    return held and root == claim.output_root


def test_the_honest_claim_is_the_traces_own(tr: Trace) -> None:
    p, n = tr.program, tr.n_steps
    claim = claim_of(TraceView(tr))
    assert claim.output == output_bytes(tr.output.q)
    assert claim.final_checkpoint == tr.checkpoint(n - 1)
    assert claim.output_proof == tr.checkpoint_proof(n - 1, p.output_slot)
    assert claim.output_root == tr.output.root == tr.slot_roots[p.output_slot]
    assert _escrow_accepts(p, claim)


def test_a_cheats_claim_is_accepted_against_its_own_wrong_checkpoint(tr: Trace) -> None:
    p, honest = tr.program, claim_of(TraceView(tr))
    for cheat in (CorruptOutput(tr, 0, 3, 5), CorruptStep(tr, 0, 0, 1, delta=7)):
        claim = claim_of(cheat)
        assert _escrow_accepts(p, claim)
        assert claim.final_checkpoint == cheat.point(tr.n_steps) != honest.final_checkpoint
    wrong = claim_of(CorruptOutput(tr, 0, 3, 5))
    assert wrong.output != honest.output and wrong.output_root != honest.output_root
    assert not _escrow_accepts(p, TracedClaim(wrong.output, *_rest(honest)))


def _rest(claim: TracedClaim) -> tuple[bytes, list[bytes], bytes]:
    return claim.final_checkpoint, claim.output_proof, claim.output_root


def test_the_request_input_decodes_to_the_runs_inputs(tr: Trace) -> None:
    p = tr.program
    data = request_input(CorruptOutput(tr))  # a cheat claims a wrong output, never a new input
    again = quantize_inputs(p, inputs_from_bytes(p, data))
    for q, want in zip(again, quantize_inputs(p, tr.inputs), strict=True):
        assert np.array_equal(q, want)


def test_a_batch_response_carries_the_claims_bytes(tr: Trace) -> None:
    view = CorruptOutput(tr, 0, 1, 2)
    claim, r = claim_of(view), Response.of_view(7, view)
    assert (r.request_id, r.final_checkpoint, r.output, r.output_proof) == (
        7, claim.final_checkpoint, claim.output, claim.output_proof,
    )  # fmt: skip
    assert Response.of_claim(7, claim) == r


def test_the_json_form_round_trips_through_text(tr: Trace) -> None:
    claim = claim_of(TraceView(tr))
    doc = claim.to_json()
    assert doc == {
        "output": claim.output.hex(),
        "final_checkpoint": "0x" + claim.final_checkpoint.hex(),
        "output_proof": ["0x" + s.hex() for s in claim.output_proof],
        "output_root": "0x" + claim.output_root.hex(),
    }
    assert TracedClaim.from_json(json.loads(json.dumps(doc))) == claim
