"""Not hammering Copilot: an account-wide back-off after 429s, and an optional local rate limit.

Repeated 429s are linked to account suspensions in user reports, so after one, colalamo stops
sending for the whole account until `Retry-After` has passed, answering 429 itself meanwhile;
each further 429 doubles the pause, up to a cap.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..exceptions import RateLimited

BACKOFF_FIRST = 1.0
BACKOFF_CAP = 300.0
WINDOW = 60.0  # the rate limit counts requests per minute


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from Copilot; the back-off applies instead


class AccountBackoff:
    """A circuit breaker for the whole Copilot account."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, cap: float = BACKOFF_CAP) -> None:
        self._clock = clock
        self._cap = cap
        self._open_until = 0.0
        self.consecutive = 0

    def check(self) -> None:
        """Raise a local 429 while the pause lasts."""
        remaining = self._open_until - self._clock()
        if remaining > 0:
            raise RateLimited(
                f"Copilot rate-limited this account; colalamo holds requests back for {math.ceil(remaining)} s "
                "more rather than risk the account", code="upstream_backoff", retry_after=remaining)

    def rate_limited(self, headers: Mapping[str, str]) -> float:
        """Copilot answered 429: open the breaker; return the pause."""
        self.consecutive += 1
        widened = BACKOFF_FIRST * 2 ** (self.consecutive - 1)
        pause = min(max(retry_after_seconds(headers) or 0.0, widened), self._cap)
        self._open_until = max(self._open_until, self._clock() + pause)
        return pause

    def succeeded(self) -> None:
        self.consecutive = 0


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
