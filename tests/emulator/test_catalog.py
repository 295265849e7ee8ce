from __future__ import annotations

from raycast_ai.emulator.catalog import (
    CHAT_DEFAULT,
    STATUS_PAGES,
    find_model,
    models_payload,
    reasons,
)
from raycast_ai.protocol.catalog import Catalog

FIELDS = {
    "id",
    "model",
    "name",
    "provider",
    "provider_name",
    "provider_brand",
    "description",
    "features",
    "suggestions",
    "requires_better_ai",
    "availability",
    "status",
    "speed",
    "intelligence",
    "context",
    "abilities",
}


def test_payload_shape() -> None:
    payload = models_payload()
    assert set(payload) == {"models", "default_models"}
    assert set(payload["default_models"]) == {
        "chat",
        "quick_ai",
        "commands",
        "api",
        "emoji_search",
        "tools",
    }
    ids = [m["id"] for m in payload["models"]]
    assert len(ids) == len(set(ids)) >= 12
    assert set(payload["default_models"].values()) <= set(ids)
    for entry in payload["models"]:
        assert set(entry) >= FIELDS, entry["id"]
        assert entry["id"] != entry["model"]
        assert entry["provider"] in STATUS_PAGES
        assert entry["description"].endswith("\n")


def test_the_protocol_catalog_reads_it() -> None:
    catalog = Catalog.parse(models_payload())
    assert catalog.default().id == CHAT_DEFAULT
    assert catalog.resolve("gpt-4o-mini").id == CHAT_DEFAULT
    assert catalog.resolve("anthropic-claude-sonnet-4").model == "claude-sonnet-4-20250514"
    assert catalog.resolve("groq-openai/gpt-oss-20b").model == "openai/gpt-oss-20b"
    o3 = catalog.resolve("openai_o1-o3")
    assert not o3.supports_temperature
    assert o3.reasoning_efforts
    flash = catalog.resolve("google-gemini-3.5-flash")
    assert flash.reasoning_efforts == ("minimal", "low", "medium", "high")
    assert flash.default_reasoning_effort == "minimal"
    opus = catalog.resolve("anthropic-claude-opus-4-8")
    assert opus.reasoning_efforts == ("none", "low", "medium", "high", "xhigh")
    assert opus.default_reasoning_effort == "none"
    assert opus.requires_better_ai
    assert [e.id for e in catalog.models if e.deprecated]
    assert catalog.resolve("raycast-ray1").model == "ray1"


def test_payload_copies_are_independent() -> None:
    payload = models_payload()
    payload["models"].clear()
    assert models_payload()["models"]


def test_find_model_by_the_pair_the_client_sends() -> None:
    payload = models_payload()
    entry = find_model(payload, "claude-opus-4-8", "anthropic")
    assert entry is not None
    assert entry["id"] == "anthropic-claude-opus-4-8"
    assert find_model(payload, "claude-opus-4-8", "openai") is None
    assert find_model(payload, "anthropic-claude-opus-4-8", "anthropic") is None


def test_which_entries_reason() -> None:
    payload = models_payload()

    def entry(model_id: str) -> dict[str, object]:
        return next(m for m in payload["models"] if m["id"] == model_id)

    assert not reasons(entry("openai-gpt-4o-mini"))
    assert reasons(entry("google-gemini-3.5-flash"))
    assert not reasons(entry("google-gemini-3.5-flash"), "none")
    assert not reasons(entry("anthropic-claude-opus-4-8"))  # its default effort is none
    assert reasons(entry("anthropic-claude-opus-4-8"), "high")
    assert reasons(entry("anthropic-claude-sonnet-4-reasoning"))  # by its id
