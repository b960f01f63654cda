"""A schema-driven fuzz of the real gateway's OpenAPI document: no 5xx, every status documented.

Requests are drawn from the document itself: each operation's path parameters, and for a body
either a document generated from its JSON schema, a near-valid infer request (the right name
and shape, random values), arbitrary JSON, or raw bytes with a random binary-extension header.
Every answer must be a status the document lists for that operation, and below 500. The run is
bounded (a fixed number of examples per operation, each request with a timeout).
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.served import MODEL, Served, serve

pytestmark = pytest.mark.slow

EXAMPLES = 60
INFER_EXAMPLES = 250
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/\x00"), max_size=24
)  # no "/": a decoded slash would address another route, whose statuses differ
_HEADER_TEXT = st.text(alphabet=string.printable.strip(), max_size=12)


@pytest.fixture(scope="module")
def gateway(registry: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("fuzz")
    with serve(tmp, max_body_bytes=str(64 << 10), max_queue="1024") as served:
        yield served


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON document, bounded."""
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
        max_leaves=max_leaves,
    )


def from_schema(schema: dict[str, Any], doc: dict[str, Any], depth: int = 0) -> Any:
    """A hypothesis strategy for the JSON ``schema`` (refs resolved in the OpenAPI ``doc``)."""
    if depth > 6:
        return json_values(3)
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return from_schema(doc["components"]["schemas"][name], doc, depth + 1)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_schema(s, doc, depth + 1) for s in schema[key]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    simple = {
        "string": _TEXT,
        "integer": st.integers(min_value=-(2**70), max_value=2**70),
        "number": st.floats(allow_nan=False, allow_infinity=False) | st.integers(-5, 5),
        "boolean": st.booleans(),
        "null": st.none(),
    }
    if kind in simple:
        return simple[kind]
    if kind == "array":
        lo = schema.get("minItems", 0)
        return st.lists(
            from_schema(schema.get("items", {}), doc, depth + 1), min_size=lo, max_size=lo + 6
        )
    if kind == "object" or "properties" in schema:
        return _object(schema, doc, depth)
    return json_values(6)


def _object(schema: dict[str, Any], doc: dict[str, Any], depth: int) -> Any:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    need = {k: from_schema(v, doc, depth + 1) for k, v in props.items() if k in required}
    maybe = {k: from_schema(v, doc, depth + 1) for k, v in props.items() if k not in required}
    base = st.fixed_dictionaries(need, optional=maybe)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        more = st.dictionaries(_TEXT, from_schema(extra, doc, depth + 1), max_size=3)
        return st.tuples(base, more).map(lambda p: {**p[1], **p[0]})
    return base


def near_valid_infer() -> Any:
    """The digits model's input with random values and sometimes the wrong count."""
    value = st.floats(0, 1) | st.floats(-2, 2) | st.integers(-3, 3) | st.booleans() | _TEXT
    data = st.lists(value, min_size=62, max_size=66) | st.lists(
        st.floats(0, 1), min_size=64, max_size=64
    )
    tensor = st.fixed_dictionaries(
        {
            "name": st.just("input"),
            "shape": st.just([1, 64]),
            "datatype": st.sampled_from(["FP32", "FP64", "INT64", "fp32"]),
            "data": data,
        },
        optional={
            "parameters": st.dictionaries(
                st.sampled_from(["binary_data_size", "x"]),
                st.integers(-2, 300) | st.booleans(),
                max_size=2,
            )
        },
    )
    params = st.dictionaries(
        st.sampled_from(["binary_data_output", "y"]), st.booleans() | st.integers(), max_size=2
    )
    return st.fixed_dictionaries(
        {"inputs": st.lists(tensor, min_size=1, max_size=2)},
        optional={"id": _TEXT, "parameters": params},
    )


@st.composite
def near_valid_binary(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """A binary-extension body for the digits model whose sizes are right or slightly off."""
    datatype, itemsize = draw(
        st.sampled_from([("FP32", 4), ("FP64", 8), ("INT64", 8), ("INT8", 1)])
    )
    count = draw(st.sampled_from([64, 64, 63, 16, 128]))
    size = draw(st.just(count * itemsize) | st.integers(0, 600))
    tensor: dict[str, Any] = {"name": "input", "shape": [1, 64], "datatype": datatype}
    tensor["parameters"] = {"binary_data_size": size}
    header = json.dumps({"inputs": [tensor]}).encode()
    tail = draw(st.binary(min_size=size, max_size=size) | st.binary(max_size=600))
    length = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1]))
    return header + tail, {"Inference-Header-Content-Length": str(length)}


