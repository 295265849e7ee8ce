"""The emulated Raycast backend as a Starlette app.

`create_app(EmulatorConfig(...))` serves chat_completions, models, me, credits, files and the
storage the files' bytes are put to, and the sign-in (`/oauth/authorize`, `/oauth/token`, see
`oauth`); every request is kept on `app.state.recorder`, the files on `app.state.files`. Each
endpoint is a raw ASGI callable that turns the recorded
request into a `Plan` and delivers it, so it can pace, stall or drop the connection at will.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from raycast_ai.protocol.files import FILES_PATH
from raycast_ai.protocol.oauth import AUTHORIZE_PATH, TOKEN_PATH
from raycast_ai.protocol.request import CHAT_PATH, MODELS_PATH
from raycast_ai.protocol.signing import GET_BODY, encode_json

from .account import credits_payload, me_payload
from .catalog import models_payload
from .chat import chat_plan, header_fault_plan
from .checks import error_plan, signature_ok, token_refusal
from .config import EmulatorConfig
from .delivery import Closing, ConnectionAbort, Plan, deliver, json_plan, quiet_aborts
from .faults import AttemptLog
from .files import STORAGE_PATH, FileStore, files_plan, storage_plan
from .oauth import authorize_plan, token_plan
from .recorder import RecordedRequest, Recorder, RecordingMiddleware, record_of

__all__ = ["CREDITS_PATH", "ME_PATH", "EmulatorConfig", "create_app"]

ME_PATH = "/api/v1/me"
CREDITS_PATH = "/api/v1/ai/credits"


class _Endpoint:
    """A raw ASGI endpoint: plans the response to the recorded request, delivers it, records how
    it ended, and drops the connection when the plan (or a shutdown) says so."""

    def __init__(
        self, plan_for: Callable[[RecordedRequest], Plan], recorder: Recorder, closing: Closing
    ) -> None:
        self.plan_for = plan_for
        self.recorder = recorder
        self.closing = closing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        record = record_of(scope)
        delivered = await deliver(self.plan_for(record), receive, send, self.closing)
        self.recorder.finish(record, delivered.outcome)
        if delivered.abort:
            raise ConnectionAbort(f"{record.method} {record.path}: {delivered.outcome}")


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    config = config or EmulatorConfig()
    recorder = Recorder()
    closing = Closing()
    attempts = AttemptLog()
    files = FileStore()
    catalog = models_payload()
    models_body = encode_json(catalog)
    me_body = encode_json(me_payload())
    credits_body = encode_json(credits_payload(config.credits))

    def chat(record: RecordedRequest) -> Plan:
        return chat_plan(record, config, catalog, attempts, files)

    def upload(record: RecordedRequest) -> Plan:
        return files_plan(record, config, files)

    def storage(record: RecordedRequest) -> Plan:
        return storage_plan(record, files)

    def models(record: RecordedRequest) -> Plan:
        if not config.models_public:
            refusal = token_refusal(record.headers, config)
            if refusal is not None:
                return refusal
            if config.require_signature and not signature_ok(record.headers, GET_BODY, config):
                return error_plan(401, "Invalid request signature.", "rejected:signature")
        return header_fault_plan(record, json_plan(200, models_body))

    def account(body: bytes) -> Callable[[RecordedRequest], Plan]:
        def plan(record: RecordedRequest) -> Plan:
            refusal = token_refusal(record.headers, config)
            return refusal or header_fault_plan(record, json_plan(200, body))

        return plan

    def authorize(record: RecordedRequest) -> Plan:
        return authorize_plan(record.query, config.oauth, config.oauth_client_id)

    def token(record: RecordedRequest) -> Plan:
        return token_plan(
            record.headers,
            record.body,
            config.oauth,
            client_id=config.oauth_client_id,
            ttl=config.access_token_ttl,
            rotation=config.refresh_rotation,
        )

    def endpoint(plan_for: Callable[[RecordedRequest], Plan]) -> _Endpoint:
        return _Endpoint(plan_for, recorder, closing)

    quiet_aborts()
    app = Starlette(
        routes=[
            Route(CHAT_PATH, endpoint(chat), methods=["POST"]),
            Route(MODELS_PATH, endpoint(models), methods=["GET"]),
            Route(ME_PATH, endpoint(account(me_body)), methods=["GET"]),
            Route(CREDITS_PATH, endpoint(account(credits_body)), methods=["GET"]),
            Route(FILES_PATH, endpoint(upload), methods=["POST"]),
            Route(STORAGE_PATH, endpoint(storage), methods=["PUT"]),
            Route(AUTHORIZE_PATH, endpoint(authorize), methods=["GET"]),
            Route(TOKEN_PATH, endpoint(token), methods=["POST"]),
        ],
        middleware=[Middleware(RecordingMiddleware, recorder=recorder)],
    )
    app.state.config = config
    app.state.recorder = recorder
    app.state.closing = closing
    app.state.attempts = attempts
    app.state.catalog = catalog
    app.state.files = files
    app.state.oauth = config.oauth
    return app
