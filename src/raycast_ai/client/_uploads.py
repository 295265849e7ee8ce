"""The ids of files already uploaded, so the same content goes up once per process in a while.

Keyed by the base URL, the token (hashed) and the content's SHA-256: two accounts never share
an id. An id is kept `ttl` seconds from its upload, never longer (how long Raycast keeps a file
is unknown), and at most `size` of them, the oldest dropped first.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

UPLOAD_TTL = 600.0
UPLOAD_CACHE_SIZE = 1024

Key = tuple[str, str, str]


class UploadCache:
    """Thread-safe; `clock` (monotonic seconds) is injectable for tests."""

    def __init__(
        self,
        ttl: float = UPLOAD_TTL,
        size: int = UPLOAD_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._ids: OrderedDict[Key, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(base_url: str, token: str | None, sha256: str) -> Key:
        account = hashlib.sha256((token or "").encode()).hexdigest()
        return base_url.rstrip("/"), account, sha256

    def get(self, key: Key) -> str | None:
        with self._lock:
            found = self._ids.get(key)
            if found is None:
                return None
            file_id, expires = found
            if self._clock() >= expires:
                del self._ids[key]
                return None
            return file_id

    def put(self, key: Key, file_id: str) -> None:
        with self._lock:
            self._ids.pop(key, None)
            self._ids[key] = (file_id, self._clock() + self.ttl)
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._ids.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)


# One for the whole process: every client of the same account reuses its uploads.
UPLOADS = UploadCache()
