"""`/v1/responses` end to end with the official `openai` client and the emulator as Raycast:
answers streamed and not, tool round trips (function, custom, namespaced), reasoning, stored
responses and `previous_response_id`, errors in OpenAI's shape, and hang-ups.

Most tests run twice: in-process (httpx2's ASGITransport) and against a real uvicorn socket.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import anyio
import httpx2
import openai
import pytest
from starlette.testclient import TestClient

from raycast_ai.client import AsyncRaycastClient
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import (
    answer_chunks,
    count_tokens,
    reasoning_chunks,
    tool_reply_chunks,
)
from raycast_ai.emulator.tools import arguments_for
from raycast_ai.protocol.request import CHAT_PATH
from raycast_ai.server import GatewaySettings, create_app
from raycast_ai.store import StoredResponse, StoreError
from raycast_ai.store.sqlite import FILENAME, SQLiteResponseStore

pytestmark = pytest.mark.anyio

MODEL = "openai-gpt-4o-mini"
REASONING_MODEL = "openai_o1-o3"
WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
    },
    "strict": False,
}
APPLY_PATCH: dict[str, Any] = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Use `apply_patch` to edit files.",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch"},
}
AGENTS: dict[str, Any] = {
    "type": "namespace",
    "name": "multi_agent_v1",
    "description": "Sub-agents.",
    "tools": [
        {
            "type": "function",
            "name": "spawn_agent",
            "parameters": {
                "type": "object",
                "properties": {"task": {"type": "string"}},
                "required": ["task"],
            },
        }
    ],
}


def expected(prompt: str, n: int, model: str = MODEL) -> str:
    return "".join(answer_chunks(prompt, model, n))


def upstream_body(emulator: EmulatorServer, nonce: str) -> dict[str, Any]:
    """The body of the latest Raycast request whose text holds `nonce`."""
    for record in reversed(emulator.recorder.for_path(CHAT_PATH)):
        if nonce in record.body.decode():
            body: dict[str, Any] = record.json()
            return body
    raise AssertionError(f"no upstream request holds {nonce}")


def nonce() -> str:
    return uuid.uuid4().hex[:12]


async def test_plain_answer(client: openai.AsyncOpenAI) -> None:
    prompt = f"Say something {nonce()} @chunks:6"
    response = await client.responses.create(model=MODEL, input=prompt)
    assert response.object == "response"
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.model == MODEL
    assert response.output_text == expected(prompt, 6)
    (message,) = response.output
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.status == "completed"
    assert response.usage is not None
    assert response.usage.input_tokens == count_tokens(prompt)
    assert response.usage.output_tokens == count_tokens(expected(prompt, 6))
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == 0


async def test_stream_events_and_final_response(client: openai.AsyncOpenAI) -> None:
    prompt = f"Stream it {nonce()} @chunks:5"
    async with client.responses.stream(
        model=MODEL, input=prompt, instructions="Be brief."
    ) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == answer_chunks(prompt, MODEL, 5)
    assert final.output_text == expected(prompt, 5)
    assert final.instructions == "Be brief."
    assert final.usage is not None
    assert final.usage.output_tokens == count_tokens(expected(prompt, 5))


async def test_stream_with_create(client: openai.AsyncOpenAI) -> None:
    prompt = f"Create a stream {nonce()} @chunks:3"
    stream = await client.responses.create(model=MODEL, input=prompt, stream=True)
    events = [event async for event in stream]
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == expected(prompt, 3)


async def test_function_tool_round_trip(client: openai.AsyncOpenAI) -> None:
    prompt = f"What is the weather in Paris? {nonce()} @tool @chunks:3"
    first = await client.responses.create(
        model=MODEL,
        input=prompt,
        tools=[WEATHER],
        store=False,  # type: ignore[list-item]
    )
    (call,) = first.output
    assert call.type == "function_call"
    assert call.name == "get_weather"
    assert call.call_id.startswith("toolu_")
    assert call.status == "completed"
    assert json.loads(call.arguments) == arguments_for(WEATHER["parameters"])

    result = "18 degrees and sunny"
    history: list[Any] = [
        {"role": "user", "content": prompt},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": result},
    ]
    async with client.responses.stream(
        model=MODEL,
        input=history,
        tools=[WEATHER],  # type: ignore[list-item]
        store=False,
    ) as stream:
        final = await stream.get_final_response()
    assert final.output_text == "".join(tool_reply_chunks("get_weather", result, MODEL, 3))


async def test_streamed_function_call_events(
    client: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    tag = nonce()
    async with client.responses.stream(
        model=MODEL,
        input=f"weather {tag} @tool",
        tools=[WEATHER, {"type": "web_search"}],  # type: ignore[list-item]
    ) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds
    assert "response.function_call_arguments.done" in kinds
    (call,) = final.output
    assert call.type == "function_call"
    done = [e for e in events if e.type == "response.output_item.done"]
    assert [e.item.id for e in done] == [call.id]
    assert upstream_body(emulator, tag)["tools"][1:] == [
        {"name": "web_search", "type": "remote_tool"}
    ]


async def test_hosted_tools_are_named_in_a_header(client: openai.AsyncOpenAI) -> None:
    raw = await client.responses.with_raw_response.create(
        model=MODEL,
        input="hi @chunks:1",
        tools=[WEATHER, {"type": "web_search"}, {"type": "file_search", "vector_store_ids": []}],  # type: ignore[list-item]
    )
    # web_search is Raycast's remote tool, not dropped.
    assert raw.headers["x-raycast-dropped-tools"] == "file_search"
    assert raw.parse().status == "completed"


async def test_custom_tool_round_trip(client: openai.AsyncOpenAI, emulator: EmulatorServer) -> None:
    tag = nonce()
    prompt = f"Fix the bug {tag} @tool:apply_patch @chunks:2"
    tools: Any = [WEATHER, APPLY_PATCH]
    first = await client.responses.create(model=MODEL, input=prompt, tools=tools)
    (call,) = first.output
    assert call.type == "custom_tool_call"
    assert call.name == "apply_patch"
    assert call.input == "Paris"  # the emulator's string for the stand-in's `input`
    offered = upstream_body(emulator, tag)["tools"]
    patch = next(t["function"] for t in offered if t["function"]["name"] == "apply_patch")
    assert patch["parameters"]["required"] == ["input"]
    assert "start: begin_patch" in patch["description"]

    output = "Success. Updated the following files:\nM hello.txt"
    final = await client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "custom_tool_call_output", "call_id": call.call_id, "output": output}],
        tools=tools,
    )
    assert final.output_text == "".join(tool_reply_chunks("apply_patch", output, MODEL, 2))


async def test_namespaced_tool_round_trip(client: openai.AsyncOpenAI) -> None:
    prompt = f"Delegate {nonce()} @tool:multi_agent_v1__spawn_agent @chunks:2"
    async with client.responses.stream(model=MODEL, input=prompt, tools=[AGENTS]) as stream:  # type: ignore[list-item]
        first = await stream.get_final_response()
    (call,) = first.output
    assert call.type == "function_call"
    assert call.name == "spawn_agent"
    assert call.namespace == "multi_agent_v1"
    assert json.loads(call.arguments) == {"task": "Paris"}
    final = await client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": prompt},
            call.model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": call.call_id, "output": "spawned"},
        ],
        tools=[AGENTS],  # type: ignore[list-item]
    )
    assert final.output_text == "".join(
        tool_reply_chunks("multi_agent_v1__spawn_agent", "spawned", MODEL, 2)
    )


async def test_reasoning_summary(client: openai.AsyncOpenAI, emulator: EmulatorServer) -> None:
    tag = nonce()
    prompt = f"Think first {tag} @chunks:3"
    async with client.responses.stream(
        model=REASONING_MODEL, input=prompt, reasoning={"effort": "low", "summary": "auto"}
    ) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    assert upstream_body(emulator, tag)["reasoning_effort"] == "low"
    reasoning, message = final.output
    assert reasoning.type == "reasoning"
    thought = "".join(reasoning_chunks(prompt, REASONING_MODEL, 3))
    assert [s.text for s in reasoning.summary] == [thought]
    summary = [e.delta for e in events if e.type == "response.reasoning_summary_text.delta"]
    assert "".join(summary) == thought
    assert message.type == "message"
    assert final.output_text == expected(prompt, 3, REASONING_MODEL)
    assert final.usage is not None
    assert final.reasoning is not None
    assert final.reasoning.effort == "low"


async def test_an_effort_the_model_lacks_is_clamped(
    client: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    tag = nonce()
    response = await client.responses.create(
        model=REASONING_MODEL, input=f"hard {tag} @chunks:1", reasoning={"effort": "xhigh"}
    )
    assert response.status == "completed"
    assert upstream_body(emulator, tag)["reasoning_effort"] == "high"


async def test_previous_response_id_continues_the_conversation(
    client: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    tag = nonce()
    first_prompt = f"Remember {tag} @chunks:3"
    first = await client.responses.create(
        model=MODEL, input=first_prompt, instructions="First instructions."
    )
    async with client.responses.stream(
        model=MODEL,
        input=f"And then? {tag} @chunks:2",
        previous_response_id=first.id,
        instructions="Second instructions.",
    ) as stream:
        second = await stream.get_final_response()
    assert second.previous_response_id == first.id
    body = upstream_body(emulator, f"And then? {tag}")
    assert [m["author"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][0]["content"]["text"] == first_prompt
    assert body["messages"][1]["content"]["text"] == expected(first_prompt, 3)
    # Instructions are not carried over.
    assert body["additional_system_instructions"] == "Second instructions."

    third = await client.responses.create(
        model=MODEL, input=f"Last {tag} @chunks:1", previous_response_id=second.id
    )
    body = upstream_body(emulator, f"Last {tag}")
    assert len(body["messages"]) == 5
    assert third.output_text == expected(f"Last {tag} @chunks:1", 1)


async def test_get_and_delete(client: openai.AsyncOpenAI) -> None:
    prompt = f"Keep this {nonce()} @chunks:2"
    async with client.responses.stream(model=MODEL, input=prompt) as stream:
        created = await stream.get_final_response()
    fetched = await client.responses.retrieve(created.id)
    assert fetched.id == created.id
    assert fetched.output_text == expected(prompt, 2)
    assert fetched.store is True
    await client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError) as gone:
        await client.responses.retrieve(created.id)
    assert created.id in gone.value.message
    with pytest.raises(openai.NotFoundError):
        await client.responses.delete(created.id)


async def test_an_unknown_previous_response_is_404(client: openai.AsyncOpenAI) -> None:
    for stream in (False, True):
        with pytest.raises(openai.NotFoundError) as caught:
            await client.responses.create(
                model=MODEL, input="x", previous_response_id="resp_nope", stream=stream
            )
        assert caught.value.code == "previous_response_not_found"
        assert caught.value.param == "previous_response_id"  # type: ignore[attr-defined]
        assert caught.value.type == "invalid_request_error"  # type: ignore[attr-defined]
        assert "resp_nope" in caught.value.message


async def test_store_false_stores_nothing(upstream_options: dict[str, Any]) -> None:
    home = Path(upstream_options["home"])
    async with AsyncRaycastClient(**upstream_options) as upstream:
        app = create_app(GatewaySettings(), client=upstream)
        transport = httpx2.ASGITransport(app)
        async with (
            app.router.lifespan_context(app),  # its end waits for the store's writes
            httpx2.AsyncClient(transport=transport, base_url="http://gw") as http,
        ):
            client = openai.AsyncOpenAI(
                api_key="-", base_url="http://gw/v1", http_client=http, max_retries=0
            )
            whole = await client.responses.create(model=MODEL, input="a @chunks:1", store=False)
            async with client.responses.stream(
                model=MODEL, input="b @chunks:1", store=False
            ) as stream:
                streamed = await stream.get_final_response()
            for response in (whole, streamed):
                assert response.store is False
                with pytest.raises(openai.NotFoundError):
                    await client.responses.retrieve(response.id)
                with pytest.raises(openai.NotFoundError):
                    await client.responses.create(
                        model=MODEL, input="c", previous_response_id=response.id
                    )
            kept = await client.responses.create(model=MODEL, input="d @chunks:1")
    with sqlite3.connect(home / FILENAME) as db:
        assert db.execute("SELECT id FROM responses").fetchall() == [(kept.id,)]
    assert (home / FILENAME).stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("prompt", "model", "error", "status", "code"),
    [
        ("@fault:401", MODEL, openai.AuthenticationError, 401, "upstream_authentication_failed"),
        ("@fault:429 @retry-after:3", MODEL, openai.RateLimitError, 429, "rate_limit_exceeded"),
        ("@fault:500", MODEL, openai.InternalServerError, 502, "upstream_error"),
        ("@fault:context_error", MODEL, openai.BadRequestError, 400, "context_length_exceeded"),
        ("hello", "no-such-model", openai.NotFoundError, 404, "model_not_found"),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_faults_before_the_first_token_keep_their_status(
    aopenai: openai.AsyncOpenAI,
    prompt: str,
    model: str,
    error: type[openai.APIStatusError],
    status: int,
    code: str,
    stream: bool,
) -> None:
    with pytest.raises(error) as caught:
        await aopenai.responses.create(model=model, input=prompt, stream=stream)
    assert caught.value.status_code == status
    assert caught.value.code == code
    assert caught.value.request_id
    body = caught.value.body
    assert isinstance(body, dict)
    assert set(body) >= {"message", "type", "param", "code"}
    if status == 429:
        assert caught.value.response.headers["retry-after"] == "3"


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("reset-mid", 502, "incomplete_stream"),
        ("truncate", 502, "incomplete_stream"),
        ("stall", 504, "upstream_timeout"),
        ("malformed", 502, "malformed_upstream_response"),
    ],
)
async def test_an_error_after_the_first_token_is_response_failed(
    client: openai.AsyncOpenAI, fault: str, status: int, code: str
) -> None:
    prompt = f"hello {nonce()} @fault:{fault} @stall:5 @chunks:8"
    with pytest.raises(openai.InternalServerError) as whole:
        await client.responses.create(model=MODEL, input=prompt)
    assert whole.value.status_code == status

    stream = await client.responses.create(model=MODEL, input=prompt, stream=True)
    events = [event async for event in stream]
    assert events[-1].type == "response.failed"
    failed = events[-1].response
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.message
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text
    assert expected(prompt, 8).startswith(text)
    added = [e for e in events if e.type == "response.output_item.added"]
    done = [e for e in events if e.type == "response.output_item.done"]
    assert len(added) == len(done) == 1
    assert done[0].item.status == "incomplete"
    assert failed.error.code == code
    assert whole.value.code == code


async def test_a_reroute_is_a_header_and_names_the_model_that_answered(
    client: openai.AsyncOpenAI,
) -> None:
    prompt = f"hi {nonce()} @fault:model_updated @chunks:3"
    raw = await client.responses.with_raw_response.create(model=MODEL, input=prompt)
    assert "rerouted to GPT-4o" in raw.headers["x-raycast-rerouted"]
    response = raw.parse()
    assert response.model == "openai-gpt-4o"
    assert response.output_text == expected(prompt, 3)
    async with client.responses.stream(model=MODEL, input=prompt) as stream:
        final = await stream.get_final_response()
    assert final.model == "openai-gpt-4o"


def test_sync_client_against_uvicorn(sync_openai: openai.OpenAI) -> None:
    prompt = f"sync please {nonce()} @chunks:4"
    response = sync_openai.responses.create(model=MODEL, input=prompt)
    assert response.output_text == expected(prompt, 4)
    with sync_openai.responses.stream(model=MODEL, input=prompt) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == expected(prompt, 4)
    assert sync_openai.responses.retrieve(final.id).output_text == final.output_text
    with pytest.raises(openai.RateLimitError):
        sync_openai.responses.create(model=MODEL, input="x @fault:429")


def test_sync_client_in_process(upstream_options: dict[str, Any]) -> None:
    settings = GatewaySettings(client_options=upstream_options)
    with TestClient(create_app(settings), base_url="http://gateway") as http:
        client = openai.OpenAI(
            api_key="unused", base_url="http://gateway/v1", http_client=http, max_retries=0
        )
        prompt = "in process @chunks:4"
        first = client.responses.create(model=MODEL, input=prompt)
        assert first.output_text == expected(prompt, 4)
        stream = client.responses.create(
            model=MODEL, input="more @chunks:2", previous_response_id=first.id, stream=True
        )
        kinds = [event.type for event in stream]
        assert kinds[-1] == "response.completed"


def test_a_client_disconnect_closes_the_upstream_request(
    patient_gateway: Any, emulator: EmulatorServer
) -> None:
    base_url = patient_gateway.base_url + "/v1"
    with openai.OpenAI(api_key="-", base_url=base_url, max_retries=0) as client:
        stream = client.responses.create(  # 8 s of answer, unless cut short
            model=MODEL, input=f"long one {nonce()} @chunks:400 @delay:0.02", stream=True
        )
        events = iter(stream)
        for _ in range(5):
            next(events)
        stream.close()
        record = emulator.recorder.wait_for_outcome("disconnected", timeout=2.0)
    assert record.path == CHAT_PATH


async def test_middleware_errors_under_v1_responses_are_openai_shaped(
    http: httpx2.AsyncClient,
) -> None:
    wrong = await http.put("/v1/responses/resp_x")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["type"] == "invalid_request_error"
    bad = await http.post("/v1/responses", content=b"{not json")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_json"


async def test_the_openapi_document_lists_the_routes(http: httpx2.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert (
        "input"
        in paths["/v1/responses"]["post"]["requestBody"]["content"]["application/json"]["schema"][
            "properties"
        ]
    )
    assert set(paths["/v1/responses/{response_id}"]) == {"get", "delete"}


async def test_input_items_of_a_stored_response(client: openai.AsyncOpenAI) -> None:
    tag = nonce()
    tools: Any = [WEATHER, APPLY_PATCH, AGENTS]
    first = await client.responses.create(
        model=MODEL, input=f"patch {tag} @tool:apply_patch", tools=tools, instructions="Be brief."
    )
    (call,) = first.output
    assert call.type == "custom_tool_call"
    second = await client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[
            {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "ok"},
            {
                "type": "function_call",
                "call_id": "s1",
                "name": "spawn_agent",
                "namespace": "multi_agent_v1",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "s1", "output": "spawned"},
        ],
        tools=tools,
    )
    page = await client.responses.input_items.list(second.id, order="asc")
    kinds = [(i.type, getattr(i, "role", None)) for i in page.data]
    assert kinds == [
        ("message", "user"),
        ("custom_tool_call", None),
        ("custom_tool_call_output", None),
        ("function_call", None),
        ("function_call_output", None),
    ]
    user, patch, patched, spawn, spawned = page.data
    assert user.content[0].text == f"patch {tag} @tool:apply_patch"  # type: ignore[union-attr]
    assert patch.call_id == call.call_id  # type: ignore[union-attr]
    assert patch.input == call.input  # type: ignore[union-attr]
    assert spawn.name == "spawn_agent"  # type: ignore[union-attr]
    assert spawn.namespace == "multi_agent_v1"  # type: ignore[union-attr]
    assert spawned.output == "spawned"  # type: ignore[union-attr]
    newest = await client.responses.input_items.list(second.id, limit=2)
    assert [i.id for i in newest.data] == [spawned.id, spawn.id]
    assert newest.has_more
    rest = await client.responses.input_items.list(second.id, limit=10, after=spawn.id)
    assert [i.id for i in rest.data] == [patched.id, patch.id, user.id]
    assert not rest.has_more
    with pytest.raises(openai.NotFoundError):
        await client.responses.input_items.list("resp_nope")
    with pytest.raises(openai.BadRequestError):
        await client.responses.input_items.list(second.id, limit=0)


async def test_input_tokens_are_estimated_locally(
    client: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    before = len(emulator.recorder.for_path(CHAT_PATH))
    short = await client.responses.input_tokens.count(model=MODEL, input="Hello there")
    longer = await client.responses.input_tokens.count(
        model=MODEL,
        input="Hello there " * 50,
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert short.object == "response.input_tokens"
    assert 0 < short.input_tokens < longer.input_tokens
    assert len(emulator.recorder.for_path(CHAT_PATH)) == before
    first = await client.responses.create(model=MODEL, input="Remember this @chunks:20")
    chained = await client.responses.input_tokens.count(
        model=MODEL, input="Hello there", previous_response_id=first.id
    )
    assert chained.input_tokens > short.input_tokens
    with pytest.raises(openai.NotFoundError):
        await client.responses.input_tokens.count(
            model=MODEL, input="x", previous_response_id="resp_nope"
        )


class MemoryStore:
    """Another backend behind the same interface; `broken` makes every write fail."""

    def __init__(self, *, broken: bool = False) -> None:
        self.saved: dict[str, StoredResponse] = {}
        self.broken = broken

    async def get(self, response_id: str) -> StoredResponse | None:
        return self.saved.get(response_id)

    async def put(self, response_id: str, stored: StoredResponse) -> None:
        if self.broken:
            raise StoreError("disk full")
        self.saved[response_id] = stored

    async def delete(self, response_id: str) -> bool:
        return self.saved.pop(response_id, None) is not None


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_any_store_behind_the_interface_and_a_failing_one_costs_no_answer(
    upstream: AsyncRaycastClient, stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(GatewaySettings(), client=upstream)
    memory = MemoryStore()
    app.state.response_store = memory
    transport = httpx2.ASGITransport(app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as http:
        client = openai.AsyncOpenAI(
            api_key="-", base_url="http://gw/v1", http_client=http, max_retries=0
        )
        prompt = f"kept {nonce()} @chunks:2"
        first = await client.responses.create(model=MODEL, input=prompt, stream=stream)
        if stream:
            first = [event async for event in first][-1].response  # type: ignore[union-attr]
        assert isinstance(first, openai.types.responses.Response)
        assert memory.saved[first.id].messages == [{"role": "user", "content": prompt}]
        assert memory.saved[first.id].response["output"][0]["content"][0]["text"] == expected(
            prompt, 2
        )
        memory.broken = True
        second = await client.responses.create(
            model=MODEL, input="more @chunks:1", previous_response_id=first.id, stream=stream
        )
        if stream:
            second = [event async for event in second][-1].response  # type: ignore[union-attr]
        assert isinstance(second, openai.types.responses.Response)
        assert second.output_text == expected("more @chunks:1", 1)
        assert second.id not in memory.saved
    assert f"storing response {second.id} failed" in caplog.text


class UnreadableStore(MemoryStore):
    async def get(self, response_id: str) -> StoredResponse | None:
        raise StoreError("the file is not a database")

    async def delete(self, response_id: str) -> bool:
        raise StoreError("the file is not a database")


async def test_a_store_that_cannot_read_is_a_500_in_openai_shape(
    upstream: AsyncRaycastClient,
) -> None:
    app = create_app(GatewaySettings(), client=upstream)
    app.state.response_store = UnreadableStore()
    transport = httpx2.ASGITransport(app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as http:
        client = openai.AsyncOpenAI(
            api_key="-", base_url="http://gw/v1", http_client=http, max_retries=0
        )
        calls = [
            client.responses.retrieve("resp_1"),
            client.responses.delete("resp_1"),
            client.responses.input_items.list("resp_1"),
            client.responses.create(model=MODEL, input="x", previous_response_id="resp_1"),
        ]
        for call in calls:
            with pytest.raises(openai.InternalServerError) as caught:
                await call
            assert caught.value.code == "store_failed"
            assert caught.value.response.headers["x-should-retry"] == "false"
        # Without a previous response, the store is not read: answers still come.
        done = await client.responses.create(model=MODEL, input="y @chunks:1", store=False)
        assert done.output_text == expected("y @chunks:1", 1)


async def test_a_broken_sqlite_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    path.write_bytes(b"this is not an SQLite database, not at all" * 100)
    store = SQLiteResponseStore(path)
    with pytest.raises(StoreError, match="failed"):
        await store.get("resp_1")


FAULTS = [None, None, "model_updated", "reset-mid", "truncate", "malformed", "429", "500"]
FAULTS += ["context_error", "credits_error", "reset-before"]
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


async def test_concurrent_streams_under_faults_each_end_once(gateway: Any) -> None:
    """Many streams at once, some bent by a fault: each is an error status in OpenAI's shape,
    or a stream whose numbers rise by one, whose items are all done, and whose last event is
    its only terminal one; the completed ones are stored as streamed."""

    outcomes: list[str] = []

    async def one(http: httpx2.AsyncClient, n: int) -> None:
        fault = FAULTS[n % len(FAULTS)]
        prompt = f"n{n} {nonce()} @chunks:6" + (f" @fault:{fault}" if fault else "")
        body = {"model": MODEL, "input": prompt, "stream": True, "tools": [WEATHER]}
        async with http.stream("POST", "/v1/responses", json=body) as response:
            raw = (await response.aread()).decode()
        if response.status_code != 200:
            error = json.loads(raw)["error"]
            assert set(error) == {"message", "type", "param", "code"}, raw
            outcomes.append("status")
            return
        events = [
            json.loads(block.split("\ndata: ", 1)[1])
            for block in raw.split("\n\n")
            if block.startswith("event: ")
        ]
        assert [e["sequence_number"] for e in events] == list(range(len(events)))
        assert [e["type"] in TERMINAL for e in events].count(True) == 1
        last = events[-1]
        assert last["type"] in TERMINAL
        outcomes.append(last["type"])
        added = [e["item"]["id"] for e in events if e["type"] == "response.output_item.added"]
        done = [e["item"]["id"] for e in events if e["type"] == "response.output_item.done"]
        assert added == done
        if last["type"] == "response.completed":
            assert fault in (None, "model_updated")
            stored = await http.get(f"/v1/responses/{last['response']['id']}")
            assert stored.json() == last["response"]
        else:
            assert fault in ("reset-mid", "truncate", "malformed")

    async with (
        httpx2.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
        anyio.create_task_group() as tasks,
    ):
        for n in range(44):
            tasks.start_soon(one, http, n)
    assert set(outcomes) == {"status", "response.completed", "response.failed"}
    assert len(outcomes) == 44


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_stored_response_replays_as_the_stream_that_made_it(
    client: openai.AsyncOpenAI, stream: bool
) -> None:
    tools: Any = [WEATHER, APPLY_PATCH, AGENTS]
    prompts = [
        (REASONING_MODEL, f"Think {nonce()} @chunks:4"),
        (MODEL, f"Patch {nonce()} @tool:apply_patch"),
        (MODEL, f"Spawn {nonce()} @tool:multi_agent_v1__spawn_agent"),
    ]
    for model, prompt in prompts:
        if stream:
            original = await client.responses.create(
                model=model, input=prompt, tools=tools, stream=True
            )
            seen = [event async for event in original]
            created = seen[-1].response
        else:
            created = await client.responses.create(model=model, input=prompt, tools=tools)
        replayed = await client.responses.retrieve(created.id, stream=True)
        events = [event async for event in replayed]
        assert [e.sequence_number for e in events] == list(range(len(events)))
        assert events[0].type == "response.created"
        assert events[-1].type == "response.completed"
        assert events[-1].response == created
        if stream:  # the same events, but one delta per item
            kinds = [e.type for e in events if "delta" not in e.type]
            assert kinds == [e.type for e in seen if "delta" not in e.type]
        done = [e.item for e in events if e.type == "response.output_item.done"]
        assert done == created.output
