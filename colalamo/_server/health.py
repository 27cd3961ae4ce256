"""`GET /health` (the process serves), `GET /ready` (it can answer: a valid Copilot token is
held and the last refresh did not fail) and `GET /` (what this is; clients such as Claude Code
send `HEAD /` before they start). None needs a key: probes have none."""

from __future__ import annotations

import os
import time

from aiohttp import web

from .app_keys import CORE


async def health(request: web.Request) -> web.Response:
    # the pid tells replicas and --workers processes apart
    answer: dict[str, object] = {"status": "ok", "pid": os.getpid()}
    redis = redis_up(request.app)
    if redis is not None:  # Redis down is no failure here (nor for /ready): the process goes on alone
        answer["redis"] = "up" if redis else "down"
    return web.json_response(answer)


def redis_up(app: web.Application) -> bool | None:
    """Whether the Redis the replicas share answers now; None when none is configured."""
    core = app.get(CORE)
    try:
        return core.state.redis_up() if core is not None else None
    except RuntimeError:  # the core is not started
        return None


async def ready(request: web.Request) -> web.Response:
    core = request.app[CORE]
    if not core.logged_in:
        return web.json_response({"status": "not ready", "reason": "not logged in to GitHub yet: open colalamo's "
                                  "page in a browser, or run `colalamo login`"}, status=503)
    tokens = core.tokens
    token = tokens.token
    if token is None:
        reason = "no Copilot token yet: " + (
            tokens.last_error.message if tokens.last_error is not None
            else "waiting for GitHub to answer the token request")
    elif not token.is_usable(time.time()):
        reason = "the Copilot token has expired"
    elif tokens.last_error is not None:
        reason = f"the last token refresh failed: {tokens.last_error.message}"
    else:
        return web.json_response({"status": "ready", "token_expires_in": round(token.expires_at - time.time())})
    return web.json_response({"status": "not ready", "reason": reason}, status=503)


def add_routes(app: web.Application) -> None:
    # `/` (HEAD too) is the status page's: HTML for a browser, the JSON naming colalamo else
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
