"""Today's spending in both of Copilot's units, and the daily budgets that cap it.

Copilot bills AI credits by tokens (since 2026-06-01), and premium requests on plans still
billed per request. colalamo counts both per API key (credits also per model) for the
current UTC day.

A budget must hold when requests run at once, but a call's cost is only known once it is
answered. So admission *reserves*: it holds the call's expected cost (an estimate for
credits, the exact multiplier for premium requests) against the budget before the call is
sent, and the call then either *settles* (it was answered: the real cost is charged, the
hold freed) or is *released* (Copilot refused it or could not be reached: nothing charged).
Concurrent calls thus never spend past a budget by more than one call's underestimate.

The counts live in memory, where admission reads them (no I/O on a request's way). With a
`SpendStore` (the database, state/spend.py), the charges are added to it and the day's totals
read back once a second in the background: a restart keeps today's counts, and processes
sharing the store (`--workers`) see each other's spending at most a second late. Holds are
not shared (the calls they stand for die with their process).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..exceptions import RateLimited

log = logging.getLogger(__name__)

STATE_FILE = "colalamo-state.json"  # where versions before the database kept today's counts
DIGITS = 6  # credits are shown rounded to a millionth (a hundredth of a cent)
SYNC_INTERVAL = 1.0  # seconds between two syncs with the store (what a crash loses, what workers lag)


@dataclass(frozen=True)
class Charge:
    """What one answered call cost, on the UTC day it was answered."""

    day: dt.date
    key_id: str
    model: str
    credits: float
    premium: float


@dataclass
class Spent:
    """A day's totals: premium requests per key, AI credits per key and model."""

    premium: dict[str, float] = field(default_factory=dict)
    credits: dict[str, dict[str, float]] = field(default_factory=dict)


class SpendStore(Protocol):
    async def sync(self, day: dt.date, charges: list[Charge]) -> Spent: ...  # add, then read the day's totals


_EPOCH = dt.date(1970, 1, 1)


class _KnownDay:
    """The UTC day last asked for: its date, and the epoch seconds it spans."""

    __slots__ = ("start", "end", "date")

    def __init__(self) -> None:
        self.start = self.end = 0.0
        self.date = _EPOCH


_known_day = _KnownDay()


