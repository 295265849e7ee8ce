"""Which Raycast account answers a request: one its gateway key is pinned to, else the least
recently used one, skipping accounts that cool down.

An account cools down when Raycast answers it with a 429 (for its `retry-after`, else
`RATE_LIMIT_COOLDOWN`) or a quota error, credits used up or the free trial's limit (for the wait
Raycast named, else the longer `QUOTA_COOLDOWN`). Cooldowns live in `app.state.cooldowns`, which
replicas on one store share. A request refused so before anything reached its client is sent
once more, on another account; when every account it may use cools down, the gateway answers 429
itself, with `retry-after` until the first is free, and sends nothing to Raycast.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from raycast_ai.client import AsyncRaycastClient
from raycast_ai.protocol.errors import QuotaExceededError, RateLimitError
from raycast_ai.store.base import Cooldowns, StoreError

from .accounts import Account

log = logging.getLogger("raycast_ai.server")

T = TypeVar("T")

DEFAULT_ACCOUNT = "default"  # the name of the one account of a gateway without an accounts file
RATE_LIMIT_COOLDOWN = 60.0
QUOTA_COOLDOWN = 900.0
MAX_COOLDOWN = 24 * 3600.0  # a Retry-After beyond a day is not believed


@dataclass(slots=True, eq=False)
class Upstream:
    """An account with its open client; `used` orders accounts by last use."""

    name: str
    client: AsyncRaycastClient
    keys: tuple[str, ...] = ()
    used: int = 0


class AccountPool:
    """The gateway's accounts, in the file's order (the first also fetches the catalog)."""

    def __init__(self, upstreams: Sequence[Upstream], *, cools: bool = True) -> None:
        if not upstreams:
            raise ValueError("An account pool needs at least one account.")
        self.upstreams = tuple(upstreams)
        self.cools = cools
        self._pinned: dict[str, tuple[Upstream, ...]] = {}
        for upstream in self.upstreams:
            for key in upstream.keys:
                self._pinned[key] = (*self._pinned.get(key, ()), upstream)
        self._uses = 0

    @property
    def primary(self) -> Upstream:
        return self.upstreams[0]

    def for_key(self, key: str) -> tuple[Upstream, ...]:
        """The accounts a request with gateway key `key` (its id) may use: those it is pinned to,
        else every one."""
        return self._pinned.get(key, self.upstreams)

    async def run(
        self,
        key: str,
        cooldowns: Cooldowns,
        attempt: Callable[[AsyncRaycastClient], Awaitable[T]],
    ) -> T:
        """`attempt` on the client of the account chosen for `key`; a rate limit or quota error
        it raises cools that account, and the attempt runs once more on another free one (else
        the error is raised). Raises RateLimitError, without an attempt, when all cool down."""
        candidates = self.for_key(key)
        cooling = await _cooling(cooldowns)
        upstream = self._pick(candidates, cooling)
        if upstream is None:
            raise _all_cooling(candidates, cooling, pinned=key in self._pinned)
        try:
            return await attempt(upstream.client)
        except RateLimitError as exc:
            await self._cool(upstream, exc, cooldowns)
            if len(candidates) == 1:
                raise
            second = self._pick(candidates, {**await _cooling(cooldowns), upstream.name: math.inf})
            if second is None:
                raise
            log.info("Raycast account '%s' takes the request instead", second.name)
        try:
            return await attempt(second.client)
        except RateLimitError as exc:
            await self._cool(second, exc, cooldowns)
            raise

    def _pick(self, candidates: Sequence[Upstream], cooling: dict[str, float]) -> Upstream | None:
        """The least recently used of `candidates` not cooling down, marked used."""
        chosen: Upstream | None = None
        for upstream in candidates:
            if upstream.name not in cooling and (chosen is None or upstream.used < chosen.used):
                chosen = upstream
        if chosen is not None:
            self._uses += 1
            chosen.used = self._uses
        return chosen

    async def _cool(self, upstream: Upstream, error: RateLimitError, cooldowns: Cooldowns) -> None:
        seconds = cooldown_for(error)
        if seconds <= 0 or not self.cools:
            return
        why = "its AI quota is used up" if isinstance(error, QuotaExceededError) else "rate limit"
        log.warning("Raycast account '%s' cools down for %.0f s (%s)", upstream.name, seconds, why)
        try:
            await cooldowns.cool(upstream.name, seconds)
        except StoreError as exc:
            log.warning("could not keep the cooldown of account '%s': %s", upstream.name, exc)


def cooldown_for(error: RateLimitError) -> float:
    """How long an account rests after `error`: the wait Raycast named, else the default of its
    kind, at most a day."""
    if error.retry_after is not None:
        return min(max(error.retry_after, 0.0), MAX_COOLDOWN)
    if isinstance(error, QuotaExceededError) or error.type == "credits_error":
        return QUOTA_COOLDOWN
    return RATE_LIMIT_COOLDOWN


async def _cooling(cooldowns: Cooldowns) -> dict[str, float]:
    """The accounts cooling down, until when; none when the store cannot say (an account that
    is in fact cooling then answers its own 429: better than refusing every request)."""
    try:
        until = await cooldowns.cooling()
    except StoreError as exc:
        log.warning("cooldowns unavailable, every account is tried: %s", exc)
        return {}
    now = time.time()
    return {name: at for name, at in until.items() if at > now}


def _all_cooling(
    candidates: Sequence[Upstream], cooling: dict[str, float], *, pinned: bool
) -> RateLimitError:
    wait = max(min(cooling[u.name] for u in candidates) - time.time(), 0.0)
    if pinned:
        names = ", ".join(f"'{u.name}'" for u in candidates)
        which = f"The Raycast account this API key is pinned to ({names})"
    elif len(candidates) == 1:
        which = "This gateway's Raycast account"
    else:
        which = f"Every Raycast account of this gateway ({len(candidates)})"
    return RateLimitError(
        f"{which} is cooling down after Raycast refused it (rate limit or AI credits); the "
        f"gateway sends nothing to Raycast until then. Retry in {math.ceil(wait)} s.",
        retry_after=wait,
    )


@contextlib.asynccontextmanager
async def opened(
    accounts: Sequence[Account],
    make: Callable[..., AsyncRaycastClient],
    home: Any = None,
    *,
    cools: bool = True,
) -> AsyncIterator[AccountPool]:
    """A pool over a client per account, made by `make(**credentials)` and closed on exit;
    without accounts, one client of the gateway's own credentials named `DEFAULT_ACCOUNT`."""
    async with contextlib.AsyncExitStack() as stack:
        if not accounts:
            client = await stack.enter_async_context(make())
            yield AccountPool([Upstream(DEFAULT_ACCOUNT, client)], cools=cools)
            return
        upstreams = []
        for account in accounts:
            credentials = account.with_device_id(home).credentials()
            client = await stack.enter_async_context(make(**credentials))
            upstreams.append(Upstream(account.name, client, account.keys))
        yield AccountPool(upstreams, cools=cools)
