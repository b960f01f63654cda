"""The claim of a run: what an optimistic claim posts, built once from a view of the run.

An optimistic ``claim`` posts the be32 output, ``P_n`` (the final checkpoint) and the output
slot's proof against ``P_n``; the escrow checks that the output's tensor root (``output_root``)
sits at the output slot of ``P_n``. A batched claim posts ``P_n`` alone and ``finalizeLeaf``
the output with its proof (``disputes.game.batch.Response``). The request's input is what the
client posted (``request_input``); no view forges it.

Usage::

    claim = claim_of(TraceView(tr))                     # or a cheat: claim_of(CorruptOutput(tr))
    esc.request_optimistic(model_id, request_input(view), fee)
    esc.claim(rid, claim.output, claim.final_checkpoint, claim.output_proof, bond)
    assert TracedClaim.from_json(claim.to_json()) == claim  # across a process boundary
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from disputes.commitments import merkle
from disputes.game.encoding import input_bytes, output_bytes
from disputes.game.view import TraceView, View

__all__ = ["TracedClaim", "claim_of", "request_input"]


@dataclass(frozen=True)
class TracedClaim:
    """What a claim posts: the be32 output, ``P_n``, the output slot's proof, the output root."""

    output: bytes
    final_checkpoint: bytes
    output_proof: list[bytes]
    output_root: bytes

    def to_json(self) -> dict[str, Any]:
        """Plain data (it crosses the gateway's worker process boundary)."""
        return {
            "output": self.output.hex(),
            "final_checkpoint": "0x" + self.final_checkpoint.hex(),
            "output_proof": ["0x" + p.hex() for p in self.output_proof],
            "output_root": "0x" + self.output_root.hex(),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> TracedClaim:
        """The claim back from ``to_json``'s form."""
        return cls(
            bytes.fromhex(doc["output"]),
            _hex(doc["final_checkpoint"]),
            [_hex(p) for p in doc["output_proof"]],
            _hex(doc["output_root"]),
        )


def _hex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def claim_of(view: View) -> TracedClaim:
    """The claim of the run ``view`` stands for (honest or, in tests, a cheat).

    Usage: ``claim_of(TraceView(tr)).output``
    """
    p = view.program
    out = p.output_slot - p.first_step_slot
    rows = view.rows(out).reshape(p.steps[out].shape)
    roots = view.slot_roots()  # type: ignore[attr-defined]  # TraceView and its cheats
    proof = merkle.checkpoint_proof(roots, p.n_slots, p.output_slot)
    return TracedClaim(output_bytes(rows), view.point(len(p.steps)), proof, roots[p.output_slot])


def request_input(view: TraceView) -> bytes:
    """The be32 input of the request ``view``'s run answers (``requestOptimistic``'s bytes).

    Usage: ``esc.request_optimistic(model_id, request_input(TraceView(tr)), fee)``
    """
    return input_bytes(view.program, view.trace.inputs)
