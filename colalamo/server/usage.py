"""`GET /usage`: the account's plan and quotas, and what colalamo counted today: AI credits
(per model, and per key) and premium requests, against the daily budgets."""

from __future__ import annotations

from aiohttp import web

from ..upstream.context import current_call
from .keys import CORE


async def usage(request: web.Request) -> web.Response:
    core = request.app[CORE]
    account = await core.quota()
    account["colalamo"] = await core.state.budgets.today(current_call().key_id)
    return web.json_response(account)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/usage", usage)