def utc_today() -> dt.date:
    """Today's UTC date, worked out once a day: the budgets ask for it a few times a request,
    and a datetime made each time cost more than the rest of their bookkeeping."""
    now = time.time()
    known = _known_day
    if not known.start <= now < known.end:  # another day (or the clock was set back)
        day = int(now // 86400)  # POSIX time has no leap seconds: a UTC day is 86,400 of them
        known.start, known.end, known.date = day * 86400.0, (day + 1) * 86400.0, _EPOCH + dt.timedelta(days=day)
    return known.date


def seconds_to_utc_midnight() -> float:
    now = dt.datetime.now(dt.timezone.utc)
    tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    return (tomorrow - now).total_seconds()


@dataclass
class _Day:
    """One UTC day's counts: spent (kept in the store) and held by calls in flight (not kept)."""

    day: dt.date
    premium: dict[str, float] = field(default_factory=dict)  # key -> premium requests
    credits: dict[str, dict[str, float]] = field(default_factory=dict)  # key -> model -> credits
    held_premium: dict[str, float] = field(default_factory=dict)
    held_credits: dict[str, float] = field(default_factory=dict)

    def credits_spent(self, key_id: str) -> float:
        return sum(self.credits.get(key_id, {}).values())

    def add(self, charge: Charge) -> None:
        if charge.premium > 0:
            _add(self.premium, charge.key_id, charge.premium)
        if charge.credits > 0:
            _add(self.credits.setdefault(charge.key_id, {}), charge.model, charge.credits)


def _add(counts: dict[str, float], key: str, amount: float) -> None:
    total = counts.get(key, 0.0) + amount
    if abs(total) < 1e-12:  # a hold given back in full: no entry left behind
        counts.pop(key, None)
    else:
        counts[key] = total


def premium_refusal(budget: float, spent: float, held: float, *, where: str = "") -> RateLimited:
    """The 429 past the premium budget (`where`: whose calls count, e.g. every replica's)."""
    return RateLimited(
        f"the daily budget of {budget:g} premium requests is used up ({spent:g} spent, {held:g} held by "
        f"calls in flight{where}); it renews at midnight UTC",
        code="premium_budget_exceeded", retry_after=seconds_to_utc_midnight())


def credit_refusal(budget: float, spent: float, held: float, cost: float, *, where: str = "") -> RateLimited:
    """The 429 past the AI-credit budget, with what this call may cost."""
    return RateLimited(
        f"the daily budget of {budget:g} AI credits is used up: {spent:.4g} spent today, {held:.4g} held by "
        f"calls in flight{where}, and this call may cost up to {cost:.4g}; it renews at midnight UTC",
        code="credit_budget_exceeded", retry_after=seconds_to_utc_midnight())


class Reservation:
    """The hold one admitted call has on the budgets, until it settles or is released."""

    def __init__(self, ledger: Ledger, key_id: str, day: dt.date, premium: float, credits: float) -> None:
        self._ledger = ledger
        self.key_id = key_id
        self.day = day
        self.premium = premium
        self.credits = credits
        self.open = True

    async def settle(self, *, model: str, credits: float, premium: float) -> None:
        """The call was answered: charge what it really cost, and free the hold. A second
        call is a no-op.

        It never waits (the store is written in the background): it runs as a stream ends,
        when the client may already be gone and its handler about to be cancelled."""
        if not self.open:
            return
        self._close()
        self._ledger.charge(self.key_id, model=model, credits=credits, premium=premium)

    def release(self) -> None:
        """The call was refused or never reached Copilot: free the hold, charge nothing.
        Idempotent, and a no-op after `settle`."""
        if self.open:
            self._close()

    def _close(self) -> None:
        self.open = False
        self._ledger.unhold(self)


class Ledger:
    """Today's premium requests and AI credits per key, the budgets, and the holds."""

    def __init__(
        self,
        store: SpendStore | None = None,
        *,
        premium_budget: float | None = None,
        credit_budget: float | None = None,
        today: Callable[[], dt.date] = utc_today,
    ) -> None:
        self._store = store
        self.premium_budget = premium_budget
        self.credit_budget = credit_budget
        self._today = today
        self._state = _Day(today())
        self._unsynced: list[Charge] = []  # charges the store has not been given yet
        self._sync_lock = asyncio.Lock()
        self._syncing: asyncio.Task[None] | None = None

    # the store ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Read today's counts from the store, then keep in sync with it in the background."""
        if self._store is None:
            return
        await self.sync()
        self._syncing = asyncio.get_running_loop().create_task(self._sync_every(SYNC_INTERVAL))

    async def stop(self) -> None:
        """Stop syncing, after a last sync (the charges not yet in the store reach it)."""
        if self._syncing is not None:
            self._syncing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._syncing
            self._syncing = None
        if self._store is not None:
            await self.sync()

    async def _sync_every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.sync()

    async def sync(self) -> None:
        """Give the store the charges it lacks, and take the day's totals from it (they
        include every process's charges)."""
        if self._store is None:
            return
        async with self._sync_lock:
            sent, self._unsynced = self._unsynced, []
            day = self._day().day
            try:
                spent = await self._store.sync(day, sent)
            except Exception as exc:  # the counts stay right in memory; the next sync tries again
                self._unsynced[:0] = sent
                log.warning("cannot sync today's counts with the database: %s", exc)
                return
            state = self._day()
            if state.day != day:
                return  # midnight came meanwhile: the next sync reads the new day
            state.premium, state.credits = spent.premium, spent.credits
            for charge in self._unsynced:  # charged while the store was asked: not in its totals
                if charge.day == day:
                    state.add(charge)

    # admission ---------------------------------------------------------------------------------

    def _day(self) -> _Day:
        today = self._today()
        if today != self._state.day:  # a new UTC day: budgets start again (holds lapse)
            self._state = _Day(today)
        return self._state

    def _refusal(self, key_id: str, premium: float, credits: float) -> RateLimited | None:
        day = self._day()
        if premium > 0 and self.premium_budget is not None:
            spent, held = day.premium.get(key_id, 0.0), day.held_premium.get(key_id, 0.0)
            if spent + held + premium > self.premium_budget:
                return premium_refusal(self.premium_budget, spent, held)
        if credits > 0 and self.credit_budget is not None:
            spent, held = day.credits_spent(key_id), day.held_credits.get(key_id, 0.0)
            if spent + held + credits > self.credit_budget:
                return credit_refusal(self.credit_budget, spent, held, credits)
        return None

    async def would_admit(self, key_id: str, *, premium: float, credits: float) -> bool:
        """Whether `admit` would let this call through now (to choose a fallback first)."""
        return self._refusal(key_id, premium, credits) is None

    async def admit(self, key_id: str, *, premium: float, credits: float) -> Reservation:
        """Hold the call's expected cost against today's budgets, or raise RateLimited
        (`premium_budget_exceeded` or `credit_budget_exceeded`, Retry-After until midnight
        UTC). A call that costs nothing in a unit is never refused for that unit."""
        refusal = self._refusal(key_id, premium, credits)
        if refusal is not None:
            raise refusal
        day = self._state
        # a hold of nothing changes nothing: most calls hold nothing in one unit or both
        if premium:
            _add(day.held_premium, key_id, premium)
        if credits:
            _add(day.held_credits, key_id, credits)
        return Reservation(self, key_id, day.day, premium, credits)

    def unhold(self, reservation: Reservation) -> None:
        if not (reservation.premium or reservation.credits):
            return  # it held nothing
        day = self._day()
        if reservation.day == day.day:  # a hold from a day gone by lapsed with its day
            if reservation.premium:
                _add(day.held_premium, reservation.key_id, -reservation.premium)
            if reservation.credits:
                _add(day.held_credits, reservation.key_id, -reservation.credits)

    def charge(self, key_id: str, *, model: str, credits: float, premium: float) -> None:
        """Count what a call cost, on the day it was answered (the store gets it with the
        next sync)."""
        if premium <= 0 and credits <= 0:
            return  # a free call changes nothing worth keeping
        day = self._day()
        charge = Charge(day.day, key_id, model, max(credits, 0.0), max(premium, 0.0))
        day.add(charge)
        if self._store is not None:
            self._unsynced.append(charge)

    # what /usage shows -----------------------------------------------------------------------

    async def today(self, key_id: str | None = None) -> dict[str, Any]:
        """Today's counts for one key (None: all keys together), the budgets, the holds,
        and the per-key totals."""
        day = self._day()
        keys = [key_id] if key_id is not None else sorted(set(day.premium) | set(day.credits))
        by_model: dict[str, float] = {}
        for key in keys:
            for model, credits in day.credits.get(key, {}).items():
                by_model[model] = by_model.get(model, 0.0) + credits
        premium = sum(day.premium.get(key, 0.0) for key in keys)
        held_keys = [key_id] if key_id is not None else list(day.held_credits.keys() | day.held_premium.keys())
        return {
            "day": day.day.isoformat(),
            "key": key_id,
            "premium_requests_today": round(premium, DIGITS),
            "premium_budget": self.premium_budget,
            "ai_credits_today": round(sum(by_model.values()), DIGITS),
            "credit_budget": self.credit_budget,
            "ai_credits_by_model": {m: round(c, DIGITS) for m, c in sorted(by_model.items())},
            "ai_credits_by_key": {k: round(day.credits_spent(k), DIGITS) for k in sorted(day.credits)},
            "premium_requests_by_key": {k: round(v, DIGITS) for k, v in sorted(day.premium.items())},
            "held_by_calls_in_flight": {
                "premium_requests": round(sum(day.held_premium.get(k, 0.0) for k in held_keys), DIGITS),
                "ai_credits": round(sum(day.held_credits.get(k, 0.0) for k in held_keys), DIGITS),
            },
        }

    def spent(self, key_id: str) -> float:
        """Premium requests this key spent today."""
        return self._day().premium.get(key_id, 0.0)

    def credits_spent(self, key_id: str) -> float:
        """AI credits this key spent today."""
        return self._day().credits_spent(key_id)

