"""`POST /v1/messages` and `POST /v1/messages/count_tokens`.

Every model answers: Claude natively (Copilot's own `/v1/messages`, which keeps thinking
blocks), the others through the translation layer, which picks the endpoint each serves on.
"""

from __future__ import annotations

from aiohttp import web

from ..._translate import MessagesRequest
from ..._translate.messages import count_input_tokens
from ..answers import json_answer
from ..app_keys import CORE
from ..observe import note_model, note_usage
from ..relay import StreamFormat, relay
from ..request_body import read_json_object
from ..sse_writer import sse_event
from ..validation.messages import validate_messages_request
from .errors import anthropic_error_body

ANTHROPIC_STREAM = StreamFormat(
    event=lambda payload: sse_event(payload["type"], payload),
    keepalive=sse_event("ping", {"type": "ping"}),
    error=lambda error: sse_event("error", anthropic_error_body(error)),
)


async def messages(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_messages_request(body)
    note_model(request, body["model"])
    copilot = request.app[CORE].copilot
    req = MessagesRequest(body, beta=request.headers.get("anthropic-beta"))
    if body.get("stream"):
        return await relay(request, copilot.stream(req), ANTHROPIC_STREAM)
    message = await copilot.complete(req)
    note_usage(request, message.get("usage"))
    return json_answer(message)


async def count_tokens(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    validate_messages_request(body, counting=True)
    return web.json_response({"input_tokens": count_input_tokens(body)})
