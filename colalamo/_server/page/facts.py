"""The facts the status page shows, as one JSON document (`GET /status`): the account, the
login, the budgets, the back-off, the models, the usage and the try-it lines."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from ..._cli.agents.clients import claude_snippet, codex_snippet
from ..._cli.agents.models import pick_claude_code, pick_codex
from ..._core import Core
from ..._upstream.pricing import token_prices
from ..._version import __version__
from ...exceptions import ColalamoError, RateLimited
from ..app_keys import CORE, SETTINGS
from ..observe import call_of
from ..traffic import TRAFFIC
from .login import PageLogin

QUOTA_TTL = 60.0  # seconds GitHub's plan and quota answer is reused: the page polls often
APIS = {"openai": "/v1", "anthropic": "/v1/messages", "responses": "/v1/responses", "legacy": "/ask"}
PAGE_LOGIN = web.AppKey("page_login", PageLogin)
QUOTA_CACHE = web.AppKey("quota_cache", dict)


def identity() -> dict[str, Any]:
    """What `GET /` answers a probe: enough to recognise colalamo (the launchers read `name`)."""
    return {"name": "colalamo", "version": __version__, "apis": APIS}


async def status(request: web.Request, window: str) -> dict[str, Any]:
    app = request.app
    core = app[CORE]
    traffic = app[TRAFFIC]
    catalogue = await models(core)
    return {
        **identity(),
        "access": {"keys_required": bool(app[SETTINGS].api_keys)},
        "account": await account(app, core),
        "login": app[PAGE_LOGIN].state(),
        "budgets": await budgets(request, core),
        "backoff": backoff(core),
        "models": [model_row(m) for m in catalogue],
        "usage": traffic.usage(window),
        "recent": traffic.recent(),
        "try_it": try_it(request, catalogue),
    }


async def account(app: web.Application, core: Core) -> dict[str, Any]:
    if not core.logged_in:
        return {"logged_in": False}
    facts: dict[str, Any] = {"logged_in": True}
    token = core.tokens.token
    facts["copilot_token_expires_in"] = None if token is None else round(token.expires_at - time.time())
    cache = app[QUOTA_CACHE]
    if cache.get("until", 0.0) < time.monotonic():
        try:
            cache["value"] = {**await core.quota(), "error": None}
        except ColalamoError as exc:  # the page still shows the rest
            cache["value"] = {"error": exc.message}
        cache["until"] = time.monotonic() + QUOTA_TTL
    facts.update(cache["value"])
    return facts


async def budgets(request: web.Request, core: Core) -> dict[str, Any]:
    settings = core.settings
    call = call_of(request)
    today = await core.state.budgets.today(call.key_id if call is not None else None) if core.logged_in else None
    return {"premium_budget": settings.premium_budget, "credit_budget": settings.credit_budget, "today": today}


def backoff(core: Core) -> dict[str, Any]:
    """The account-wide pause after Copilot's 429s, read through its own check."""
    if not core.logged_in:
        return {"active": False, "retry_in": None}
    try:
        core.copilot.transport.backoff.check()
    except RateLimited as exc:
        return {"active": True, "retry_in": float(exc.headers["Retry-After"])}
    return {"active": False, "retry_in": None}


async def models(core: Core) -> list[dict[str, Any]]:
    """Copilot's catalogue; empty while logged out or when it cannot be had."""
    if not core.logged_in:
        return []
    try:
        return await core.copilot.models()
    except ColalamoError:
        return []


def model_row(model: Mapping[str, Any]) -> dict[str, Any]:
    caps = model.get("capabilities") or {}
    limits = caps.get("limits") or {}
    supports = caps.get("supports") or {}
    billing = model.get("billing") or {}
    prices = token_prices(model)
    return {
        "id": model.get("id"),
        "name": model.get("name"),
        "vendor": model.get("vendor"),
        "type": caps.get("type"),
        "endpoints": model.get("supported_endpoints") or ["/chat/completions"],
        "context": limits.get("max_context_window_tokens"),
        "max_output": limits.get("max_output_tokens"),
        "premium": bool(billing.get("is_premium")),
        "multiplier": billing.get("multiplier"),
        # AI credits per million tokens (Copilot's batch size), input / output
        "price_in": None if prices is None else round(prices.default.input * 1e6 / prices.batch_size, 4),
        "price_out": None if prices is None else round(prices.default.output * 1e6 / prices.batch_size, 4),
        "vision": bool(supports.get("vision")),
        "tools": bool(supports.get("tool_calls")),
        "reasoning": any(("reasoning" in k or "thinking" in k) and v for k, v in supports.items()),
    }


def try_it(request: web.Request, catalogue: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Copy-paste lines pointed at this server, as the browser reached it; the Claude Code and
    Codex lines are `colalamo env`'s, with the models it would pick."""
    base = f"{request.scheme}://{request.host}"
    keyed = bool(request.app[SETTINGS].api_keys)
    auth = ' -H "Authorization: Bearer $COLALAMO_API_KEY"' if keyed else ""
    model = request.app[SETTINGS].model
    key = 'os.environ["COLALAMO_API_KEY"]' if keyed else '"unused"'
    return {
        "base_url": base,
        "key_required": keyed,
        "snippets": {
            "curl": (f"curl {base}/v1/chat/completions{auth} -H 'Content-Type: application/json' \\\n"
                     f"  -d '{{\"model\": \"{model}\", "
                     f"\"messages\": [{{\"role\": \"user\", \"content\": \"Hello!\"}}]}}'"),
            "openai-python": ("import os\nfrom openai import OpenAI\n\n"
                              f"client = OpenAI(base_url=\"{base}/v1\", api_key={key})\n"
                              f"reply = client.chat.completions.create(model=\"{model}\",\n"
                              "    messages=[{\"role\": \"user\", \"content\": \"Hello!\"}])\n"
                              "print(reply.choices[0].message.content)"),
            "claude-code": claude_snippet(base, keyed, pick_claude_code(catalogue)),
            "codex": codex_snippet(base, keyed, pick_codex(catalogue)),
        },
    }
