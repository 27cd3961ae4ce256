"""`GET /usage`: the account's plan and quotas, and today's premium requests counted here."""

from __future__ import annotations

from aiohttp import web

from ..upstream.context import current_call
from .keys import CORE


async def usage(request: web.Request) -> web.Response:
    core = request.app[CORE]
    account = await core.quota()
    ledger = core.copilot.ledger
    key_id = current_call().key_id
    account["colalamo"] = {
        "premium_requests_today": ledger.spent(key_id),
        "premium_budget": ledger.budget,
        "key": key_id,
    }
    return web.json_response(account)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/usage", usage)
