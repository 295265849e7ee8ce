"""Several Raycast accounts on one emulator: more accepted tokens, and a fault per token (as if
Raycast rate-limited that account, or found it out of credits)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from raycast_ai.emulator.app import EmulatorConfig
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH

from .support import chunks, signed


@pytest.fixture
def accounts() -> Iterator[httpx2.Client]:
    config = EmulatorConfig(tokens=("token-a", "token-b"), token_faults={"token-a": "429"})
    with (
        EmulatorServer(config) as server,
        httpx2.Client(base_url=server.base_url, timeout=5.0, trust_env=False) as http,
    ):
        yield http


def post(http: httpx2.Client, prompt: str, token: str) -> httpx2.Response:
    request, headers = signed(prompt, token=token)
    return http.post(CHAT_PATH, content=request.body, headers=headers)


def test_each_accounts_token_is_accepted_and_others_are_not(accounts: httpx2.Client) -> None:
    answered = post(accounts, "hi", "token-b")
    assert answered.status_code == 200 and chunks(answered.content)
    assert post(accounts, "hi", "emulator-token").status_code == 200  # its own still works
    assert post(accounts, "hi", "token-c").status_code == 401


def test_a_tokens_fault_meets_each_of_its_requests(accounts: httpx2.Client) -> None:
    for _ in range(2):
        refused = post(accounts, "hi @retry-after:9", "token-a")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "9"
    # The fault a request names wins over its token's.
    assert post(accounts, "hi @fault:503", "token-a").status_code == 503


def test_a_token_fault_must_be_a_known_one() -> None:
    with pytest.raises(ValueError, match="'4299' is not an emulator fault"):
        EmulatorConfig(tokens=("token-a",), token_faults={"token-a": "4299"})
