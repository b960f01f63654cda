"""Follow the escrow's request events for the gateway's models and turn each into a claim row.

``OptimisticRequested`` carries the input itself, so its row goes straight to ``tracing``;
``Requested`` (zk and zk on demand) carries only the input's hash, so its row waits in
``awaiting_input`` for the client's HTTP request naming it (``parameters.request_id``). The
block cursor is stored after each bounded range is processed and a row per request id is
unique, so a restart never forgets a request and never makes a second row for one.

Usage::

    new = follow(link, store, cursor="fulfil:0xEscrow:0xMe")   # rows made in this range
"""

from __future__ import annotations

from typing import Any

from api.chain.link import ChainLink
from api.modes.store import ClaimRecord, ClaimStore, DuplicateRequest
from contracts.bindings import call, core_error_table

__all__ = ["MAX_BLOCKS", "follow"]

MAX_BLOCKS = 2000  # blocks of events read per pass (public nodes cap a log query's range)


def _logs(link: ChainLink, event: str, start: int, end: int) -> list[Any]:
    ev = link.escrow().contract.events[event]()
    fetch = lambda: ev.get_logs(from_block=start, to_block=end)  # noqa: E731
    return list(call(fetch, core_error_table(), f"{event} log query"))


def _row(link: ChainLink, event: str, args: Any) -> ClaimRecord | None:
    model = link.model_of(int(args["modelId"]))
    if model is None:
        return None  # another provider's model, or one this gateway does not serve
    base = {"request_id": int(args["requestId"]), "model_id": int(args["modelId"])}
    if event == "OptimisticRequested":
        return ClaimRecord.new(
            model.name,
            model.mode,
            "chain",
            stage="tracing",
            input_data=bytes(args["input"]),
            **base,
        )
    return ClaimRecord.new(
        model.name,
        model.mode,
        "chain",
        stage="awaiting_input",
        input_hash="0x" + bytes(args["inputHash"]).hex(),
        **base,
    )


def _take(store: ClaimStore, rec: ClaimRecord) -> ClaimRecord | None:
    if rec.request_id is not None and store.by_request(rec.request_id) is not None:
        return None  # already known: an HTTP request named it, or an earlier pass saw it
    try:
        return store.create(rec)
    except DuplicateRequest:
        return None  # the HTTP path made it a moment ago


def follow(
    link: ChainLink, store: ClaimStore, cursor: str, from_block: int = 0
) -> list[ClaimRecord]:
    """One bounded range of request events: the new rows (their cursor stored after)."""
    last = link.store.cursor(cursor)
    start = from_block if last is None else last + 1
    end = min(int(link.w3.eth.block_number), start + MAX_BLOCKS - 1)
    if start > end:
        return []
    made = []
    for event in ("OptimisticRequested", "Requested"):
        for log in _logs(link, event, start, end):
            rec = _row(link, event, log["args"])
            saved = _take(store, rec) if rec is not None else None
            if saved is not None:
                made.append(saved)
    link.store.set_cursor(cursor, end)
    return made
