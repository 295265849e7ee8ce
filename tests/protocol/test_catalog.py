from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raycast_ai.protocol.catalog import ALIASES, Catalog, ModelEntry
from raycast_ai.protocol.errors import ModelNotFoundError, StreamDecodeError

PAYLOAD: dict[str, Any] = {
    "models": [
        {
            "id": "openai-gpt-4o-mini",
            "model": "gpt-4o-mini",
            "name": "GPT-4o mini",
            "provider": "openai",
            "provider_name": "OpenAI",
            "context": 128,
            "requires_better_ai": False,
            "availability": "public",
            "abilities": {"temperature": {"supported": True}, "tools": {"supported": True}},
        },
        {
            "id": "openai-gpt-4o",
            "model": "gpt-4o",
            "name": "GPT-4o",
            "provider": "openai",
            "requires_better_ai": True,
        },
        {
            "id": "openai_o1-o3",
            "model": "o3",
            "provider": "openai",
            "requires_better_ai": True,
            "abilities": {"temperature": {"supported": False}},
        },
        {
            "id": "google-gemini-3.5-flash",
            "model": "gemini-3.5-flash",
            "provider": "google",
            "abilities": {
                "reasoning_effort": {
                    "supported": True,
                    "options": ["minimal", "low", "medium", "high"],
                    "default": "minimal",
                }
            },
        },
        {
            "id": "anthropic-claude-opus-4-8",
            "model": "claude-opus-4-8",
            "provider": "anthropic",
            "abilities": {
                "reasoning_effort": {
                    "supported": True,
                    "options": ["none", "low", "medium", "high", "xhigh"],
                    "default": "none",
                }
            },
        },
        {
            "id": "anthropic-claude-sonnet-4",
            "model": "claude-sonnet-4-20250514",
            "provider": "anthropic",
        },
        {
            "id": "openai-gpt-4-turbo",
            "model": "gpt-4-turbo",
            "provider": "openai",
            "availability": "deprecated",
        },
        {"id": "groq-openai/gpt-oss-20b", "model": "openai/gpt-oss-20b", "provider": "groq"},
    ],
    "default_models": {
        "chat": "anthropic-claude-sonnet-4",
        "quick_ai": "openai-gpt-4o-mini",
        "commands": "missing-model",
        "api": "google-gemini-3.5-flash",
    },
}


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.parse(PAYLOAD)


# --- parse --------------------------------------------------------------------------------------


def test_parse_full_entry(catalog: Catalog) -> None:
    entry = catalog.models[0]
    assert entry == ModelEntry(
        id="openai-gpt-4o-mini",
        model="gpt-4o-mini",
        provider="openai",
        name="GPT-4o mini",
        provider_name="OpenAI",
        context=128,
        requires_better_ai=False,
        availability="public",
        abilities={"temperature": {"supported": True}, "tools": {"supported": True}},
    )
    assert len(catalog.models) == len(PAYLOAD["models"])
    assert catalog.default_models["chat"] == "anthropic-claude-sonnet-4"


def test_parse_tolerates_missing_fields() -> None:
    catalog = Catalog.parse({"models": [{"id": "raycast-ray1"}]})
    entry = catalog.models[0]
    assert entry.id == "raycast-ray1"
    assert entry.model == "raycast-ray1"
    assert entry.provider == ""
    assert entry.name == "raycast-ray1"
    assert entry.provider_name == ""
    assert entry.context is None
    assert entry.requires_better_ai is False
    assert entry.availability == "public"
    assert not entry.deprecated
    assert entry.abilities == {}
    assert catalog.default_models == {}


def test_provider_name_falls_back_to_provider() -> None:
    entry = Catalog.parse({"models": [{"id": "a", "provider": "xai"}]}).models[0]
    assert entry.provider_name == "xai"


