"""The emulator's settings (re-exported by `raycast_ai.emulator.app`)."""

from __future__ import annotations

from dataclasses import dataclass

from . import EMULATOR_SECRET, EMULATOR_TOKEN
from .script import Script


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """How strict and how fast the emulated backend is; directives override the pacing per request.

    `max_skew_seconds` None accepts any X-Raycast-Timestamp the signature covers; a number also
    requires the timestamp (Unix seconds or ISO-8601) to be that close to the emulator's clock.
    `models_public` False makes the models list ask for the token and a v2 signature over `{}`.
    `script` makes the model call matching tools and answer their results (see `script`).
    `files_fault` makes every `POST /api/v1/ai/files` fail: an HTTP status ("500", "429", ...)
    or "malformed" (a 200 without an upload address). `strict_attachments` False lets chat
    requests name files that are unknown or not uploaded.
    """

    token: str = EMULATOR_TOKEN
    secret: str = EMULATOR_SECRET
    require_signature: bool = True
    require_token: bool = True
    chunks: int = 12
    chunk_delay: float = 0.0
    first_token_delay: float = 0.0
    max_skew_seconds: float | None = None
    models_public: bool = True
    reasoning_chunks: int = 3
    script: Script | None = None
    files_fault: str | None = None
    strict_attachments: bool = True
