"""Not hammering Copilot: an account-wide back-off after 429s, and an optional local rate limit.

Repeated 429s are linked to account suspensions in user reports, so after one, colalamo stops
sending for the whole account for as long as Copilot's `Retry-After` asks (seconds or an HTTP
date), answering 429 itself meanwhile with the time that remains. Only a 429 to a request sent
after the last pause ended widens the next pause (doubling, up to a cap): the answers to
requests already under way when a pause began say nothing new, and fifty of them must not
lock the account out for minutes.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any

from ..exceptions import RateLimited

BACKOFF_FIRST = 1.0
BACKOFF_CAP = 300.0
WINDOW = 60.0  # the rate limit counts requests per minute


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait `Retry-After` (seconds or an HTTP date) or `retry-after-ms` asks for; `now` is
    the wall clock, for a date."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(float(value) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


class AccountBackoff:
    """A circuit breaker for the whole Copilot account."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        cap: float = BACKOFF_CAP,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._cap = cap
        self._open_until = 0.0  # the end of the pause under way, or of the last one
        self.consecutive = 0

    def now(self) -> float:
        """The time to note when a request is sent, for `rate_limited`."""
        return self._clock()

    def check(self) -> None:
        """Raise a local 429 while the pause lasts, with the time that remains."""
        remaining = self._open_until - self._clock()
        if remaining > 0:
            raise RateLimited(
                f"Copilot rate-limited this account; colalamo holds requests back for {math.ceil(remaining)} s "
                "more rather than risk the account", code="upstream_backoff", retry_after=remaining)

    def rate_limited(self, headers: Mapping[str, str], *, sent_at: float) -> float:
        """Copilot answered 429 to a request sent at `sent_at`: open the breaker, unless the
        request was sent before the last pause ended; return the pause that remains."""
        now = self._clock()
        if sent_at < self._open_until:
            return max(self._open_until - now, 0.0)
        self.consecutive += 1
        widened = BACKOFF_FIRST * 2 ** min(self.consecutive - 1, 30)
        asked = retry_after_seconds(headers, self._wall_clock()) or 0.0
        pause: float = min(max(asked, widened), self._cap)
        self._open_until = max(self._open_until, now + pause)
        return pause

    def succeeded(self) -> None:
        self.consecutive = 0

    def adopt_streak(self, consecutive: int) -> None:
        """The account's 429s in a row, as another process or replica counted them: the next
        pause widens from there (a success anywhere starts it afresh)."""
        self.consecutive = consecutive

    def hold_until(self, wall_until: float) -> None:
        """Hold requests back until `wall_until` (wall-clock epoch seconds): a pause another
        process or replica opened. It never shortens the pause under way."""
        remaining = wall_until - self._wall_clock()
        if remaining > 0:
            self._open_until = max(self._open_until, self._clock() + min(remaining, self._cap))

    @property
    def wall_until(self) -> float:
        """The end of the pause under way (or of the last one) on the wall clock, to publish."""
        return self._wall_clock() + (self._open_until - self._clock())


class RateLimiter:
    """At most `per_minute` requests in any 60 s; over it, wait for a turn or answer 429."""

    def __init__(
        self,
        per_minute: int,
        mode: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._limit = per_minute
        self._wait = mode == "wait"
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    def _free_in(self, now: float) -> float:
        while self._starts and now - self._starts[0] >= WINDOW:
            self._starts.popleft()
        return 0.0 if len(self._starts) < self._limit else WINDOW - (now - self._starts[0])

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time: turns are taken in order
            wait = self._free_in(self._clock())
            if wait > 0 and not self._wait:
                raise RateLimited(f"over the local rate limit of {self._limit} requests a minute",
                                  code="local_rate_limit", retry_after=wait)
            if wait > 0:
                await self._sleep(wait)
                self._free_in(self._clock())
            self._starts.append(self._clock())
