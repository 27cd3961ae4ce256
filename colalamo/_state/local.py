"""The state of this machine: the back-off, the rate limit, the budgets, the Responses store
and the request history, kept in colalamo's SQLite database (state/database.py) and a small
shared back-off file, both in the data directory, so a restart keeps them and the
`--workers` processes share them. When the database cannot be opened, everything is kept in
memory (with a warning), as before it existed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from .._upstream.guard import AccountBackoff, RateLimiter
from .._upstream.ledger import STATE_FILE, Ledger
from ..config import Settings
from .backoff_file import BACKOFF_FILE, SharedBackoff
from .base import Backoff, SharedState
from .database import DATABASE_FILE, Database
from .history import NoHistory, SqliteHistory, prune_history
from .responses import PersistentResponses, ResponseStore, prune_responses
from .spend import SqliteSpend

log = logging.getLogger(__name__)

PRUNE_INTERVAL = 3600.0  # seconds between two sweeps of old history and expired responses


@asynccontextmanager
async def open_local_state(settings: Settings) -> AsyncIterator[SharedState]:
    async with AsyncExitStack() as stack:
        database = await _opened(settings)
        if database is None:
            yield memory_state(settings)
            return
        stack.push_async_callback(database.close)  # last: what the others queue on closing is written
        spend = SqliteSpend(database)
        await spend.import_state_file(settings.token_file.parent / STATE_FILE)
        ledger = Ledger(spend, premium_budget=settings.premium_budget, credit_budget=settings.credit_budget)
        await ledger.start()
        stack.push_async_callback(ledger.stop)
        stack.push_async_callback(_cancelled, asyncio.get_running_loop().create_task(_prune_every(database, settings)))
        yield SharedState(backoff=await _shared_backoff(settings, stack), limiter=_limiter(settings), budgets=ledger,
                          responses=PersistentResponses(database), models_cache=None,
                          history=SqliteHistory(database, settings.history_days), redis_up=lambda: None)


def memory_state(settings: Settings) -> SharedState:
    """State kept in memory only, forgotten with the process."""
    ledger = Ledger(premium_budget=settings.premium_budget, credit_budget=settings.credit_budget)
    return SharedState(backoff=AccountBackoff(), limiter=_limiter(settings), budgets=ledger,
                       responses=ResponseStore(), models_cache=None, history=NoHistory(), redis_up=lambda: None)


def _limiter(settings: Settings) -> RateLimiter | None:
    return RateLimiter(settings.rate_limit, settings.rate_limit_mode) if settings.rate_limit else None


async def _opened(settings: Settings) -> Database | None:
    path = settings.state_dir / DATABASE_FILE
    try:
        return await Database.open(path)
    except (OSError, sqlite3.Error) as exc:
        log.warning("cannot open the database %s (%s): request history, today's counts and stored responses "
                    "are kept in memory only, and lost with the process", path, exc)
        return None


async def _shared_backoff(settings: Settings, stack: AsyncExitStack) -> Backoff:
    try:
        shared = await asyncio.to_thread(SharedBackoff, AccountBackoff(), settings.state_dir / BACKOFF_FILE)
    except (OSError, ValueError) as exc:
        log.warning("cannot share the 429 back-off with other processes (%s): each keeps its own", exc)
        return AccountBackoff()
    stack.callback(shared.close)
    return shared


async def _prune_every(database: Database, settings: Settings) -> None:
    while True:
        try:
            gone = await database.run(lambda connection: _prune(connection, settings.history_days))
            if gone:
                log.info("dropped %d request(s) older than %d days from the history", gone, settings.history_days)
        except sqlite3.Error as exc:
            log.warning("cannot prune the history in %s: %s", database.path, exc)
        await asyncio.sleep(PRUNE_INTERVAL)


def _prune(connection: sqlite3.Connection, keep_days: int) -> int:
    prune_responses(connection)
    return prune_history(connection, keep_days)


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
