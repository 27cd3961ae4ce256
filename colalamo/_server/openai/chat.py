"""`POST /v1/chat/completions`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..._translate import ChatRequest
from ..answers import json_answer
from ..app_keys import CORE
from ..errors import openai_error_body
from ..observe import note_model, note_usage
from ..relay import StreamFormat, relay
from ..request_body import read_json_object
from ..sse_writer import KEEPALIVE_COMMENT, sse_data
from ..validation.chat import validate_chat_request

OPENAI_STREAM = StreamFormat(
    event=sse_data,
    keepalive=KEEPALIVE_COMMENT,
    error=lambda error: sse_data(openai_error_body(error)),
    end=b"data: [DONE]\n\n",
)


def include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options") or {}
    return bool(options.get("include_usage"))


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_chat_request(body)
    copilot = request.app[CORE].copilot
    note_model(request, body.get("model") or copilot.default_model)
    if body.get("stream"):
        return await relay(request, copilot.stream(ChatRequest(body, include_usage=include_usage(body))), OPENAI_STREAM)
    completion = await copilot.complete(ChatRequest(body))
    note_usage(request, completion.get("usage"))
    return json_answer(completion)