@pytest.mark.parametrize(
    "raw",
    [
        "openai-gpt-4o",
        42,
        None,
        ["id", "x"],
        {"model": "no-id"},
        {"id": ""},
        {"id": 7, "model": "x"},
    ],
)
def test_parse_skips_unusable_entries(raw: object) -> None:
    catalog = Catalog.parse({"models": [raw, {"id": "ok", "model": "ok-model"}]})
    assert [e.id for e in catalog.models] == ["ok"]


def test_parse_ignores_wrongly_typed_fields() -> None:
    raw = {
        "id": "x",
        "model": 5,
        "context": "128",
        "abilities": ["temperature"],
        "availability": None,
        "name": None,
    }
    entry = Catalog.parse({"models": [raw]}).models[0]
    assert entry.model == "x"
    assert entry.context is None
    assert entry.abilities == {}
    assert entry.availability == "public"
    assert entry.name == "x"


def test_context_true_is_not_a_number() -> None:
    assert Catalog.parse({"models": [{"id": "x", "context": True}]}).models[0].context is None


def test_default_models_values_become_strings() -> None:
    catalog = Catalog.parse({"models": [], "default_models": {"chat": 1}})
    assert catalog.default_models == {"chat": "1"}


def test_default_models_not_a_mapping_is_ignored() -> None:
    catalog = Catalog.parse({"models": [{"id": "a"}], "default_models": ["a"]})
    assert catalog.default_models == {}


@pytest.mark.parametrize(
    "payload", [None, [], "models", {}, {"models": {}}, {"models": "x"}, {"data": []}]
)
def test_parse_refuses_a_payload_without_models(payload: object) -> None:
    with pytest.raises(StreamDecodeError, match="no 'models' array"):
        Catalog.parse(payload)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["models", "default_models", "x"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=6),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["id", "model", "provider", "abilities", "context", "chat"]),
                    inner,
                    max_size=5,
                )
            ),
            max_leaves=15,
        ),
    )
)
def test_parse_anything_gives_a_catalog_or_a_clear_error(payload: dict[str, Any]) -> None:
    try:
        catalog = Catalog.parse(payload)
    except StreamDecodeError:
        return
    for entry in catalog.models:
        assert entry.id
        assert entry.model
        _ = entry.supports_temperature, entry.supports_tools
        _ = entry.reasoning_efforts, entry.default_reasoning_effort


# --- resolve ------------------------------------------------------------------------------------


def test_resolve_by_id(catalog: Catalog) -> None:
    assert catalog.resolve("openai_o1-o3").model == "o3"
    assert catalog.resolve("groq-openai/gpt-oss-20b").provider == "groq"


def test_resolve_by_model_name(catalog: Catalog) -> None:
    assert catalog.resolve("claude-sonnet-4-20250514").id == "anthropic-claude-sonnet-4"
    assert catalog.resolve("o3").id == "openai_o1-o3"
    assert catalog.resolve("openai/gpt-oss-20b").id == "groq-openai/gpt-oss-20b"


def test_id_wins_over_model_name() -> None:
    catalog = Catalog.parse({"models": [{"id": "a", "model": "b"}, {"id": "b", "model": "c"}]})
    assert catalog.resolve("b").id == "b"


@pytest.mark.parametrize(
    ("alias", "model_id"),
    [("gpt-3.5-turbo", "openai-gpt-4o-mini"), ("gpt-4", "openai-gpt-4o")],
)
def test_resolve_by_alias(catalog: Catalog, alias: str, model_id: str) -> None:
    assert ALIASES[alias] == model_id
    assert catalog.resolve(alias).id == model_id


def test_custom_aliases(catalog: Catalog) -> None:
    assert catalog.resolve("fast", {"fast": "google-gemini-3.5-flash"}).model == "gemini-3.5-flash"
    assert catalog.resolve("gpt-4", {"gpt-4": "openai_o1-o3"}).id == "openai_o1-o3"


def test_alias_to_a_model_missing_from_the_catalog_is_unknown() -> None:
    catalog = Catalog.parse({"models": [{"id": "raycast-ray1"}]})
    with pytest.raises(ModelNotFoundError):
        catalog.resolve("gpt-4")


