"""`POST /ask`: the original colalamo's route, kept for its users.

`{"messages": [...], <OpenAI params>}` in; `{"reply": ..., "usage": {...}}` out; on failure
the upstream's status with `{"reason": ..., "text": ...}`.
"""

from __future__ import annotations

from aiohttp import web

from .._legacy import legacy_error_text, legacy_reply
from .app_keys import CORE
from .errors import ApiError
from .observe import note_model, note_usage
from .request_body import read_json_object
from .validation.chat import validate_chat_request

PREFIX = "/ask"


def legacy_error_response(error: ApiError) -> web.Response:
    """Every failure of `/ask`, bad input and Copilot's refusals alike (the shape the library's
    `ask()` returns too)."""
    text = legacy_error_text(error.status, error.message, reason=error.upstream_reason, detail=error.upstream_body)
    return web.json_response(text, status=error.status, headers=error.headers)


async def ask(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    body.pop("stream", None)  # /ask always answered whole
    validate_chat_request(body)  # the same OpenAI parameters; errors in /ask's own shape
    copilot = request.app[CORE].copilot
    note_model(request, body.get("model") or copilot.default_model)
    completion = await copilot.chat_completion(body)  # failures: legacy_error_response
    note_usage(request, completion.get("usage"))
    return web.json_response(legacy_reply(completion))


def add_routes(app: web.Application) -> None:
    app.router.add_post(PREFIX, ask)
