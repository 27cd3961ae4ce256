"""Writing server-sent events with aiohttp's StreamResponse."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
KEEPALIVE_COMMENT = b": keep-alive\n\n"  # a comment line: every SSE client skips it

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


async def with_keepalive(source: AsyncIterable[T], interval: float) -> AsyncIterator[T | None]:
    """Yield what `source` yields, and None whenever it stays silent for `interval` seconds."""
    iterator = source.__aiter__()
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield None
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