def test_unknown_model_suggests_close_ids(catalog: Catalog) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        catalog.resolve("gemini-3.5-flsh")
    error = info.value
    assert error.model == "gemini-3.5-flsh"
    assert "google-gemini-3.5-flash" in error.suggestions
    assert len(error.suggestions) <= 3
    assert "Unknown model 'gemini-3.5-flsh'" in error.message
    assert "Did you mean google-gemini-3.5-flash" in error.message
    assert "raycast-ai models" in error.message
    assert error.status_code == 404
    assert error.type == "model_not_found"


def test_unknown_model_without_close_matches(catalog: Catalog) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        catalog.resolve("zzzzzzzzzzzzzzzzzzzzzzzz")
    assert info.value.suggestions == ()
    assert "Did you mean" not in info.value.message


def test_resolve_is_case_sensitive(catalog: Catalog) -> None:
    with pytest.raises(ModelNotFoundError):
        catalog.resolve("OPENAI-GPT-4O")


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("claude-sonnet-4", "anthropic-claude-sonnet-4"),  # the model without its date
        ("claude-sonnet-4-latest", "anthropic-claude-sonnet-4"),
        ("claude-sonnet-4@20250514", "anthropic-claude-sonnet-4"),  # Vertex-style
        ("gemini-3-5-flash", "google-gemini-3.5-flash"),  # dashes for dots
        ("openai-gpt-4o-mini-2024-07-18", "openai-gpt-4o-mini"),  # an id with a date
    ],
)
def test_names_agents_send_resolve_to_the_same_model(
    catalog: Catalog, name: str, model_id: str
) -> None:
    assert catalog.resolve(name).id == model_id


@pytest.mark.parametrize("name", ["claude-sonnet-4-5-20250929", "gpt-5-codex", "claude-sonnet"])
def test_another_version_is_not_found_never_a_neighbour(catalog: Catalog, name: str) -> None:
    """Claude Code's and Codex's own names: without an alias, a clear not-found with ids."""
    with pytest.raises(ModelNotFoundError) as info:
        catalog.resolve(name)
    assert info.value.model == name


def test_a_name_two_entries_share_is_not_guessed() -> None:
    catalog = Catalog.parse(
        {"models": [{"id": "a-m", "model": "m-1.0"}, {"id": "b-m", "model": "m-1-0"}]}
    )
    with pytest.raises(ModelNotFoundError):
        catalog.resolve("m-1-0-20250101")


def test_typo_in_a_model_name_suggests_its_id(catalog: Catalog) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        catalog.resolve("gpt-4o-mni")
    assert info.value.suggestions[0] == "openai-gpt-4o-mini"


@pytest.mark.parametrize("name", [None, ""])
def test_resolve_nothing_gives_the_default(catalog: Catalog, name: str | None) -> None:
    assert catalog.resolve(name).id == "anthropic-claude-sonnet-4"


# --- defaults -----------------------------------------------------------------------------------


def test_default_is_the_chat_default(catalog: Catalog) -> None:
    assert catalog.default().id == "anthropic-claude-sonnet-4"


def test_default_for_a_surface(catalog: Catalog) -> None:
    assert catalog.default("quick_ai").id == "openai-gpt-4o-mini"
    assert catalog.default("api").id == "google-gemini-3.5-flash"


def test_default_for_a_surface_pointing_nowhere_falls_back_to_chat(catalog: Catalog) -> None:
    assert catalog.default("commands").id == "anthropic-claude-sonnet-4"
    assert catalog.default("emoji_search").id == "anthropic-claude-sonnet-4"


def test_default_without_default_models_is_the_first_model() -> None:
    catalog = Catalog.parse({"models": [{"id": "a"}, {"id": "b"}], "default_models": {}})
    assert catalog.default().id == "a"


def test_default_of_an_empty_catalog() -> None:
    with pytest.raises(ModelNotFoundError, match="empty"):
        Catalog.parse({"models": []}).default()


