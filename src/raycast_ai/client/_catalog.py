"""The model catalog as a client keeps it: in memory, and in the data folder for the next process,
each copy good for `ttl` seconds."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path

from raycast_ai.config import read_json, write_json
from raycast_ai.protocol.catalog import Catalog
from raycast_ai.protocol.errors import ModelNotFoundError, RaycastError

log = logging.getLogger("raycast_ai")

MODELS_CACHE_FILE = "models-cache.json"
DEFAULT_MODELS_TTL = 3600.0


class CatalogCache:
    __slots__ = ("_at", "_base_url", "_catalog", "_from_file", "_path", "ttl")

    def __init__(self, home: Path, base_url: str, ttl: float) -> None:
        self._path = home / MODELS_CACHE_FILE
        self._base_url = base_url
        self.ttl = ttl
        self._catalog: Catalog | None = None
        self._at = 0.0
        self._from_file = False

    @property
    def stamp(self) -> float:
        """When the catalog in memory was fetched: a fetch that waited on another can tell."""
        return self._at

    @property
    def current(self) -> Catalog | None:
        return self._catalog

    def get(self) -> Catalog | None:
        """A fresh catalog from memory or the file, else None."""
        now = time.time()
        if self._catalog is not None and 0 <= now - self._at < self.ttl:
            return self._catalog
        try:
            stored = read_json(self._path)
        except RaycastError:  # a damaged cache is fetched again, and overwritten
            return None
        fetched_at = stored.get("fetched_at")
        if (
            stored.get("base_url") == self._base_url
            and isinstance(fetched_at, int | float)
            and 0 <= now - fetched_at < self.ttl
        ):
            try:
                catalog = Catalog.parse(stored.get("payload"))
            except RaycastError:
                return None
            self._keep(catalog, float(fetched_at), from_file=True)
            return catalog
        return None

    def store(self, payload: object) -> Catalog:
        """Parses a fetched model list (raising what `Catalog.parse` raises) and keeps it."""
        catalog = Catalog.parse(payload)
        now = time.time()
        self._keep(catalog, now, from_file=False)
        record = {"base_url": self._base_url, "fetched_at": now, "payload": payload}
        try:
            write_json(self._path, record)
        except OSError as exc:
            log.debug("could not write the models cache: %s", exc)
        return catalog

    def stale_for(self, catalog: Catalog, model: str | None, aliases: Mapping[str, str]) -> bool:
        """A name a catalog read from the file lacks may be new: look once more before calling
        it unknown."""
        if not self._from_file:
            return False
        try:
            catalog.resolve(model, aliases)
        except ModelNotFoundError:
            return True
        return False

    def _keep(self, catalog: Catalog, at: float, *, from_file: bool) -> None:
        self._catalog, self._at, self._from_file = catalog, at, from_file