def bodies(schema: dict[str, Any] | None, doc: dict[str, Any]) -> Any:
    """(raw body, extra headers) pairs for an operation with a JSON request schema."""
    encoded = [json_values(), near_valid_infer()]
    if schema is not None:
        encoded.insert(0, from_schema(schema, doc))
    as_json = st.one_of(encoded).map(lambda d: json.dumps(d).encode())
    raw = st.binary(max_size=300)
    header = st.one_of(st.none(), st.integers(-5, 400).map(str), _HEADER_TEXT)
    encoding = st.sampled_from([None, "gzip", "deflate", "br", "identity"])
    ctype = st.sampled_from([None, "application/json", "application/octet-stream", "text/plain"])

    def headers(h: str | None, e: str | None, c: str | None) -> dict[str, str]:
        pairs = {"Inference-Header-Content-Length": h, "Content-Encoding": e, "Content-Type": c}
        return {k: v for k, v in pairs.items() if v is not None}

    anything = st.tuples(
        st.one_of(as_json, raw, st.tuples(as_json, raw).map(lambda p: p[0] + p[1])),
        st.builds(headers, header, encoding, ctype),
    )
    # Plain near-valid requests too, so that the fuzz also reaches prediction and persistence.
    plain = near_valid_infer().map(lambda d: (json.dumps(d).encode(), {}))
    return st.one_of(anything, plain, near_valid_binary(), near_valid_binary())


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), path, op) for path, item in doc["paths"].items() for m, op in item.items()]


def _path_value(name: str, proof_id: str) -> Any:
    known = {"name": [MODEL, "nope", "stats"], "version": ["1", "2"], "proof_id": [proof_id]}
    served = {"name": MODEL, "version": "1", "proof_id": proof_id}.get(name, "x")
    return st.one_of(st.just(served), st.sampled_from(known.get(name, ["x"])), _TEXT)


def _fuzz_one(
    http: httpx.Client, doc: dict[str, Any], op: tuple[str, str, dict[str, Any]], proof_id: str
) -> set[int]:
    """Fuzz one operation; the statuses it answered."""
    method, path, spec = op
    seen: set[int] = set()
    documented = set(spec["responses"])
    names = [p["name"] for p in spec.get("parameters", []) if p["in"] == "path"]
    params = st.fixed_dictionaries({n: _path_value(n, proof_id) for n in names})
    has_body = "requestBody" in spec
    schema = (
        spec.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    )
    body = bodies(schema, doc) if has_body else st.just((b"", {}))

    @settings(
        max_examples=INFER_EXAMPLES if path.endswith("/infer") else EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(values=params, request=body)
    def check(values: dict[str, str], request: tuple[bytes, dict[str, str]]) -> None:
        url = path.format(**{k: quote(v, safe="") for k, v in values.items()})
        content, headers = request
        r = http.request(method, url, content=content if has_body else None, headers=headers)
        where = f"{method} {url} {headers} {content[:200]!r}"
        assert r.status_code < 500, f"{r.status_code} {r.text[:300]} for {where}"
        assert str(r.status_code) in documented, f"undocumented {r.status_code} for {where}"
        seen.add(r.status_code)
        if r.status_code >= 400:
            assert isinstance(r.json()["error"], str) and r.json()["error"]

    check()
    return seen


def test_every_operation_answers_only_documented_statuses_and_no_5xx(gateway: Served) -> None:
    with httpx.Client(base_url=gateway.url, timeout=60) as http:
        doc = http.get("/openapi.json").json()
        tensor = {"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}
        proof_id = http.post(f"/v2/models/{MODEL}/infer", json={"inputs": [tensor]}).json()[
            "parameters"
        ]["proof_id"]
        operations = _operations(doc)
        assert len(operations) >= 15, [f"{m} {p}" for m, p, _ in operations]
        seen = {f"{op[0]} {op[1]}": _fuzz_one(http, doc, op, proof_id) for op in operations}
    # The fuzz reached past the parser: some infers were accepted, others refused by name.
    assert {200, 404, 422} <= seen["POST /v2/models/{name}/infer"], seen
    assert {200, 404} <= seen["GET /v2/models/{name}/proofs/{proof_id}"], seen
    assert gateway.proc.poll() is None, gateway.tail()
