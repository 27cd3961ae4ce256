"""The status page: `GET /` for a browser (files inside the package, no inline script, no
third-party origin), `GET /status` (and `GET /` asking for JSON) with the same facts, and the
device-flow login from the page (`POST /status/login`, polled through `/status`).

Access: with no API keys the page and its JSON are open (loopback, or --no-auth); with keys,
the HTML and its files are open (they hold nothing) but every JSON call behind them needs a key,
so logging in from the page is allowed only to a request carrying one. COLALAMO_UI=0 turns
the page off; `GET /` then answers the small JSON that names colalamo, as it always does to
probes (clients that do not ask for HTML).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib.resources import files

from aiohttp import web

from ..access import checked_key
from ..app_keys import CORE, SETTINGS
from ..errors import ApiError
from ..traffic import TRAFFIC, TrafficStore
from ..traffic import WINDOWS as USAGE_WINDOWS
from . import facts
from .login import PageLogin

STATIC_PREFIX = "/ui/"
STATIC = files(__package__) / "static"
#: Everything the page loads comes from colalamo itself; scripts only from files.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
FILES = web.AppKey("page_files", dict)
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}


def add_routes(app: web.Application) -> None:
    """`GET /` (HEAD too) always; the page, its files and its JSON unless COLALAMO_UI=0."""
    app[TRAFFIC] = TrafficStore()
    app.router.add_get("/", root)
    if not app[SETTINGS].ui:
        return
    app.cleanup_ctx.append(_page_login_lifecycle)
    app.router.add_get("/status", status)
    app.router.add_post("/status/login", start_login)
    app.router.add_get(STATIC_PREFIX + "{name}", static_file)


async def _page_login_lifecycle(app: web.Application) -> AsyncIterator[None]:
    app[FILES] = await asyncio.to_thread(_read_files)  # a few small files, read once
    app[facts.PAGE_LOGIN] = login = PageLogin(app[CORE])
    app[facts.QUOTA_CACHE] = {}
    yield
    await login.stop()


def wants_html(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "") and not wants_html(request)


def _read_files() -> dict[str, bytes]:
    return {entry.name: entry.read_bytes() for entry in STATIC.iterdir()
            if entry.is_file() and "." + entry.name.rsplit(".", 1)[-1] in TYPES}


async def root(request: web.Request) -> web.StreamResponse:
    ui = request.app[SETTINGS].ui
    if ui and wants_html(request):
        return _file(request, "index.html")
    if ui and wants_json(request):
        return await status(request)
    return web.json_response(facts.identity())  # probes (HEAD / included): cheap, open


async def status(request: web.Request) -> web.Response:
    _check_key(request)
    window = request.query.get("window", "hour")
    if window not in USAGE_WINDOWS:
        raise ApiError(400, f"window must be one of {', '.join(USAGE_WINDOWS)}, not {window!r}",
                       param="window", code="invalid_window")
    return web.json_response(await facts.status(request, window), headers={"Cache-Control": "no-store"})


async def start_login(request: web.Request) -> web.Response:
    """Start the device flow (the page then polls `/status`). Needs a key when keys are set:
    a stranger must not bind an exposed colalamo to their own GitHub account."""
    _check_key(request)
    core = request.app[CORE]
    if core.logged_in:
        raise ApiError(409, "colalamo is already logged in to GitHub; `colalamo logout` first to change accounts",
                       code="already_logged_in")
    login = request.app[facts.PAGE_LOGIN]
    login.start()
    return web.json_response(login.state(), status=202)


def _check_key(request: web.Request) -> None:
    """`/` is open to probes, so its JSON checks the key here; `/status` is checked by the auth
    middleware too, this is the same rule."""
    keys = request.app[SETTINGS].api_keys
    if keys:
        checked_key(request, keys)


async def static_file(request: web.Request) -> web.Response:
    return _file(request, request.match_info["name"])


def _file(request: web.Request, name: str) -> web.Response:
    body = request.app[FILES].get(name)
    if body is None:
        raise ApiError(404, f"the page has no file {name!r}", code="not_found")
    response = web.Response(body=body, content_type=TYPES["." + name.rsplit(".", 1)[-1]], charset="utf-8")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response
