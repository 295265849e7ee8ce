"""The guarding middleware, each around a tiny echo app, and the bind check of `serve()`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from raycast_ai.protocol.errors import InvalidRequestError
from raycast_ai.server import check_bind, serve
from raycast_ai.server.security import (
    HOSTS_SEEN,
    APIKeyMiddleware,
    BodyLimitMiddleware,
    CORSMiddleware,
    HostMiddleware,
    RequestIdMiddleware,
)
from raycast_ai.server.settings import LOOPBACK_ORIGIN_REGEX, GatewaySettings, is_loopback

pytestmark = pytest.mark.anyio


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the request body it received."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def crash(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("bug")


def client(app: ASGIApp) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app, raise_app_exceptions=False), base_url="http://gw"
    )


async def test_request_id_is_made_or_echoed() -> None:
    async with client(RequestIdMiddleware(echo)) as http:
        made = await http.get("/x")
        assert made.headers["x-request-id"].startswith("req_")
        echoed = await http.get("/x", headers={"x-request-id": "abc-123"})
        assert echoed.headers["x-request-id"] == "abc-123"
        replaced = await http.get("/x", headers={"x-request-id": "bad id\twith spaces"})
        assert replaced.headers["x-request-id"].startswith("req_")


async def test_an_unexpected_exception_is_a_500_in_openai_shape() -> None:
    async with client(RequestIdMiddleware(crash)) as http:
        response = await http.get("/x")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert response.headers["x-request-id"]


@pytest.fixture
def cors() -> ASGIApp:
    return CORSMiddleware(echo, origin_regex=LOOPBACK_ORIGIN_REGEX)


@pytest.mark.parametrize(
    "origin",
    ["http://localhost", "http://localhost:3000", "https://127.0.0.1:8443", "http://[::1]:5173"],
)
async def test_cors_preflight_from_a_local_origin(cors: ASGIApp, origin: str) -> None:
    async with client(cors) as http:
        response = await http.options(
            "/v1/chat/completions",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-headers"] == "authorization, content-type"
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://localhost.evil.example", "null", "http://127.0.0.2"]
)
async def test_cors_preflight_from_elsewhere_gets_no_allow_headers(
    cors: ASGIApp, origin: str
) -> None:
    async with client(cors) as http:
        response = await http.options(
            "/v1/chat/completions",
            headers={"origin": origin, "access-control-request-method": "POST"},
        )
    assert response.status_code == 403
    assert not [h for h in response.headers if h.startswith("access-control-")]


async def test_cors_headers_on_simple_requests_only_for_allowed_origins(cors: ASGIApp) -> None:
    async with client(cors) as http:
        ok = await http.post("/x", content=b"hi", headers={"origin": "http://localhost:8000"})
        other = await http.post("/x", content=b"hi", headers={"origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "http://localhost:8000"
    assert "x-request-id" in ok.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in other.headers


async def test_cors_explicit_list_and_wildcard() -> None:
    listed = CORSMiddleware(echo, origins=["https://app.example"])
    async with client(listed) as http:
        ok = await http.get("/x", headers={"origin": "https://app.example"})
        local = await http.get("/x", headers={"origin": "http://localhost"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in local.headers
    anyone = CORSMiddleware(echo, origins=["*"])
    async with client(anyone) as http:
        response = await http.get("/x", headers={"origin": "https://x.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


@pytest.fixture
def keyed() -> ASGIApp:
    return APIKeyMiddleware(echo, keys=["sk-one", "sk-two"])


async def test_api_keys_accepted_as_bearer_or_x_api_key(keyed: ASGIApp) -> None:
    async with client(keyed) as http:
        bearer = await http.post("/v1/x", headers={"authorization": "Bearer sk-two"})
        header = await http.post("/v1/x", headers={"x-api-key": "sk-one"})
    assert bearer.status_code == header.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer sk-wrong"},
        {"x-api-key": "sk-one "},
        {"authorization": "sk-one"},
    ],
)
async def test_missing_or_wrong_key_is_401_in_openai_shape(
    keyed: ASGIApp, headers: dict[str, str]
) -> None:
    async with client(keyed) as http:
        response = await http.post("/v1/x", headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_api_key"
    assert "sk-" not in response.text


async def test_health_and_options_are_open(keyed: ASGIApp) -> None:
    async with client(keyed) as http:
        assert (await http.get("/health")).status_code == 200
        assert (await http.options("/v1/chat/completions")).status_code == 200
        assert (await http.get("/ready")).status_code == 401


async def test_without_keys_everything_is_open() -> None:
    async with client(APIKeyMiddleware(echo, keys=[])) as http:
        assert (await http.post("/v1/x")).status_code == 200


async def test_key_digests_only() -> None:
    middleware = APIKeyMiddleware(echo, keys=["sk-one"])
    assert all(len(d) == 32 for d in middleware.digests)
    assert "sk-one" not in repr(vars(middleware))


async def test_body_within_the_limit_reaches_the_app() -> None:
    async with client(BodyLimitMiddleware(echo, max_size=10)) as http:
        response = await http.post("/x", content=b"0123456789")
    assert response.status_code == 200
    assert response.content == b"0123456789"


async def test_body_over_the_limit_by_content_length_is_413() -> None:
    async with client(BodyLimitMiddleware(echo, max_size=10)) as http:
        response = await http.post("/x", content=b"01234567890")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


async def test_streamed_body_over_the_limit_is_413() -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"0123"

    async with client(BodyLimitMiddleware(echo, max_size=10)) as http:
        response = await http.post("/x", content=body())
    assert response.status_code == 413


async def test_body_limit_passes_disconnect_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((await receive())["type"])
        seen.append((await receive())["type"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    messages: list[Message] = [
        {"type": "http.request", "body": b"a", "more_body": True},
        {"type": "http.request", "body": b"b", "more_body": False},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await BodyLimitMiddleware(app, max_size=10)(scope, receive, send)
    assert seen == ["http.request", "http.disconnect"]
    assert sent[0]["status"] == 204


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_non_loopback_without_key_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="API key"):
        check_bind("0.0.0.0", GatewaySettings())
    check_bind("0.0.0.0", GatewaySettings(api_keys=("k",)))
    check_bind("127.0.0.1", GatewaySettings())


def test_serve_refuses_before_listening(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAYCAST_AI_API_KEYS", raising=False)
    with pytest.raises(InvalidRequestError, match=r"--api-key"):
        serve(host="0.0.0.0", port=1)


def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYCAST_AI_API_KEYS", " sk-a, sk-b ,,")
    assert GatewaySettings.from_env().api_keys == ("sk-a", "sk-b")
    assert GatewaySettings.from_env(["c"]).api_keys == ("c",)
    assert "sk-a" not in repr(GatewaySettings.from_env())


def test_the_host_check_answers_alike_once_it_remembers_and_remembers_a_bounded_few() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("not called")

    guard = HostMiddleware(app, names=["gw.example"])
    cases = {"127.0.0.1:8080": True, "gw.example": True, "evil.example:80": False}
    for _ in range(2):  # computed, then remembered
        assert {host: guard.allowed(host) for host in cases} == cases
    for i in range(3 * HOSTS_SEEN):  # a client sending a new Host each time
        assert not guard.allowed(f"rebound-{i}.example")
    assert len(guard.seen) == HOSTS_SEEN
    assert guard.allowed("[::1]:8080") and not guard.allowed("late.example")
