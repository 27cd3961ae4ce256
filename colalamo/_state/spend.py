"""The day's spending in the database: per UTC day, key and model, the AI credits and premium
requests charged, which every process on the machine adds to and reads back (so a restart,
and the other `--workers`, find today's counts). The budgets (upstream/ledger.py) sync with it.

The JSON state file of earlier versions is read once, the first time the database is opened
beside it, so an upgrade keeps today's counts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from .._upstream.ledger import Charge, Spent
from .database import Database

log = logging.getLogger(__name__)

IMPORTED = "state_file_imported"


class SqliteSpend:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def sync(self, day: dt.date, charges: list[Charge]) -> Spent:
        """Add `charges`, then read `day`'s totals, in one transaction: the totals include
        every charge given so far, this process's and the others'."""
        return await self._database.run(lambda connection: _sync(connection, day.isoformat(), charges))

    async def import_state_file(self, path: Path) -> None:
        """Today's counts from an earlier version's state file, once (then the file goes)."""
        imported = await self._database.run(lambda connection: _import(connection, path))
        if imported:
            log.info("today's counts from %s are now in %s", path, self._database.path)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError:
            pass


def _add(connection: sqlite3.Connection, charges: list[Charge]) -> None:
    connection.executemany(
        "INSERT INTO spend (day, key_id, model, credits, premium) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (day, key_id, model) DO UPDATE SET credits = credits + excluded.credits, "
        "premium = premium + excluded.premium",
        [(c.day.isoformat(), c.key_id, c.model, c.credits, c.premium) for c in charges])


def _sync(connection: sqlite3.Connection, day: str, charges: list[Charge]) -> Spent:
    if charges:
        _add(connection, charges)
    spent = Spent()
    for key_id, model, credits, premium in connection.execute(
            "SELECT key_id, model, credits, premium FROM spend WHERE day = ?", (day,)):
        if premium:
            spent.premium[key_id] = spent.premium.get(key_id, 0.0) + premium
        if credits:
            spent.credits.setdefault(key_id, {})[model] = credits
    return spent


def _import(connection: sqlite3.Connection, path: Path) -> bool:
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        log.warning("ignoring the unreadable state file %s: %s", path, exc)
        return False
    connection.execute("BEGIN IMMEDIATE")  # several workers start at once: one imports it
    if connection.execute("SELECT 1 FROM meta WHERE name = ?", (IMPORTED,)).fetchone():
        return False
    connection.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (IMPORTED, str(path)))
    charges = _charges(state)
    if charges:
        _add(connection, charges)
    return bool(charges)


def _charges(state: Any) -> list[Charge]:
    """Today's counts in a state file (version 2, or 1: premium requests only)."""
    today = dt.datetime.now(dt.timezone.utc).date()
    if not isinstance(state, dict) or state.get("day") != today.isoformat():
        return []  # another day's counts: today starts from zero
    premium_by_key = _numbers(state.get("premium_requests"))
    charges = [Charge(today, key, "-", 0.0, premium) for key, premium in premium_by_key.items()]
    credits = state.get("ai_credits")
    for key, by_model in (credits.items() if isinstance(credits, dict) else ()):
        charges += [Charge(today, str(key), model, amount, 0.0) for model, amount in _numbers(by_model).items()]
    return charges


def _numbers(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): float(v) for k, v in raw.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
