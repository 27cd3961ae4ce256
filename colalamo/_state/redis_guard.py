"""The account back-off and the rate limit, shared through Redis by every replica.

The back-off is read on every request, so it stays local: `check()` reads this process's
back-off, never Redis. A pause this process opens is published (its end as wall-clock epoch
seconds, and the account's 429s in a row) on a pub/sub channel and kept under a key that
expires with it; every replica applies the pauses it hears of to its own back-off (and so to
its workers', through the machine's shared back-off file), and reads the key when it
(re)subscribes, so one that starts or reconnects mid-pause holds back too. The streak of 429s
is the account's, not a replica's: the next 429 anywhere doubles the pause the last one set,
and the first success after 429s, anywhere, starts it afresh everywhere.

The rate limit is a sliding window of request starts in a sorted set, timed by Redis's own
clock (replicas' clocks may differ); asked only when COLALAMO_RATE_LIMIT is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import time
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from .._upstream.guard import WINDOW, RateLimiter
from ..exceptions import RateLimited
from .base import Backoff
from .redis_link import FAILURES, RedisDown, RedisLink

log = logging.getLogger(__name__)

LISTEN_TIMEOUT = 1.0  # seconds a pub/sub read waits before checking it is still wanted

# KEYS: the pause's key, the channel. ARGV: the message, its end (epoch s), its TTL (ms).
# Keeps the latest end under the key; tells every subscriber.
PUBLISH_PAUSE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if tonumber(ARGV[2]) > current then
  redis.call('HSET', KEYS[1], 'until', ARGV[2], 'message', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return redis.call('PUBLISH', KEYS[2], ARGV[1])
"""

# KEYS: the window's sorted set. ARGV: the limit, the window (ms), a unique member.
# 0: a turn is taken; else the milliseconds until the oldest start leaves the window.
TAKE_TURN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + window - now, 1)
"""


class LocalBackoff(Backoff, Protocol):
    """This process's back-off (`AccountBackoff`, or the one the workers of a machine share)."""

    @property
    def wall_until(self) -> float: ...

    @property
    def consecutive(self) -> int: ...

    def hold_until(self, wall_until: float) -> None: ...

    def adopt_streak(self, consecutive: int) -> None: ...


class RedisBackoff:
    """A `Backoff` whose pauses hold every replica back."""

    def __init__(self, link: RedisLink, local: LocalBackoff) -> None:
        self.local = local
        self._link = link
        self._key = link.key("backoff")
        self._channel = link.key("backoff", "events")
        self._publish = link.client.register_script(PUBLISH_PAUSE)
        self._sender = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._listener: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()  # set while the listener is subscribed (tests wait on it)
        self._stopping = False
        link.on_up(self._republish)

    # the Backoff protocol: all local, no round trip ---------------------------------------

    def now(self) -> float:
        return self.local.now()

    def check(self) -> None:
        self.local.check()

    def rate_limited(self, headers: Mapping[str, str], *, sent_at: float) -> float:
        before = self.local.wall_until
        pause = self.local.rate_limited(headers, sent_at=sent_at)
        until = self.local.wall_until
        if until > before + 0.001:  # this 429 opened or widened a pause: tell the others
            self._announce(until, self.local.consecutive)
        return pause

    def succeeded(self) -> None:
        if self.local.consecutive:  # rare: the first success after 429s; the others start afresh too
            self.local.succeeded()
            self._announce(self.local.wall_until, 0)

    # sharing ------------------------------------------------------------------------------

    def start(self) -> None:
        self._listener = asyncio.get_running_loop().create_task(self._listen(), name="colalamo-redis-backoff")

    async def stop(self) -> None:
        # redis-py's get_message can swallow a cancellation that lands in its read timeout
        # (the task then listens on): cancel until the task is done; `_stopping` ends the loop
        # at its next turn (LISTEN_TIMEOUT) in any case.
        listener = self._listener
        if listener is None:
            return
        self._stopping = True
        while not listener.done():
            listener.cancel()
            await asyncio.wait([listener], timeout=0.05)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            listener.result()

    def _announce(self, until: float, streak: int) -> None:
        self._link.soon(lambda: self._send(until, streak))

    async def _republish(self) -> None:
        """Redis is back: a pause still under way here is made known to the others."""
        until = self.local.wall_until
        if until > time.time():
            await self._send(until, self.local.consecutive)

    async def _send(self, until: float, streak: int) -> None:
        message = json.dumps({"until": until, "streak": streak, "from": self._sender})
        ttl_ms = max(math.ceil((until - time.time()) * 1000), 1)
        await self._publish(keys=[self._key, self._channel], args=[message, repr(until), ttl_ms])

    def _apply(self, raw: Any, *, live: bool) -> None:
        """A pause (or a streak's end) another replica published; `live`: just now, not read
        back from the key (whose streak is only current while its pause lasts)."""
        try:
            message = json.loads(raw)
            until = float(message["until"])
            streak = int(message.get("streak", -1))
        except (TypeError, ValueError, KeyError):
            log.debug("ignoring a malformed back-off message from Redis")
            return
        if message.get("from") == self._sender:
            return
        under_way = until > time.time()
        if under_way:
            self.local.hold_until(until)
        if streak >= 0 and (live or under_way):
            self.local.adopt_streak(streak)

    async def _listen(self) -> None:
        """Apply the pauses the others publish; re-subscribe (and re-read the key) whenever
        Redis comes back."""
        while not self._stopping:
            if not self._link.up:
                await self._link.wait_changed()
                continue
            pubsub = self._link.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                current = await self._link.client.hget(self._key, "message")
                if current is not None:
                    self._apply(current, live=False)
                self.subscribed.set()
                while not self._stopping:
                    message = await pubsub.get_message(timeout=LISTEN_TIMEOUT)
                    if message is not None and message.get("type") == "message":
                        self._apply(message["data"], live=True)
            except FAILURES as exc:
                self._link.mark_down(exc)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(*FAILURES):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped


class RedisLimiter:
    """At most `per_minute` requests in any 60 s across every replica; the local
    `RateLimiter` while Redis is down."""

    def __init__(self, link: RedisLink, local: RateLimiter, per_minute: int, mode: str) -> None:
        self.local = local
        self._link = link
        self._limit = per_minute
        self._wait = mode == "wait"
        self._key = link.key("ratelimit")
        self._take = link.client.register_script(TAKE_TURN)
        self._members = (f"{os.getpid()}-{uuid.uuid4().hex[:8]}-{n}" for n in itertools.count())
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # this process's waiters take their turns in order
            while True:
                try:
                    wait_ms = await self._link.run(
                        lambda: self._take(keys=[self._key],
                                           args=[self._limit, int(WINDOW * 1000), next(self._members)]))
                except RedisDown:
                    break
                if not wait_ms:
                    return
                if not self._wait:
                    raise RateLimited(f"over the rate limit of {self._limit} requests a minute (shared by every "
                                      "replica)", code="local_rate_limit", retry_after=int(wait_ms) / 1000)
                await asyncio.sleep(int(wait_ms) / 1000)
        await self.local.acquire()
