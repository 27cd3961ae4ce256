"""Shutting down within the grace period, and telling every client still waiting.

On SIGTERM/SIGINT the server stops accepting and gives the requests in flight up to
`COLALAMO_SHUTDOWN_GRACE` seconds. Whatever still runs then is cut, never silently: a stream
gets an error event in its route's format and a proper end of its body (server/streaming.py),
any other request a 503 in its route's format (server/errors.py). The process exits within the
grace plus a second.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

log = logging.getLogger(__name__)

#: after the grace, what cut requests get to write their last words
LAST_WORDS = 0.5


class InFlight:
    """The handler tasks running now, so shutdown can wait for them, then cut them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.cutting = False  # the grace is over: a cancelled request is answered, not dropped

    def enter(self) -> asyncio.Task[object] | None:
        """The current handler task starts a request (hand it to `leave` when it ends)."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            self._idle.clear()
        return task

    def leave(self, task: asyncio.Task[object] | None) -> None:
        if task is not None:
            self._tasks.discard(task)
            if not self._tasks:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every request to finish; True if they did."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def cut(self) -> int:
        """Cancel every request still running, and give them LAST_WORDS to answer."""
        self.cutting = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=LAST_WORDS)
        return len(tasks)


IN_FLIGHT = web.AppKey("in_flight", InFlight)
_CUT = web.RequestKey("cut_by_shutdown", bool)


def cut_by_shutdown(request: web.Request) -> bool:
    """Whether a CancelledError in this request's handler is shutdown cutting it (then the
    handler answers, and the cancellation is spent) rather than its client leaving. Once per
    request: a second cancellation (its last words took too long) ends it."""
    in_flight = request.app.get(IN_FLIGHT)
    if in_flight is None or not in_flight.cutting or request.transport is None or _CUT in request:
        return False
    request[_CUT] = True
    task = asyncio.current_task()
    if task is not None and hasattr(task, "uncancel"):  # Python 3.11+
        task.uncancel()
    return True


async def shut_down(runner: web.AppRunner, grace: float) -> None:
    """Stop accepting, let requests finish for up to `grace` seconds, cut the rest, clean up."""
    for site in list(runner.sites):
        await site.stop()
    if runner.server is not None:
        runner.server.pre_shutdown()  # idle keep-alive connections close now, busy ones after
    in_flight = runner.app.get(IN_FLIGHT)
    if in_flight is not None and not await in_flight.wait_idle(grace):
        count = await in_flight.cut()
        log.warning("the shutdown grace (%g s) is over: %d request(s) cut, each told so", grace, count)
    await runner.cleanup()
