"""`POST /v1/chat/completions`."""

from __future__ import annotations

import logging

from aiohttp import web

from ...exceptions import UpstreamError
from ..errors import ApiError, openai_error_body, read_json_object
from ..keys import CORE
from ..sse import open_event_stream, sse_data
from .validation import validate_chat_request

log = logging.getLogger(__name__)

DONE = b"data: [DONE]\n\n"


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_chat_request(body)
    copilot = request.app[CORE].copilot
    if body.get("stream"):
        return await _stream(request, body)
    return web.json_response(await copilot.chat_completion(body))


async def _stream(request: web.Request, body: dict) -> web.StreamResponse:
    options = body.get("stream_options") or {}
    include_usage = bool(options.get("include_usage"))
    copilot = request.app[CORE].copilot
    # Copilot's refusal (4xx/5xx) surfaces here, before any byte is sent, as a plain error.
    async with copilot.stream_chat_completion(body, include_usage=include_usage) as chunks:
        response = await open_event_stream(request)
        try:
            async for chunk in chunks:
                await response.write(sse_data(chunk))
            await response.write(DONE)
        except UpstreamError as exc:
            # Too late for a status code: an error event, then close without [DONE], so the
            # client raises instead of taking a truncated answer for a complete one.
            log.warning("stream failed mid-way: %s", exc.message)
            await response.write(sse_data(openai_error_body(ApiError.from_exception(exc))))
        except ConnectionResetError:
            log.info("the client left mid-stream; the upstream request is dropped")
            return response
        await response.write_eof()
        return response
