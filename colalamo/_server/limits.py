"""How many requests run at once: beyond `COLALAMO_MAX_CONCURRENCY` they wait in a bounded
queue; a full queue, or a wait past `COLALAMO_QUEUE_TIMEOUT`, is a 429 with Retry-After.
Never an unbounded pile-up."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .access import OPEN_PATHS
from .app_keys import Handler
from .errors import ApiError

RETRY_AFTER = "1"


class ConcurrencyLimit:
    def __init__(self, limit: int, max_queue: int, queue_timeout: float) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._max_queue = max_queue
        self._timeout = queue_timeout
        self.waiting = 0

    def _busy(self, why: str) -> ApiError:
        return ApiError(429, f"colalamo is at capacity ({why}); try again shortly",
                        code="server_busy", headers={"Retry-After": RETRY_AFTER})

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS or request.path == "/metrics" or request.method == "OPTIONS":
            return await handler(request)
        if self._slots.locked() and self.waiting >= self._max_queue:
            raise self._busy("the queue is full")
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self._timeout)
        except asyncio.TimeoutError:
            raise self._busy(f"no slot within {self._timeout:g} s") from None
        finally:
            self.waiting -= 1
        try:
            return await handler(request)
        finally:
            self._slots.release()

