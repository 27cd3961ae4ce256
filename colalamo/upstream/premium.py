"""Premium requests: what each call costs, how many were spent today, and the daily budget.

Copilot bills a premium request, times the model's `billing.multiplier`, for each
user-initiated call to a premium model. colalamo counts the same way, per API key, and keeps
the day's counts in a small state file beside the token (replaced atomically), so a restart
does not reset a budget.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._files import write_atomically

log = logging.getLogger(__name__)


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def seconds_to_utc_midnight() -> float:
    now = dt.datetime.now(dt.timezone.utc)
    tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    return (tomorrow - now).total_seconds()


def premium_cost(info: Mapping[str, Any] | None, initiator: str) -> float:
    """Premium requests one call costs: the multiplier for a person's turn on a premium model."""
    billing = (info or {}).get("billing") or {}
    if initiator != "user" or not billing.get("is_premium"):
        return 0.0
    try:
        return float(billing.get("multiplier", 1.0))
    except (TypeError, ValueError):
        return 1.0


class PremiumLedger:
    def __init__(self, path: Path, budget: float | None, today: Callable[[], dt.date] = utc_today) -> None:
        self._path = path
        self.budget = budget
        self._today = today
        self._day = today()
        self._spent: dict[str, float] = {}
        self._write_lock = asyncio.Lock()

    def load(self) -> None:
        """Read today's counts from the state file (a blocking read: call it in a thread)."""
        try:
            state = json.loads(self._path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring the unreadable state file %s: %s", self._path, exc)
            return
        if isinstance(state, dict) and state.get("day") == self._day.isoformat():
            spent = state.get("premium_requests") or {}
            self._spent = {str(k): float(v) for k, v in spent.items() if isinstance(v, (int, float))}

    def _roll(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._spent = today, {}

    def spent(self, key_id: str) -> float:
        self._roll()
        return self._spent.get(key_id, 0.0)

    def allows(self, key_id: str, cost: float) -> bool:
        return self.budget is None or cost == 0 or self.spent(key_id) + cost <= self.budget

    async def charge(self, key_id: str, cost: float) -> None:
        if cost <= 0:
            return
        self._roll()
        self._spent[key_id] = self._spent.get(key_id, 0.0) + cost
        async with self._write_lock:  # one writer at a time, each writing the newest counts
            state = json.dumps({"day": self._day.isoformat(), "premium_requests": self._spent}, indent=1)
            await asyncio.to_thread(write_atomically, self._path, state + "\n")
