"""Writing server-sent events with aiohttp's StreamResponse."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from .._json import dumps

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
    return b"data: " + dumps(payload) + b"\n\n"


def sse_event(event: str, payload: Any) -> bytes:
    """One named event (`event:` + `data:`), as the Anthropic and Responses streams use."""
    return f"event: {event}\n".encode() + sse_data(payload)



class Keepalive:
    """Writes to a stream, and writes `payload` whenever it has been silent for `interval`
    seconds: one timer per stream, not one per event."""

    def __init__(self, response: web.StreamResponse, payload: bytes, interval: float) -> None:
        self._response = response
        self._payload = payload
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        self._task = self._loop.create_task(self._run())

    async def write(self, data: bytes) -> None:
        self._last = self._loop.time()
        await self._response.write(data)

    async def _run(self) -> None:
        while True:
            wait = self._last + self._interval - self._loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._last = self._loop.time()
            try:
                await self._response.write(self._payload)
            except (ConnectionResetError, RuntimeError):  # the stream is gone; so is the need
                return

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
