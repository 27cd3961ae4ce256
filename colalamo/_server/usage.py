"""`GET /usage`: the account's plan and quotas, and what colalamo counted today: AI credits
(per model, and per key) and premium requests, against the daily budgets. With `?days=N`,
also the request ledger of the last N UTC days, per day, model, key and client."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .._upstream.context import current_call
from ..exceptions import InvalidRequest
from .app_keys import CORE

MAX_DAYS = 3660


def days_asked(raw: str | None) -> int | None:
    """The `days` query parameter: None when absent, else a whole number from 1 to MAX_DAYS."""
    if raw is None:
        return None
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise InvalidRequest(f"days must be a whole number from 1 to {MAX_DAYS}, not {raw[:40]!r}", param="days")
    return days


async def usage(request: web.Request) -> web.Response:
    days = days_asked(request.query.get("days"))
    core = request.app[CORE]
    account: dict[str, Any] = await core.quota()
    account["colalamo"] = await core.state.budgets.today(current_call().key_id)
    if days is not None:
        account["history"] = await core.state.history.summary(days)
    return web.json_response(account)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/usage", usage)
