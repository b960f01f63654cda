"""The Open Inference Protocol codec: datatypes, the binary tensor extension, inputs, outputs.

Usage::

    decoded = decode_request(body, header_length, card, max_bytes)
    body, header_length = encode_response(card, decoded.request, outputs, params, rid)
"""

from api.oip.binary import (
    HEADER_LENGTH,
    decode_bytes,
    decompress,
    encode_bytes,
    join_body,
    split_body,
    take_binary,
)
from api.oip.datatypes import DATATYPES, accepted, numpy_dtype, oip_datatype
from api.oip.inputs import Decoded, decode_request, parse_request, validation_message
from api.oip.outputs import check_outputs, encode_response

__all__ = [
    "DATATYPES",
    "HEADER_LENGTH",
    "Decoded",
    "accepted",
    "check_outputs",
    "decode_bytes",
    "decode_request",
    "decompress",
    "encode_bytes",
    "encode_response",
    "join_body",
    "numpy_dtype",
    "oip_datatype",
    "parse_request",
    "split_body",
    "take_binary",
    "validation_message",
]
