"""The model catalog as the integrations list it: the one the library keeps, however old, so a
host program starts without a network call; fetched only when there is none yet."""

from __future__ import annotations

from raycast_ai.client import RaycastClient
from raycast_ai.client._catalog import MODELS_CACHE_FILE
from raycast_ai.config import load_settings, read_json
from raycast_ai.protocol.catalog import Catalog
from raycast_ai.protocol.errors import RaycastError


def kept_catalog() -> Catalog | None:
    """The catalog in the data folder for the configured base URL, if any."""
    settings = load_settings()
    stored = read_json(settings.home / MODELS_CACHE_FILE)
    if stored.get("base_url") != settings.base_url:
        return None
    try:
        return Catalog.parse(stored.get("payload"))
    except RaycastError:
        return None


def fetch_catalog(token: str | None, *, timeout: float) -> Catalog:
    """Raycast's model list now (kept for the next start); raises what the client raises."""
    with RaycastClient(token=token, timeout=timeout, max_retries=0) as client:
        return client.models(refresh=True)
