"""The seam between colalamo and the state that outlives a request: what the account-wide
back-off, the local rate limit, the daily budgets, the Responses store, the model catalogue's
cache and the request history must offer, whoever keeps them (this process, an SQLite
database shared by the workers of one machine, Redis shared by replicas on many).

`Core` opens one `SharedState` with `open_state(settings)` and hands its pieces to the
Copilot client, the transport, the Responses route and `/usage`. Nothing else builds them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..exceptions import ConfigError

if TYPE_CHECKING:
    from ..config import Settings
    from .history import RequestRow


class Backoff(Protocol):
    """The account-wide pause after Copilot's 429s (local: upstream/guard.py AccountBackoff).

    A shared back-off keeps a local `AccountBackoff` as the one `check()` reads (no round
    trip per request), publishes each pause it opens (its end as wall-clock epoch seconds,
    and `consecutive`), and applies the pauses others publish to the local one
    (`AccountBackoff.hold_until`)."""

    def now(self) -> float: ...  # the time to note when a request is sent

    def check(self) -> None: ...  # synchronous and cheap; raises RateLimited(code="upstream_backoff")

    def rate_limited(self, headers: Mapping[str, str], *, sent_at: float) -> float: ...

    def succeeded(self) -> None: ...


class Limiter(Protocol):
    """The local rate limit (upstream/guard.py RateLimiter)."""

    async def acquire(self) -> None: ...  # raises RateLimited(code="local_rate_limit"), or waits


class Reservation(Protocol):
    """One admitted call's hold on the budgets (upstream/ledger.py Reservation)."""

    async def settle(self, *, model: str, credits: float, premium: float) -> None: ...  # never waits on disk

    def release(self) -> None: ...  # synchronous (runs in except/finally): schedules any I/O


class Budgets(Protocol):
    """Today's spending per key and the daily budgets (upstream/ledger.py Ledger)."""

    premium_budget: float | None
    credit_budget: float | None

    async def would_admit(self, key_id: str, *, premium: float, credits: float) -> bool: ...

    async def admit(self, key_id: str, *, premium: float, credits: float) -> Reservation: ...  # or RateLimited

    async def today(self, key_id: str | None = None) -> dict[str, Any]: ...


class ResponsesStore(Protocol):
    """Past responses for `previous_response_id` and `item_reference`
    (server/responses/store.py)."""

    async def put(self, response_id: str, conversation: list[dict[str, Any]]) -> None: ...

    async def get(self, response_id: str) -> list[dict[str, Any]] | None: ...

    async def item(self, item_id: str) -> dict[str, Any] | None: ...


class ModelsCache(Protocol):
    """Redis only: the /models JSON another replica fetched, asked before fetching."""

    async def get(self) -> Any | None: ...

    async def put(self, models: Any, ttl: float) -> None: ...


class RequestHistory(Protocol):
    """The request ledger: one row per API request, kept for COLALAMO_HISTORY_DAYS
    (state/history.py). Always local to the machine (SQLite)."""

    def record(self, row: RequestRow) -> None: ...  # synchronous: queues the row, never writes it

    async def summary(self, days: int, key_id: str | None = None) -> dict[str, Any]: ...


@dataclass
class SharedState:
    backoff: Backoff
    limiter: Limiter | None
    budgets: Budgets
    responses: ResponsesStore
    models_cache: ModelsCache | None
    history: RequestHistory
    redis_up: Callable[[], bool | None]  # None: no Redis configured (for /health and /metrics)


@asynccontextmanager
async def open_state(settings: Settings) -> AsyncIterator[SharedState]:
    """The state of this process: local (and SQLite-backed) always; shared through Redis on
    top when COLALAMO_REDIS_URL is set. Closing it writes what is queued."""
    from .local import open_local_state

    async with open_local_state(settings) as local:
        if settings.redis_url is None:
            yield local
            return
        try:
            from .redis import shared_through_redis  # the `redis` extra
        except ImportError as exc:
            if not (exc.name or "").startswith("redis"):
                raise
            raise ConfigError("COLALAMO_REDIS_URL is set, but the redis package is not installed: "
                              "pip install 'colalamo[redis]'") from None
        async with shared_through_redis(settings, local) as shared:  # falls back to `local` while Redis is down
            yield shared
