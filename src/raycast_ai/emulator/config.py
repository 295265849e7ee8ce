"""The emulator's settings (re-exported by `raycast_ai.emulator.app`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import EMULATOR_SECRET, EMULATOR_TOKEN
from .faults import FAULTS
from .oauth import ROTATIONS, OAuthTokens
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

    Sign-in (`oauth`): `oauth_client_id` None accepts any client id; access tokens live
    `access_token_ttl` seconds; a refresh `keep`s the refresh token, `rotate`s it (the old one
    is revoked) or `omit`s it from the reply. `credits` names the /api/v1/ai/credits reply:
    `strings`, `numbers` or `exhausted` (see `account`). `oauth` holds the issued tokens.

    Several accounts (a gateway's `[[accounts]]`): `tokens` are accepted besides `token`, and
    `token_faults` maps a token to the fault every chat request with it meets, as if it said
    `@fault:NAME` (a fault the request names wins): that account is rate limited (`429`) or out
    of credits (`credits_error`). A test may change `token_faults` while the emulator runs.
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
    oauth_client_id: str | None = None
    access_token_ttl: float = 3600.0
    refresh_rotation: str = "keep"
    credits: str = "strings"
    oauth: OAuthTokens = field(default_factory=OAuthTokens, compare=False, repr=False)
    tokens: tuple[str, ...] = ()
    token_faults: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for token, fault in self.token_faults.items():
            if fault not in FAULTS:
                raise ValueError(f"token_faults[{token!r}]: {fault!r} is not an emulator fault.")
        if self.refresh_rotation not in ROTATIONS:
            raise ValueError(
                f"refresh_rotation is one of {', '.join(ROTATIONS)}, not {self.refresh_rotation!r}."
            )
