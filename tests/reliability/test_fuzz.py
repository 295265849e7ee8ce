"""Property tests at the gateway's HTTP edge: whatever a client posts, the answer is never a
server error, and every answer that is not a 200 is an error body in its dialect's shape.

The gateway runs in-process over the emulator app in-process (see conftest), so the upstream is
healthy: any 5xx is the gateway's own failure. Bodies are any JSON value, any bytes, near-valid
chat requests with fields of random types, and schemathesis' cases from the gateway's own
OpenAPI document. (The protocol's decoder and interpreter have their own property tests.)
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos import error_shape_problem
from raycast_ai.emulator.catalog import models_payload
from raycast_ai.server.openapi import openapi_document

from .conftest import InProcessGateway

COMPLETIONS = "/v1/chat/completions"
MESSAGES = "/v1/messages"  # and the paths under it: Anthropic's error shape
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MODEL_IDS = [m["id"] for m in models_payload()["models"]]

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def either(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly `valid`, sometimes a JSON value of any type in its place."""
    return st.one_of(valid, valid, valid, json_values)


def entries(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy[Any]:
    return either(st.fixed_dictionaries(required, optional=optional))


names = either(st.text(max_size=10))
text_part = entries(
    {"type": either(st.sampled_from(["text", "image_url", "input_audio", "file"]))},
    {"text": names, "image_url": json_values},
)
content = st.one_of(
    st.text(max_size=30), st.none(), st.lists(text_part | st.text(max_size=8), max_size=3)
)
function_call = entries(
    {"name": names},
    {"arguments": either(st.text(max_size=12) | st.dictionaries(st.text(max_size=4), scalars))},
)
tool_call = entries({"function": function_call}, {"id": names, "type": either(st.just("function"))})
message = entries(
    {"role": either(st.sampled_from(["user", "system", "developer", "assistant", "tool"]))},
    {
        "content": either(content),
        "name": names,
        "tool_calls": either(st.lists(tool_call, max_size=2)),
        "tool_call_id": names,
    },
)
parameters = entries(
    {"type": either(st.just("object"))},
    {
        "properties": either(st.dictionaries(st.text(max_size=5), json_values, max_size=3)),
        "required": either(st.lists(st.text(max_size=5), max_size=3)),
    },
)
tool = entries(
    {
        "type": either(st.just("function")),
        "function": entries({"name": names}, {"description": names, "parameters": parameters}),
    },
    {},
)
tool_choice = either(
    st.sampled_from(["auto", "none", "required"])
    | st.fixed_dictionaries(
        {"type": either(st.just("function")), "function": entries({"name": names}, {})}
    )
)
chat_requests = st.fixed_dictionaries(
    {"messages": either(st.lists(message, min_size=1, max_size=4))},
    optional={
        "model": either(st.sampled_from([*MODEL_IDS, "gpt-4o-mini", "nope"])),
        "stream": either(st.booleans()),
        "stream_options": entries({}, {"include_usage": either(st.booleans())}),
        "temperature": either(st.floats(0, 2)),
        "reasoning_effort": either(st.sampled_from(["none", "low", "medium", "high", "max"])),
        "reasoning": entries({}, {"effort": either(st.sampled_from(["low", "high"]))}),
        "tools": either(st.lists(tool, max_size=3)),
        "tool_choice": tool_choice,
        "n": either(st.integers(0, 3)),
        "max_tokens": json_values,
        "response_format": json_values,
        "stop": json_values,
    },
)


def check_answer(response: httpx2.Response) -> None:
    """No 5xx; a 200 from chat is a completion or a stream that ends well; else an error body."""
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        payload = response.json()
        if response.request.url.path.startswith(MESSAGES):
            problem = anthropic_error_problem(payload)
        else:
            problem = error_shape_problem(payload)
        assert problem is None, f"{problem}: {response.text}"
        return
    if response.request.url.path != COMPLETIONS:
        return
    if not response.headers["content-type"].startswith("text/event-stream"):
        assert response.json()["object"] == "chat.completion"
        return
    events = [block for block in response.text.split("\n\n") if block]
    assert events[-1] == "data: [DONE]"
    for block in events[:-1]:
        chunk = json.loads(block.removeprefix("data: "))
        assert "error" not in chunk, chunk  # the emulator answered: nothing may fail midway
        assert chunk["object"] == "chat.completion.chunk"


def anthropic_error_problem(payload: Any) -> str | None:
    """What is wrong with an Anthropic error body, or None."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict) or payload.get("type") != "error":
        return "not {'type': 'error', 'error': {...}}"
    if not isinstance(error.get("type"), str) or not error.get("message"):
        return "no error type or message"
    return None


@FUZZ
@given(body=json_values)
def test_any_json_value(inprocess: InProcessGateway, body: Any) -> None:
    check_answer(inprocess.request("POST", COMPLETIONS, content=json.dumps(body)))


@FUZZ
@given(body=json_values)
def test_any_json_value_to_messages(inprocess: InProcessGateway, body: Any) -> None:
    check_answer(inprocess.request("POST", MESSAGES, content=json.dumps(body)))
    check_answer(inprocess.request("POST", MESSAGES + "/count_tokens", content=json.dumps(body)))


@FUZZ
@given(body=st.binary(max_size=200))
def test_any_bytes(inprocess: InProcessGateway, body: bytes) -> None:
    check_answer(inprocess.request("POST", COMPLETIONS, content=body))


@pytest.mark.slow
@settings(FUZZ, max_examples=400)
@given(body=chat_requests)
def test_near_valid_chat_requests(inprocess: InProcessGateway, body: dict[str, Any]) -> None:
    check_answer(inprocess.request("POST", COMPLETIONS, content=json.dumps(body)))


@FUZZ
@given(model=st.text(max_size=40))
def test_any_model_name(inprocess: InProcessGateway, model: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    check_answer(inprocess.request("POST", COMPLETIONS, json=body))
    check_answer(inprocess.request("GET", "/v1/models/" + quote(model, safe="")))


OPENAPI = openapi_document()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_every_ref_of_the_openapi_document_resolves() -> None:
    """Regression: the chat body's schema once pointed at "#/$defs/...", which is nothing in an
    OpenAPI document, so generators (schemathesis) could not build a body at all."""
    refs = _refs(OPENAPI)
    assert any("ChatMessage" in ref for ref in refs)
    for ref in refs:
        node: Any = OPENAPI
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        assert isinstance(node, dict), ref


SCHEMA = schemathesis.openapi.from_dict(OPENAPI)


@pytest.mark.slow
@settings(FUZZ, max_examples=200)
@given(
    case=SCHEMA.as_strategy()
    | SCHEMA.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE)
)
def test_schemathesis_cases(inprocess: InProcessGateway, case: Any) -> None:
    sent = case.as_transport_kwargs(base_url="http://gateway")
    response = inprocess.request(
        sent["method"],
        sent["url"],
        headers=sent.get("headers"),
        params=sent.get("params"),
        json=sent.get("json"),
    )
    check_answer(response)


@pytest.mark.parametrize(
    "body",
    [
        b'{"messages":[{"role":"user","content":"\\ud800"}]}',  # a lone surrogate
        b'{"messages":[{"role":"user","content":"hi"}],"temperature":NaN}',
        b'{"messages":[{"role":"user","content":"hi"}],"n":1' + b"0" * 5000 + b"}",
        b'{"messages":[{"role":"user","content":"hi"}],"x":' + b"[" * 5000 + b"]" * 5000 + b"}",
        b"\xef\xbb\xbf{}",
    ],
    ids=["surrogate", "nan", "huge-int", "deep", "bom"],
)
def test_odd_json_is_a_400(inprocess: InProcessGateway, body: bytes) -> None:
    response = inprocess.request("POST", COMPLETIONS, content=body)
    assert response.status_code == 400
    check_answer(response)
