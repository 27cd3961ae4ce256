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

The day's counts live in a small state file beside the token (replaced atomically, 0600), so
a restart does not reset a budget; holds are not saved (the calls they stand for die with
the process).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..exceptions import RateLimited

log = logging.getLogger(__name__)

STATE_FILE = "colalamo-state.json"  # today's premium requests and AI credits, beside the token
STATE_VERSION = 2  # version 1 (no "version" field) held premium requests only
DIGITS = 6  # credits are shown rounded to a millionth (a hundredth of a cent)


SAVE_INTERVAL = 1.0  # seconds between two writes of the state file under load (a crash loses at most this)


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def seconds_to_utc_midnight() -> float:
    now = dt.datetime.now(dt.timezone.utc)
    tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    return (tomorrow - now).total_seconds()


@dataclass
class _Day:
    """One UTC day's counts: spent (saved) and held by calls in flight (not saved)."""

    day: dt.date
    premium: dict[str, float] = field(default_factory=dict)  # key -> premium requests
    credits: dict[str, dict[str, float]] = field(default_factory=dict)  # key -> model -> credits
    held_premium: dict[str, float] = field(default_factory=dict)
    held_credits: dict[str, float] = field(default_factory=dict)

    def credits_spent(self, key_id: str) -> float:
        return sum(self.credits.get(key_id, {}).values())


def _add(counts: dict[str, float], key: str, amount: float) -> None:
    total = counts.get(key, 0.0) + amount
    if abs(total) < 1e-12:  # a hold given back in full: no entry left behind
        counts.pop(key, None)
    else:
        counts[key] = total


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
        """The call was answered: charge what it really cost, free the hold, and have the
        counts saved. A second call is a no-op.

        It never waits (the file is written in the background): it runs as a stream ends,
        when the client may already be gone and its handler about to be cancelled."""
        if not self.open:
            return
        self._close()
        self._ledger.charge(self.key_id, model=model, credits=credits, premium=premium)
        self._ledger.save_soon()

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
        path: Path | None,
        *,
        premium_budget: float | None = None,
        credit_budget: float | None = None,
        today: Callable[[], dt.date] = utc_today,
    ) -> None:
        self._path = path
        self.premium_budget = premium_budget
        self.credit_budget = credit_budget
        self._today = today
        self._state = _Day(today())
        self._changes = 0  # bumped on each charge
        self._saved = 0  # the change count the file holds
        self._saving: asyncio.Task[None] | None = None  # the one writer, while there is work

    # the state file ---------------------------------------------------------------------------

    def load(self) -> None:
        """Read today's counts from the state file (a blocking read: call it in a thread).

        Reads this version's file and the previous one's (premium requests only)."""
        if self._path is None:
            return
        try:
            state = json.loads(self._path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring the unreadable state file %s: %s", self._path, exc)
            return
        if not isinstance(state, dict) or state.get("day") != self._state.day.isoformat():
            return  # another day's counts (or not ours): today starts from zero
        self._state.premium = _numbers(state.get("premium_requests"))
        credits = state.get("ai_credits")
        if isinstance(credits, dict):
            self._state.credits = {str(k): _numbers(v) for k, v in credits.items() if isinstance(v, dict)}

    def _serialized(self) -> str:
        state = {
            "version": STATE_VERSION,
            "day": self._state.day.isoformat(),
            "premium_requests": self._state.premium,
            "ai_credits": self._state.credits,
        }
        return json.dumps(state, indent=1) + "\n"

    def save_soon(self) -> None:
        """Have the newest counts written, by one background writer (off the event loop);
        charges that come while it writes are saved by its next turn, not by a write each."""
        if self._path is None:  # kept in memory only
            return
        if self._saving is None or self._saving.done():
            self._saving = asyncio.get_running_loop().create_task(self._write_newest())

    async def _write_newest(self) -> None:
        assert self._path is not None
        while self._saved < self._changes:
            wanted, text = self._changes, self._serialized()
            try:
                await asyncio.to_thread(write_atomically, self._path, text)
            except OSError as exc:  # the counts stay right in memory; the next charge tries again
                log.warning("cannot save today's counts to %s: %s", self._path, exc)
                return
            self._saved = wanted
            if self._saved < self._changes:  # busy: one write a second, not one per call
                await asyncio.sleep(SAVE_INTERVAL)

    async def flush(self) -> None:
        """Wait for the counts to be on disk (call before the process ends)."""
        if self._saving is not None:
            await asyncio.shield(self._saving)

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
                return RateLimited(
                    f"the daily budget of {self.premium_budget:g} premium requests is used up "
                    f"({spent:g} spent, {held:g} held by calls in flight); it renews at midnight UTC",
                    code="premium_budget_exceeded", retry_after=seconds_to_utc_midnight())
        if credits > 0 and self.credit_budget is not None:
            spent, held = day.credits_spent(key_id), day.held_credits.get(key_id, 0.0)
            if spent + held + credits > self.credit_budget:
                return RateLimited(
                    f"the daily budget of {self.credit_budget:g} AI credits is used up: "
                    f"{spent:.4g} spent today, {held:.4g} held by calls in flight, and this call "
                    f"may cost up to {credits:.4g}; it renews at midnight UTC",
                    code="credit_budget_exceeded", retry_after=seconds_to_utc_midnight())
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
        _add(day.held_premium, key_id, premium)
        _add(day.held_credits, key_id, credits)
        return Reservation(self, key_id, day.day, premium, credits)

    def unhold(self, reservation: Reservation) -> None:
        day = self._day()
        if reservation.day == day.day:  # a hold from a day gone by lapsed with its day
            _add(day.held_premium, reservation.key_id, -reservation.premium)
            _add(day.held_credits, reservation.key_id, -reservation.credits)

    def charge(self, key_id: str, *, model: str, credits: float, premium: float) -> None:
        """Count what a call cost, on the day it was answered (saved by `save_soon`)."""
        day = self._day()
        if premium > 0:
            _add(day.premium, key_id, premium)
        if credits > 0:
            _add(day.credits.setdefault(key_id, {}), model, credits)
        if premium > 0 or credits > 0:  # a free call changes nothing worth a write
            self._changes += 1

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


def _numbers(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): float(v) for k, v in raw.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
