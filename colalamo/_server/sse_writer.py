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
    seconds: one timer per stream (a task only for the rare keep-alive write itself)."""

    def __init__(self, response: web.StreamResponse, payload: bytes, interval: float) -> None:
        self._response = response
        self._payload = payload
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        self._timer: asyncio.TimerHandle | None = self._loop.call_at(self._last + interval, self._due)
        self._sending: asyncio.Task[None] | None = None

    async def write(self, data: bytes) -> None:
        self._last = self._loop.time()
        await self._response.write(data)

    def _due(self) -> None:
        due = self._last + self._interval
        if due > self._loop.time():  # something was written meanwhile: wait from then
            self._timer = self._loop.call_at(due, self._due)
            return
        self._timer = None
        self._sending = self._loop.create_task(self._send())

    async def _send(self) -> None:
        self._last = self._loop.time()
        try:
            await self._response.write(self._payload)
        except (ConnectionResetError, RuntimeError):  # the stream is gone; so is the need
            return
        self._timer = self._loop.call_at(self._last + self._interval, self._due)

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sending is not None:
            self._sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sending
