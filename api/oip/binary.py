"""Triton's binary tensor data extension, both ways, and bounded request decompression.

A binary request is a JSON header followed by raw tensors; ``Inference-Header-Content-Length``
is the header's byte length, and each binary input says its byte size in
``parameters.binary_data_size``, in input order. A binary response is built the same way.
Every length here comes from the client, so each is checked against what was really sent
before any slice is taken: a lie about a size is a 422, never an over-read or a 500.

Usage::

    header, tail = split_body(body, request.headers.get(HEADER_LENGTH))
    blobs = take_binary(parsed.inputs, tail)          # {"input": b"..."} for binary inputs
    body, header_length = join_body(doc, [raw])       # a binary response
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Sequence
from typing import Any

from api.errors import BadRequestError, PayloadTooLarge, UnsupportedMediaType
from api.schemas import InferInput

__all__ = [
    "HEADER_LENGTH",
    "binary_size",
    "decode_bytes",
    "decompress",
    "encode_bytes",
    "join_body",
    "split_body",
    "take_binary",
]

HEADER_LENGTH = "inference-header-content-length"
_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON header and the binary tail (empty when there is no length header)."""
    if header_length is None:
        return body, b""
    text = header_length.strip()
    if not text.isdigit() or not 0 < int(text) <= len(body):
        raise BadRequestError(
            f"Inference-Header-Content-Length {header_length[:40]!r} is not a byte length within "
            f"the {len(body)}-byte body; send the JSON header's length in bytes"
        )
    n = int(text)
    return body[:n], body[n:]


def binary_size(tensor: InferInput) -> int | None:
    """The input's ``binary_data_size`` parameter, checked to be a byte count, or None."""
    size = (tensor.parameters or {}).get("binary_data_size")
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise BadRequestError(
            f"input {tensor.name!r}: binary_data_size {size!r} is not a byte count"
        )
    return size


def take_binary(inputs: Sequence[InferInput], tail: bytes) -> dict[str, bytes]:
    """Each binary input's raw bytes, cut from ``tail`` in input order."""
    blobs: dict[str, bytes] = {}
    offset = 0
    for tensor in inputs:
        size = binary_size(tensor)
        if size is None:
            continue
        if offset + size > len(tail):
            raise BadRequestError(
                f"input {tensor.name!r}: binary_data_size {size} runs past the "
                f"{len(tail)} bytes of binary data after the JSON header"
            )
        blobs[tensor.name] = tail[offset : offset + size]
        offset += size
    if offset != len(tail):
        raise BadRequestError(
            f"{len(tail) - offset} bytes after the JSON header belong to no input; "
            "each binary input's binary_data_size must add up to the binary data sent"
            + ("" if blobs else " (or send no Inference-Header-Content-Length)")
        )
    return blobs


def decode_bytes(raw: bytes, count: int, name: str) -> list[bytes]:
    """A BYTES tensor's ``count`` elements, each a 4-byte little-endian length and the bytes."""
    out: list[bytes] = []
    offset = 0
    while offset < len(raw) and len(out) < count:
        if offset + 4 > len(raw):
            break
        (n,) = struct.unpack_from("<I", raw, offset)
        if offset + 4 + n > len(raw):
            break
        out.append(raw[offset + 4 : offset + 4 + n])
        offset += 4 + n
    if len(out) != count or offset != len(raw):
        raise BadRequestError(
            f"input {name!r}: the BYTES data is not {count} length-prefixed elements "
            "(each a 4-byte little-endian length, then that many bytes)"
        )
    return out


def encode_bytes(items: Sequence[bytes]) -> bytes:
    """BYTES elements in the binary extension's layout (the inverse of ``decode_bytes``)."""
    return b"".join(struct.pack("<I", len(b)) + b for b in items)


def join_body(doc: dict[str, Any], blobs: Sequence[bytes]) -> tuple[bytes, int | None]:
    """The response body and its header length (None when no output is binary)."""
    header = json.dumps(doc, separators=(",", ":")).encode()
    if not blobs:
        return header, None
    return header + b"".join(blobs), len(header)


def decompress(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """The body as sent before ``Content-Encoding`` (gzip, deflate), at most ``max_bytes``."""
    if encoding is None or encoding.strip().lower() in ("", "identity"):
        return body
    kind = encoding.strip().lower()
    if kind not in _ENCODINGS:
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding[:40]!r} is not supported; send gzip, deflate or none"
        )
    inflater = zlib.decompressobj(_ENCODINGS[kind])
    try:
        # Bounded: a small compressed body can inflate to gigabytes (a decompression bomb).
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise BadRequestError(f"the body is not valid {kind} data: {exc}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise PayloadTooLarge(
            f"the {kind} body inflates to more than the gateway's limit of {max_bytes} bytes "
            "(VERINFER_MAX_BODY_BYTES); send a smaller request"
        )
    return out
