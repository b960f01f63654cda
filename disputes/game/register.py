"""Register a program as an optimistic model: its spec and header proof, from the program alone.

Usage::

    model_id = register_program(RegistryClient(w3, registry, owner), program, commitment,
                                fee=10**15, min_bond=10**17)
"""

from __future__ import annotations

import math

from contracts.clients import OptimisticSpec, RegistryClient
from disputes.commitments.descriptor import header_message, program_tree
from disputes.game.encoding import start_hash
from disputes.osp.osp import start_data
from disputes.program.ir import Program


def optimistic_spec(program: Program) -> OptimisticSpec:
    """What ``registerOptimistic`` takes besides the header (output shape as rows × width)."""
    shape = program.slot_shape(program.output_slot)
    rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
    width = shape[-1] if shape else 1
    return OptimisticSpec(program.program_root, start_hash(start_data(program)), rows, width)


def register_program(
    reg: RegistryClient, program: Program, commitment: bytes, fee: int, min_bond: int
) -> int:
    """Register ``program`` with its real header and the header's proof; returns the model id."""
    header = (header_message(program), program_tree(program).proof(0))
    return reg.register_optimistic(commitment, fee, min_bond, optimistic_spec(program), header)
