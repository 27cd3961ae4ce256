"""Relaying a stream of OpenAI objects to the client as SSE."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

from aiohttp import web

from ...exceptions import UpstreamError
from ..errors import ApiError, openai_error_body
from ..sse import open_event_stream, sse_data

log = logging.getLogger(__name__)

DONE = b"data: [DONE]\n\n"


def _stream_error(exc: Exception) -> ApiError:
    if isinstance(exc, UpstreamError):
        log.warning("stream failed mid-way: %s", exc.message)
        return ApiError.from_exception(exc)
    log.exception("unexpected error in the middle of a stream")
    return ApiError(500, "colalamo hit an internal error; see its log", code="internal_error")


async def relay(
    request: web.Request, stream: AbstractAsyncContextManager[AsyncIterator[Any]]
) -> web.StreamResponse:
    """Open `stream`, then send each object it yields as an SSE event, then `[DONE]`.

    A refusal while opening (Copilot's 4xx/5xx) propagates before any byte is sent, and
    becomes a plain error response with its status.
    """
    async with stream as objects:
        response = await open_event_stream(request)
        try:
            async for payload in objects:
                await response.write(sse_data(payload))
            await response.write(DONE)
        except ConnectionResetError:
            log.info("the client left mid-stream; the upstream request is dropped")
            return response
        except Exception as exc:
            # Too late for a status code: an error event, then close without [DONE], so the
            # client raises instead of taking a truncated answer for a complete one.
            await response.write(sse_data(openai_error_body(_stream_error(exc))))
        await response.write_eof()
        return response
