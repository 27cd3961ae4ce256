"""Connections that cannot exhaust the server: a bound on how long a connection may go without
a whole request head, headroom below the file-descriptor limit, and malformed HTTP logged as its
access line alone (aiohttp would add a traceback per request).

A connection that has sent no complete request head within `COLALAMO_IDLE_TIMEOUT` seconds,
when new or idle between requests, is closed: aiohttp's keep-alive timer covers both, since it
starts when the connection is made. Above `max_connections` (half the descriptors left after a
reserve: a connection being served holds a second one, towards Copilot), a new connection first
makes room by closing the oldest idle one; when none is idle it is answered 503 and closed.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from .._json import dumps

log = logging.getLogger(__name__)

#: descriptors kept for everything but client connections: the listening sockets, the event
#: loop, log files, token and state files, DNS (64); and asyncio accepts up to a backlog (128)
#: of connections in one go, before the ones closed to make room give their descriptors back
RESERVED_DESCRIPTORS = 64 + 128
WARNING_INTERVAL = 60.0  # seconds between two "all busy" warnings

_BUSY_BODY = dumps({"error": {
    "message": "colalamo has as many connections open as it can serve; try again shortly",
    "type": "api_error", "param": None, "code": "server_busy",
}})
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)


def max_connections(descriptor_limit: int | None = None) -> int:
    """How many client connections fit below the descriptor limit, with headroom."""
    if descriptor_limit is None:
        descriptor_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if descriptor_limit == resource.RLIM_INFINITY:
        descriptor_limit = 1 << 20
    return max(1, (descriptor_limit - RESERVED_DESCRIPTORS) // 2)


class QuietRequestHandler(RequestHandler):
    """aiohttp's protocol, logging a malformed request (or a client gone mid-answer) as no
    more than its access line: the 400 says it all, a traceback says nothing more."""

    def log_exception(self, *args: Any, **kw: Any) -> None:
        if isinstance(kw.get("exc_info"), (HttpProcessingError, ConnectionError)):
            self.logger.debug(*args, **kw)
            return
        super().log_exception(*args, **kw)

    @property
    def idle(self) -> bool:
        """Waiting for (the rest of) a request head, with no request being handled."""
        return not getattr(self, "_request_in_progress", True)


class GuardedServer(Server):
    """aiohttp's server, keeping its connections below `limit` (see the module's docstring)."""

    def __init__(self, *args: Any, limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit = limit
        self._last_warning = float("-inf")

    def __call__(self) -> RequestHandler:
        return QuietRequestHandler(self, loop=self._loop, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if len(self._connections) <= self.limit:
            return
        # closed connections stay listed until their task ends: count the open ones
        open_ones = [c for c in self._connections if c.transport is not None and c is not handler]
        if len(open_ones) < self.limit:
            return
        oldest_idle = next((c for c in open_ones if isinstance(c, QuietRequestHandler) and c.idle), None)
        if oldest_idle is not None:
            oldest_idle.force_close()
            return
        now = time.monotonic()
        if now - self._last_warning > WARNING_INTERVAL:
            self._last_warning = now
            log.warning("%d connections open, all busy: new ones are answered 503", len(open_ones))
        transport.write(BUSY_RESPONSE)
        transport.close()


class GuardedRunner(web.AppRunner):
    """`web.AppRunner` serving through `GuardedServer`."""

    def __init__(self, app: web.Application, *, max_connections: int, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._max_connections = max_connections

    async def _make_server(self) -> Server:
        made = await super()._make_server()  # the app started and frozen, aiohttp's arguments
        return GuardedServer(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            loop=asyncio.get_running_loop(),
            limit=self._max_connections,
            **made._kwargs,
        )
