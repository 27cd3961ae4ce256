"""The one connection to Redis every shared piece goes through, and whether Redis is up.

A request must never fail, nor wait long, because Redis is down. So once an operation fails,
the link is marked down and the pieces go straight to their local fallback without trying
Redis again; a background watcher pings Redis (every PROBE_INTERVAL) until it answers, then
marks it up and runs the pieces' re-sync hooks (re-publish a pause, push what was counted
while it was away). The pub/sub listener of the back-off notices a lost connection at once,
so `/health` says "down" within moments of Redis going away, even with no traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")
CONNECT_TIMEOUT = 0.5  # seconds: Redis is near (same host or LAN); waiting longer helps no request
COMMAND_TIMEOUT = 0.5  # a script here runs in microseconds; more than this is a Redis in trouble
MAX_CONNECTIONS = 8  # to Redis, per process (the back-off's subscription keeps one)
PROBE_INTERVAL = 0.5  # seconds between pings while Redis is down
LIVENESS_INTERVAL = 2.0  # seconds between pings while it is up (so /health notices a hung Redis)
WARN_EVERY = 60.0  # at most one "Redis is down" warning a minute
FAILURES = (RedisError, OSError, asyncio.TimeoutError)


class RedisDown(Exception):
    """Redis cannot be used now: take the local fallback."""


def redacted(url: str) -> str:
    """The URL with any password left out, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisLink:
    def __init__(self, url: str, prefix: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.prefix = prefix
        self._clock = clock
        # No retries inside the client: a failure goes to the fallback at once, the watcher
        # does the retrying, off the request path. A few connections, kept: a burst of calls
        # waits its turn on them (each command takes microseconds) instead of opening one
        # connection per call, whose connects time out first under load.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=COMMAND_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT, retry=Retry(NoBackoff(), 0), decode_responses=False)
        self.client: aioredis.Redis = aioredis.Redis.from_pool(pool)
        self.up = False  # until the first ping answers
        self._warned_at: float | None = None
        self._on_up: list[Callable[[], Awaitable[None]]] = []
        self._changed = asyncio.Event()  # set on every up/down change (the listener waits on it)
        self._watcher: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Ping once (so a Redis that is there is used from the first request), then watch."""
        await self._probe()
        if not self.up:
            self._warn(f"Redis at {redacted(self.url)} is unreachable; "
                       "each process uses its own state until it is back")
        self._watcher = asyncio.get_running_loop().create_task(self._watch(), name="colalamo-redis-watch")

    async def aclose(self) -> None:
        tasks = [t for t in (self._watcher, *self._background) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(*FAILURES):
            await self.client.aclose()

    def on_up(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` each time Redis comes (back) up: re-sync what the fallback did meanwhile."""
        self._on_up.append(hook)

    # using it ----------------------------------------------------------------------------

    async def run(self, operation: Callable[[], Awaitable[T]]) -> T:
        """One operation on Redis, or RedisDown (at once while it is marked down)."""
        if not self.up:
            raise RedisDown
        try:
            return await operation()
        except FAILURES as exc:
            self.mark_down(exc)
            raise RedisDown from None

    def soon(self, operation: Callable[[], Awaitable[Any]], on_down: Callable[[], None] | None = None) -> None:
        """Run an operation in the background (nobody waits for it); `on_down` when it cannot."""
        async def attempt() -> None:
            try:
                await self.run(operation)
            except RedisDown:
                if on_down is not None:
                    on_down()

        if not self.up:
            if on_down is not None:
                on_down()
            return
        self.spawn(attempt())

    def spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A background task `drain` waits for and `aclose` cancels."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def drain(self) -> None:
        """Wait for background operations (settlements) to be done, e.g. before closing."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def mark_down(self, reason: BaseException | str) -> None:
        if self.up:
            self.up = False
            self._changed.set()
        self._warn(f"Redis at {redacted(self.url)} is unreachable ({_describe(reason)}); "
                   "each process uses its own state until it is back")

    async def wait_changed(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    # watching ----------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(LIVENESS_INTERVAL if self.up else PROBE_INTERVAL)
            await self._probe()

    async def _probe(self) -> None:
        try:
            await self.client.ping()
        except FAILURES as exc:
            self.mark_down(exc)
            return
        if not self.up:
            # the pool's idle connections may be to the Redis that went away (a restart): the
            # first command on one would fail and mark Redis down again; they reconnect anew
            with contextlib.suppress(*FAILURES):
                await self.client.connection_pool.disconnect(inuse_connections=False)
            self.up = True
            self._changed.set()
            if self._warned_at is not None:
                log.info("Redis at %s is reachable again; sharing state through it", redacted(self.url))
            for hook in self._on_up:
                try:
                    await hook()
                except FAILURES as exc:
                    self.mark_down(exc)
                    return

    def _warn(self, message: str) -> None:
        now = self._clock()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning("%s", message)


def _describe(reason: BaseException | str) -> str:
    if isinstance(reason, str):
        return reason
    return str(reason) or type(reason).__name__
