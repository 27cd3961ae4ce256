"""The state of one process: the back-off, the rate limit, the budgets and the Responses
store as this machine keeps them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..config import Settings
from ..upstream.guard import AccountBackoff, RateLimiter
from ..upstream.ledger import STATE_FILE, Ledger
from .base import SharedState
from .history import NoHistory
from .responses import ResponseStore


@asynccontextmanager
async def open_local_state(settings: Settings) -> AsyncIterator[SharedState]:
    ledger = Ledger(settings.token_file.parent / STATE_FILE,
                    premium_budget=settings.premium_budget, credit_budget=settings.credit_budget)
    await asyncio.to_thread(ledger.load)
    limiter = RateLimiter(settings.rate_limit, settings.rate_limit_mode) if settings.rate_limit else None
    try:
        yield SharedState(backoff=AccountBackoff(), limiter=limiter, budgets=ledger, responses=ResponseStore(),
                          models_cache=None, history=NoHistory(), redis_up=lambda: None)
    finally:
        await ledger.flush()  # today's counts reach the state file


def memory_state(settings: Settings) -> SharedState:
    """State kept in memory only, forgotten with the process (for `colalamo doctor`'s checks)."""
    limiter = RateLimiter(settings.rate_limit, settings.rate_limit_mode) if settings.rate_limit else None
    ledger = Ledger(None, premium_budget=settings.premium_budget, credit_budget=settings.credit_budget)
    return SharedState(backoff=AccountBackoff(), limiter=limiter, budgets=ledger, responses=ResponseStore(),
                       models_cache=None, history=NoHistory(), redis_up=lambda: None)
