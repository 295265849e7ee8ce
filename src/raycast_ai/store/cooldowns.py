"""Cooldowns of Raycast accounts: in this process (one gateway), or shared over Redis."""

from __future__ import annotations

import time


class MemoryCooldowns:
    """Cooldowns seen by this process only: enough for one gateway process."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    async def cool(self, account: str, seconds: float) -> None:
        until = time.time() + seconds
        self._until[account] = max(until, self._until.get(account, 0.0))

    async def cooling(self) -> dict[str, float]:
        now = time.time()
        self._until = {name: until for name, until in self._until.items() if until > now}
        return dict(self._until)
