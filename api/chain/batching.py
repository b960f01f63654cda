"""Batched claims: the fulfiller's traced optimistic answers of one model in one ``claimBatch``.

With ``VERINFER_CLAIM_BATCH_SIZE`` above 1 the fulfiller leaves each traced optimistic row in
``ready`` (its request made, if nobody paid for it) and this gathers them per model: a batch is
posted when it is full or its oldest row has waited ``VERINFER_CLAIM_BATCH_WAIT_S``, with a bond
of count × the model's minimum (docs/optimistic.md, "Batched claims"). The rows are marked with
the batch's key in one transaction before the transaction is signed, and the transaction goes
through the Outbox under that key: a restart re-sends the same batch under the same key (so it
is mined at most once) and no request is ever put in a second batch. Once mined, each row stores
the batch id and its leaf (index and proof); the dispute watcher finalizes each leaf with
``finalizeLeaf`` after the window, as it does for any batch of ours.

Usage::

    batcher = Batcher(fulfiller, size=64, wait_s=30.0)
    batcher.post_due(report)                    # once per fulfiller pass
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from api.modes.store import ClaimRecord
from contracts.errors import ContractRevert, RpcError
from contracts.records import RequestStatus
from disputes.game.batch import MAX_BATCH, Batch
from disputes.game.outbox import Call
from disputes.game.session import explain
from verinfer.errors import VerinferError

if TYPE_CHECKING:
    from api.chain.fulfiller import Fulfiller, PassReport

__all__ = ["Batcher"]


def _hex(value: str | None) -> bytes:
    return bytes.fromhex((value or "").removeprefix("0x"))


class Batcher:
    """Gathers the ready optimistic rows of a fulfiller into batches and posts them."""

    def __init__(self, fulfiller: Fulfiller, size: int, wait_s: float) -> None:
        if not 1 < size <= MAX_BATCH:
            raise VerinferError(f"a claim batch holds 2..{MAX_BATCH} responses, not {size}")
        self.f, self.size, self.wait_s = fulfiller, size, wait_s

    def post_due(self, report: PassReport) -> None:
        """Re-send batches a previous pass marked, then post every full or old-enough batch."""
        rows = [r for r in self.f.store.in_stage("ready") if self._batchable(r)]
        marked: dict[str, list[ClaimRecord]] = defaultdict(list)
        free: dict[int, list[ClaimRecord]] = defaultdict(list)
        for r in rows:
            if r.batch_key:
                marked[r.batch_key].append(r)
            else:
                free[r.model_id or 0].append(r)
        for key, members in marked.items():
            self._send(key, members, report)
        for group in free.values():
            self._gather(group, report)

    @staticmethod
    def _batchable(rec: ClaimRecord) -> bool:
        return (
            rec.mode == "optimistic" and rec.request_id is not None and bool(rec.final_checkpoint)
        )

    def _gather(self, group: list[ClaimRecord], report: PassReport) -> None:
        while group and (len(group) >= self.size or self._waited(group[0])):
            chunk, group = group[: self.size], group[self.size :]
            # Random part: a batch that reverted must not share its Outbox key with a later one.
            key = f"claim-batch:{min(r.request_id or 0 for r in chunk)}:{uuid.uuid4().hex[:8]}"
            members = self.f.store.assign_batch([r.id for r in chunk], key)
            if members:
                self._send(key, members, report)

    def _waited(self, rec: ClaimRecord) -> bool:
        return (datetime.now(UTC) - rec.created_at).total_seconds() >= self.wait_s

    def _send(self, key: str, members: list[ClaimRecord], report: PassReport) -> None:
        members = sorted(members, key=lambda r: r.request_id or 0)
        batch = Batch.of([(r.request_id or 0, _hex(r.final_checkpoint)) for r in members])
        args = (list(batch.request_ids), list(batch.checkpoints))
        try:
            min_bond = self.f._model(members[0]).min_bond
            call = Call("escrow", "claimBatch", args, len(batch) * min_bond)
            tx = self.f._send(key, call, batch.request_ids[0])
        except RpcError:
            raise  # the pass ends; the next one re-sends this batch under the same key
        except VerinferError as exc:  # a revert or a model no longer ours: it would fail again
            error = explain(exc) if isinstance(exc, ContractRevert) else str(exc)
            self._reverted(members, error, report)
            return
        event = self.f._event("ClaimedBatch", tx)
        batch_id, window_end = int(event["batchId"]), int(event["windowEnd"])
        for r in members:
            self._claimed(r, batch, batch_id, window_end, (tx.tx_hash, tx.block_number), min_bond)
            report.posted.append(r.request_id or 0)

    def _reverted(self, members: list[ClaimRecord], error: str, report: PassReport) -> None:
        """Fail the rows the escrow can no longer take; the others go into the next batch.

        Why not fail them all: one request refunded or past its deadline must not cost the
        provider the fees of the rest. When every row still looks claimable, the cause is
        the batch itself, and all of them fail (retrying would only revert again).
        """
        now, stale = self.f.link.now(), []
        for r in members:
            info = self.f.escrow.get_request(r.request_id or 0)
            if info.status != RequestStatus.OPEN or now > info.deadline:
                stale.append(r)
        for r in members:
            if r in stale or not stale:
                self.f._failed(r, error, report)
            else:
                self.f.store.update(r.id, {"ready"}, batch_key=None)

    def _claimed(
        self,
        rec: ClaimRecord,
        batch: Batch,
        batch_id: int,
        window_end: int,
        tx: tuple[str, int],
        bond: int,
    ) -> None:
        rid = rec.request_id or 0
        leaf = batch.leaf(rid)
        self.f._judged(rec, rid, window_end, tx[1])
        self.f.store.update(
            rec.id,
            {"ready"},
            stage="claimed",
            state="claimed",
            challenge_deadline=window_end,
            bond=str(bond),  # this leaf's share: the batch's bond is count × min bond
            claim_tx=tx[0],
            batch_id=batch_id,
            batch_index=leaf.index,
            batch_proof=json.dumps(["0x" + p.hex() for p in leaf.proof]),
        )