def test_get(catalog: Catalog) -> None:
    entry = catalog.get("openai-gpt-4o")
    assert entry is not None
    assert entry.model == "gpt-4o"
    assert catalog.get("gpt-4o") is None


# --- visible ------------------------------------------------------------------------------------


def test_visible_defaults_hide_only_deprecated(catalog: Catalog) -> None:
    ids = [e.id for e in catalog.visible()]
    assert "openai-gpt-4-turbo" not in ids
    assert "openai-gpt-4o" in ids
    assert len(ids) == len(PAYLOAD["models"]) - 1


def test_visible_without_premium(catalog: Catalog) -> None:
    ids = [e.id for e in catalog.visible(premium=False)]
    assert "openai-gpt-4o" not in ids
    assert "openai_o1-o3" not in ids
    assert "openai-gpt-4o-mini" in ids
    assert "openai-gpt-4-turbo" not in ids


def test_visible_with_deprecated(catalog: Catalog) -> None:
    assert len(catalog.visible(deprecated=True)) == len(PAYLOAD["models"])
    ids = [e.id for e in catalog.visible(premium=False, deprecated=True)]
    assert "openai-gpt-4-turbo" in ids
    assert "openai-gpt-4o" not in ids


def test_visible_keeps_catalog_order(catalog: Catalog) -> None:
    visible = catalog.visible(deprecated=True)
    assert [e.id for e in visible] == [e.id for e in catalog.models]


def test_deprecated_models_still_resolve(catalog: Catalog) -> None:
    assert catalog.resolve("openai-gpt-4-turbo").deprecated


# --- abilities ----------------------------------------------------------------------------------


def entry(abilities: dict[str, Any]) -> ModelEntry:
    return ModelEntry("x", "x", "p", abilities=abilities)


def test_ability_defaults() -> None:
    plain = entry({})
    assert plain.supports_temperature
    assert plain.supports_tools
    assert plain.reasoning_efforts == ()
    assert plain.default_reasoning_effort is None


@pytest.mark.parametrize(
    ("ability", "supported"),
    [
        ({"supported": False}, False),
        ({"supported": True}, True),
        ({}, True),
        (False, False),
        (True, True),
        ("yes", True),
        (None, True),
    ],
)
def test_temperature_and_tools_support(ability: object, supported: bool) -> None:
    model = entry({"temperature": ability, "tools": ability})
    assert model.supports_temperature is supported
    assert model.supports_tools is supported


def test_reasoning_efforts(catalog: Catalog) -> None:
    gemini = catalog.resolve("google-gemini-3.5-flash")
    assert gemini.reasoning_efforts == ("minimal", "low", "medium", "high")
    assert gemini.default_reasoning_effort == "minimal"
    opus = catalog.resolve("anthropic-claude-opus-4-8")
    assert opus.reasoning_efforts == ("none", "low", "medium", "high", "xhigh")
    assert opus.default_reasoning_effort == "none"


def test_reasoning_effort_not_supported() -> None:
    model = entry({"reasoning_effort": {"supported": False, "options": ["low"], "default": "low"}})
    assert model.reasoning_efforts == ()
    assert model.default_reasoning_effort is None


def test_reasoning_effort_default_not_among_options() -> None:
    model = entry({"reasoning_effort": {"options": ["low", "high"], "default": "medium"}})
    assert model.reasoning_efforts == ("low", "high")
    assert model.default_reasoning_effort is None


@pytest.mark.parametrize("effort", [True, "high", ["low"], {"options": None}, {"supported": True}])
def test_reasoning_effort_malformed(effort: object) -> None:
    model = entry({"reasoning_effort": effort})
    assert model.reasoning_efforts == ()
    assert model.default_reasoning_effort is None


def test_model_entry_is_frozen() -> None:
    model = entry({})
    with pytest.raises(AttributeError):
        model.id = "y"  # type: ignore[misc]
