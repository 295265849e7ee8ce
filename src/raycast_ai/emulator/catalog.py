"""The emulator's /api/v1/ai/models payload, in the shape and with the quirks of the real one."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

CHAT_DEFAULT = "openai-gpt-4o-mini"

STATUS_PAGES: Mapping[str, str] = {
    "anthropic": "https://status.claude.com",
    "google": "https://status.cloud.google.com",
    "groq": "https://groqstatus.com",
    "openai": "https://status.openai.com",
    "perplexity": "https://status.perplexity.com",
    "raycast": "https://status.raycast.com",
    "together": "https://status.together.ai",
    "xai": "https://status.x.ai",
}

_PROVIDER_NAMES = {
    "anthropic": "Anthropic",
    "google": "Google",
    "groq": "Groq",
    "openai": "OpenAI",
    "perplexity": "Perplexity",
    "raycast": "Raycast",
    "together": "Together AI",
    "xai": "xAI",
}

_ALL_FEATURES = ["chat", "quick_ai", "commands", "api", "emoji_search"]


def _effort(options: list[str], default: str) -> dict[str, Any]:
    return {"supported": True, "options": options, "default": default}


def _model(
    model_id: str,
    model: str,
    name: str,
    provider: str,
    *,
    brand: str | None = None,
    description: str,
    context: int,
    speed: int = 3,
    intelligence: float = 3,
    better_ai: bool = False,
    availability: str = "public",
    temperature: bool = True,
    tools: bool = True,
    vision: bool = True,
    web_search: bool = True,
    reasoning_effort: dict[str, Any] | None = None,
) -> dict[str, Any]:
    abilities: dict[str, Any] = {
        "system_message": {"supported": True},
        "temperature": {"supported": temperature},
        "tools": {"supported": tools},
        "vision": {"supported": vision},
    }
    if web_search:
        abilities["web_search"] = {"toggleable": True}
    if reasoning_effort is not None:
        abilities["reasoning_effort"] = reasoning_effort
    return {
        "id": model_id,
        "model": model,
        "name": name,
        "provider": provider,
        "provider_name": _PROVIDER_NAMES[provider],
        "provider_brand": brand or provider,
        "description": description + "\n",
        "features": list(_ALL_FEATURES),
        "suggestions": ["chat", "quick_ai", "commands"],
        "requires_better_ai": better_ai,
        "in_better_ai_subscription": better_ai,
        "availability": availability,
        "status": None,
        "speed": speed,
        "intelligence": intelligence,
        "context": context,
        "abilities": abilities,
    }


_MODELS: list[dict[str, Any]] = [
    _model(
        "openai-gpt-4o-mini",
        "gpt-4o-mini",
        "GPT-4o mini",
        "openai",
        description="OpenAI's fast and affordable small model for everyday tasks.",
        context=128,
        speed=5,
        intelligence=3,
    ),
    _model(
        "openai-gpt-4o",
        "gpt-4o",
        "GPT-4o",
        "openai",
        description="OpenAI's versatile flagship model with text and image input.",
        context=128,
        speed=4,
        intelligence=4,
        better_ai=True,
    ),
    _model(
        "openai_o1-o3",
        "o3",
        "o3",
        "openai",
        description="OpenAI's reasoning model for complex, multi-step problems.",
        context=200,
        speed=2,
        intelligence=5,
        better_ai=True,
        temperature=False,
        web_search=False,
        reasoning_effort=_effort(["low", "medium", "high"], "medium"),
    ),
    _model(
        "anthropic-claude-sonnet-4",
        "claude-sonnet-4-20250514",
        "Claude Sonnet 4",
        "anthropic",
        description="Anthropic's balanced model with strong coding and writing skills.",
        context=200,
        speed=4,
        intelligence=4.5,
        better_ai=True,
    ),
    _model(
        "anthropic-claude-opus-4-8",
        "claude-opus-4-8",
        "Claude Opus 4.8",
        "anthropic",
        description="Anthropic's most capable model for demanding work.",
        context=200,
        speed=2,
        intelligence=5,
        better_ai=True,
        reasoning_effort=_effort(["none", "low", "medium", "high", "xhigh"], "none"),
    ),
    _model(
        "anthropic-claude-sonnet-4-reasoning",
        "claude-sonnet-4-20250514-reasoning",
        "Claude Sonnet 4 Reasoning",
        "anthropic",
        description="Claude Sonnet 4 with extended thinking; replaced by reasoning effort.",
        context=200,
        speed=3,
        intelligence=4.5,
        better_ai=True,
        availability="deprecated",
    ),
    _model(
        "google-gemini-3.5-flash",
        "gemini-3.5-flash",
        "Gemini 3.5 Flash",
        "google",
        description="Google's fast multimodal model with adjustable thinking.",
        context=1000,
        speed=5,
        intelligence=4,
        reasoning_effort=_effort(["minimal", "low", "medium", "high"], "minimal"),
    ),
    _model(
        "google-gemini-2.5-pro",
        "gemini-2.5-pro-preview-06-05",
        "Gemini 2.5 Pro",
        "google",
        description="Google's model for complex reasoning over long context.",
        context=1000,
        speed=3,
        intelligence=4.5,
        better_ai=True,
    ),
    _model(
        "groq-openai/gpt-oss-20b",
        "openai/gpt-oss-20b",
        "GPT OSS 20B",
        "groq",
        brand="openai",
        description="OpenAI's open-weight model, served by Groq at very high speed.",
        context=128,
        speed=5,
        intelligence=3,
        vision=False,
        web_search=False,
    ),
    _model(
        "raycast-ray1",
        "ray1",
        "Ray1",
        "raycast",
        description="Raycast's own model, tuned for AI Extensions and tool use.",
        context=128,
        speed=4,
        intelligence=3.5,
        vision=False,
    ),
    _model(
        "perplexity-sonar-pro",
        "sonar-pro",
        "Sonar Pro",
        "perplexity",
        description="Perplexity's search-grounded model with citations.",
        context=200,
        speed=3,
        intelligence=4,
        better_ai=True,
        tools=False,
        vision=False,
        web_search=False,
    ),
    _model(
        "xai-grok-3-mini",
        "grok-3-mini-fast-beta",
        "Grok 3 Mini",
        "xai",
        description="xAI's lightweight model that thinks before answering.",
        context=128,
        speed=4,
        intelligence=3.5,
        vision=False,
    ),
    _model(
        "together-deepseek-ai/DeepSeek-V3",
        "deepseek-ai/DeepSeek-V3",
        "DeepSeek V3",
        "together",
        brand="deepseek",
        description="DeepSeek's open mixture-of-experts model, served by Together AI.",
        context=128,
        speed=3,
        intelligence=4,
        vision=False,
        web_search=False,
    ),
]

_PAYLOAD: dict[str, Any] = {
    "models": _MODELS,
    "default_models": {
        "chat": CHAT_DEFAULT,
        "quick_ai": CHAT_DEFAULT,
        "commands": CHAT_DEFAULT,
        "api": CHAT_DEFAULT,
        "emoji_search": CHAT_DEFAULT,
        "tools": "anthropic-claude-sonnet-4",
    },
}


def models_payload() -> dict[str, Any]:
    """A fresh copy of the models response, safe to change."""
    return copy.deepcopy(_PAYLOAD)


def find_model(payload: Mapping[str, Any], model: str, provider: str) -> dict[str, Any] | None:
    """The entry a chat body names by its (model, provider) pair, as the real client sends it."""
    for entry in payload["models"]:
        if entry["model"] == model and entry["provider"] == provider:
            return dict(entry)
    return None


def reasons(entry: Mapping[str, Any], requested_effort: object = None) -> bool:
    """Whether answers from this entry stream reasoning first; the effort 'none' turns it off."""
    effort = entry.get("abilities", {}).get("reasoning_effort")
    if isinstance(effort, Mapping) and effort.get("supported", True):
        chosen = requested_effort if requested_effort is not None else effort.get("default")
        return chosen != "none"
    model_id = str(entry.get("id", ""))
    return "o1" in model_id or "reasoning" in model_id
