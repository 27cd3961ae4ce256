"""The request ledger: one row per API request, for looking back ("what did my agents spend
this week, on which model?"). Never message content, never a key (its hashed id only).

A request queues its row (`record`, no I/O); the database writes the rows in batches in the
background, and drops those older than COLALAMO_HISTORY_DAYS (`prune`).
"""

from __future__ import annotations

import datetime as dt
import socket
import sqlite3
import time
from functools import lru_cache, partial
from typing import Any, NamedTuple

from .database import Database

DIGITS = 6


class RequestRow(NamedTuple):
    """A tuple, not a frozen dataclass: one is made per request, and a frozen dataclass's
    __init__ costs several times a tuple's (an object.__setattr__ call per field)."""

    at: float  # epoch seconds, when it ended
    key_id: str  # "default", or "key-" and a hash of the key (as in the metrics)
    client: str  # from the User-Agent: claude-code, codex, openai-python, ...
    surface: str  # chat, messages, responses, ...
    model_asked: str | None
    model_used: str | None  # the Copilot model charged (after aliases and budget fallback)
    endpoint: str | None  # the Copilot endpoint that answered: /chat/completions, /responses, /v1/messages
    initiator: str | None  # user or agent, as Copilot was told
    interaction: str | None  # the interaction type Copilot was told
    status: int
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None
    credits: float
    premium: float
    latency_ms: float | None
    ttft_ms: float | None


def utc_day(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).date().isoformat()


@lru_cache(maxsize=4)
def _day_named(day_number: int) -> str:
    """The ISO date of the `day_number`th UTC day since the epoch: the rows of a batch fall
    on one or two days, so each is named once, not once a row."""
    return utc_day(day_number * 86400)


_INSERT = (
    "INSERT INTO requests (at, day, key_id, client, surface, model_asked, model_used, endpoint, initiator, "
    "interaction, status, prompt_tokens, completion_tokens, cached_tokens, credits, premium, latency_ms, ttft_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert(connection: sqlite3.Connection, rows: list[RequestRow]) -> None:
    # The row's own order, with its UTC day second (the table's column order).
    connection.executemany(_INSERT, [(row[0], _day_named(int(row[0] // 86400)), *row[1:]) for row in rows])


_SUMMARY = """
SELECT day, COALESCE(model_used, model_asked, '-'), key_id, client, COUNT(*), SUM(status >= 400),
       SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), SUM(credits), SUM(premium)
FROM requests WHERE day >= ? {and_key}
GROUP BY 1, 2, 3, 4 ORDER BY 1 DESC, 10 DESC, 5 DESC
"""
_COLUMNS = ("day", "model", "key", "client", "requests", "errors", "prompt_tokens", "completion_tokens",
            "cached_tokens", "ai_credits", "premium_requests")
_SUMMED = _COLUMNS[4:]


class SqliteHistory:
    def __init__(self, database: Database, keep_days: int) -> None:
        self._database = database
        self.keep_days = keep_days
        # The rows queued since the database's writer last took its batch: they go in one
        # write (one executemany), not one queued write each. Appended to on the event loop
        # only; once the writer took the batch (`taken` moved on), a new list starts, so the
        # database's thread never reads a list still growing.
        self._rows: list[RequestRow] = []
        self._rows_batch = -1

    def record(self, row: RequestRow) -> None:
        if self._rows_batch == self._database.taken:
            self._rows.append(row)
            return
        self._rows, self._rows_batch = [row], self._database.taken
        self._database.enqueue(partial(_insert, rows=self._rows))

    async def summary(self, days: int, key_id: str | None = None) -> dict[str, Any]:
        """Per day, model, key and client over the last `days` UTC days (today included)."""
        await self._database.flush()  # this process's latest rows are in it
        since = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=days - 1)).isoformat()
        query = _SUMMARY.format(and_key="AND key_id = ?" if key_id is not None else "")
        params = (since, key_id) if key_id is not None else (since,)
        found = await self._database.run(lambda connection: connection.execute(query, params).fetchall())
        rows = [_tidy(dict(zip(_COLUMNS, values, strict=True))) for values in found]
        totals = {name: sum(row[name] or 0 for row in rows) for name in _SUMMED}
        return {
            "days": days,
            "since": since,
            "kept_days": self.keep_days,
            "machine": socket.gethostname(),  # each machine keeps its own ledger
            "rows": rows,
            "totals": _tidy(totals),
        }


def _tidy(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("ai_credits", "premium_requests"):
        row[name] = round(row[name] or 0.0, DIGITS)
    return row


def prune_history(connection: sqlite3.Connection, keep_days: int, now: float | None = None) -> int:
    """Drop the rows older than `keep_days` days; how many went."""
    cutoff = (time.time() if now is None else now) - keep_days * 86400
    gone = connection.execute("DELETE FROM requests WHERE at < ?", (cutoff,)).rowcount
    connection.execute("DELETE FROM spend WHERE day < ?", (utc_day(cutoff),))
    return gone


class NoHistory:
    """Keeps nothing (a process with no database to write to)."""

    def record(self, row: RequestRow) -> None:
        pass

    async def summary(self, days: int, key_id: str | None = None) -> dict[str, Any]:
        return {"days": days, "rows": [], "totals": {}, "kept_days": 0,
                "error": "colalamo could not open its database: no history is kept"}
