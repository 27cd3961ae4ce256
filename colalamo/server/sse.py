"""Writing server-sent events with aiohttp's StreamResponse."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # keep nginx and friends from holding events back
}


async def open_event_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    return response


def sse_data(payload: Any) -> bytes:
    """One `data:` event; JSON is compact and single-line, so it needs no escaping."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def sse_event(event: str, payload: Any) -> bytes:
    """One named event (`event:` + `data:`), as the Anthropic and Responses streams use."""
    return f"event: {event}\n".encode() + sse_data(payload)
