"""The EZKL proving pipeline: tuned circuits, cached keys, proofs the EVM verifier accepts.

Usage::

    from prover.pipeline import ZkProver
    bundle = ZkProver.for_model("digits-mlp").prove(x)
"""
