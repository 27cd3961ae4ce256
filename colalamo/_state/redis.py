"""Redis on top of the local state, when COLALAMO_REDIS_URL is set: every replica on every
machine then shares the account back-off, the rate limit, the budgets, the stored responses
and the model list (keys under COLALAMO_REDIS_PREFIX). The request history stays local.

Each shared piece wraps its local counterpart and falls back to it while Redis is down (see
redis_link.py): no request fails because of Redis, and sharing resumes once it is back.

    redis = await open_redis(settings, backoff=..., limiter=..., budgets=..., responses=...)
    ...
    await redis.aclose()

This module needs the `redis` package (the `redis` extra): it is imported only when a Redis
URL is set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from .._upstream.guard import AccountBackoff, RateLimiter
from ..config import Settings
from .backoff_file import SharedBackoff
from .base import Budgets, ResponsesStore, SharedState
from .redis_budgets import RedisBudgets
from .redis_guard import LocalBackoff, RedisBackoff, RedisLimiter
from .redis_link import RedisLink
from .redis_responses import RedisModels, RedisResponses

__all__ = ["RedisState", "open_redis", "shared_through_redis"]

RESPONSES_TTL = 3600.0  # as the local store's: a stored response is kept an hour...
RESPONSES_MAX = 1000  # ...and at most this many (the oldest go first)


@dataclass
class RedisState:
    """The shared pieces, and the link they use (`up()`: whether Redis answers now)."""

    link: RedisLink
    backoff: RedisBackoff
    limiter: RedisLimiter | None
    budgets: RedisBudgets
    responses: RedisResponses
    models_cache: RedisModels

    def up(self) -> bool:
        return self.link.up

    async def aclose(self) -> None:
        await self.backoff.stop()
        self.budgets.give_back_leases()  # not left held for a replica that is gone
        await self.link.drain()  # settlements under way reach Redis
        await self.link.aclose()


async def open_redis(
    settings: Settings,
    *,
    backoff: LocalBackoff,
    limiter: RateLimiter | None,
    budgets: Budgets,
    responses: ResponsesStore,
    responses_ttl: float = RESPONSES_TTL,
    responses_max: int = RESPONSES_MAX,
) -> RedisState:
    """Connect (a Redis that is down is not an error: it is used once it answers) and wrap
    the local pieces."""
    if settings.redis_url is None:
        raise ValueError("open_redis needs COLALAMO_REDIS_URL")
    link = RedisLink(settings.redis_url, settings.redis_prefix)
    shared_limiter = (RedisLimiter(link, limiter, settings.rate_limit, settings.rate_limit_mode)
                      if limiter is not None and settings.rate_limit else None)
    state = RedisState(
        link=link,
        backoff=RedisBackoff(link, backoff),
        limiter=shared_limiter,
        budgets=RedisBudgets(link, budgets),
        responses=RedisResponses(link, responses, ttl=responses_ttl, max_entries=responses_max),
        models_cache=RedisModels(link),
    )
    await link.start()
    state.backoff.start()
    return state



@asynccontextmanager
async def shared_through_redis(settings: Settings, local: SharedState) -> AsyncIterator[SharedState]:
    """`local`'s pieces shared through Redis (the request history stays local)."""
    # the machine's back-off (shared by its workers) applies the pauses Redis brings
    backoff = local.backoff if isinstance(local.backoff, (AccountBackoff, SharedBackoff)) else AccountBackoff()
    limiter = local.limiter if isinstance(local.limiter, RateLimiter) else None
    redis = await open_redis(settings, backoff=backoff, limiter=limiter, budgets=local.budgets,
                             responses=local.responses)
    try:
        yield SharedState(backoff=redis.backoff, limiter=redis.limiter or local.limiter, budgets=redis.budgets,
                          responses=redis.responses, models_cache=redis.models_cache, history=local.history,
                          redis_up=redis.up)
    finally:
        await redis.aclose()
