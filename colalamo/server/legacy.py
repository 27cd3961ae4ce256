"""`POST /ask`: the original colalamo's route, kept for its users.

`{"messages": [...], <OpenAI params>}` in; `{"reply": ..., "usage": {...}}` out; on failure
the upstream's status with `{"reason": ..., "text": ...}`.
"""

from __future__ import annotations

from aiohttp import web

from ..exceptions import ColalamoError, UpstreamError
from ..legacy import legacy_error, legacy_reply
from .errors import ApiError, read_json_object, status_phrase
from .keys import CORE
from .observe import UPSTREAM_STATUS, note_model, note_usage
from .validation.chat import validate_chat_request

PREFIX = "/ask"


def legacy_error_response(error: ApiError) -> web.Response:
    return web.json_response(
        {"reason": status_phrase(error.status), "text": error.message},
        status=error.status,
        headers=error.headers,
    )


async def ask(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    body.pop("stream", None)  # /ask always answered whole
    validate_chat_request(body)  # the same OpenAI parameters; errors in /ask's own shape
    copilot = request.app[CORE].copilot
    note_model(request, body.get("model") or copilot.default_model)
    try:
        completion = await copilot.chat_completion(body)
    except ColalamoError as exc:  # the same answer the library's ask() gives
        if isinstance(exc, UpstreamError):
            request[UPSTREAM_STATUS] = exc.status
        status, text = legacy_error(exc)
        return web.json_response(text, status=status, headers=getattr(exc, "headers", None))
    note_usage(request, completion.get("usage"))
    return web.json_response(legacy_reply(completion))


def add_routes(app: web.Application) -> None:
    app.router.add_post(PREFIX, ask)
