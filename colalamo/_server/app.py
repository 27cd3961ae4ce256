"""The aiohttp application: each API surface's routes, the middlewares every request passes,
and the core's lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from .._core import Core
from .._upstream.pacing import PACING, Pacing
from ..config import Settings
from . import anthropic, ask, health, models, openai, page, responses, usage
from .access import enable_cors
from .app_keys import CORE, SETTINGS
from .errors import error_renderer, openai_error
from .front import front_door
from .limits import ConcurrencyLimit
from .metrics import METRICS, Metrics, metrics_route
from .observe import add_response_headers
from .shutdown import IN_FLIGHT, InFlight

MB = 1024 * 1024


def create_app(settings: Settings, *, login_from_page: bool = False, pacing: Pacing = PACING) -> web.Application:
    """The colalamo server app. Starting it logs in if needed and gets a Copilot token;
    with `login_from_page` (and the page on) it serves logged out until the page logs it in.
    `pacing`: the product's waits before asking GitHub or Copilot again, or a test's quicker ones."""
    in_flight = InFlight()  # shutdown waits for these, then cuts them (server/shutdown.py)
    render = error_renderer(
        formats=[
            (ask.PREFIX, ask.legacy_error_response),
            (anthropic.PREFIX, anthropic.anthropic_error),
        ],
        default=openai_error,
    )
    # in flight, request id, metrics, errors and auth, in one middleware (server/front.py)
    middlewares = [front_door(in_flight, render)]
    limiter = None
    if settings.max_concurrency:
        limiter = ConcurrencyLimit(settings.max_concurrency, settings.max_queue, settings.queue_timeout)
        middlewares.append(web.middleware(limiter))
    app = web.Application(middlewares=middlewares, client_max_size=int(settings.max_body_mb * MB))
    app[SETTINGS] = settings
    app[METRICS] = Metrics(app)
    app[IN_FLIGHT] = in_flight
    if limiter is not None:
        app[METRICS].queued.set_function(lambda: limiter.waiting)
    app.cleanup_ctx.append(_core_lifecycle(wait_for_login=login_from_page and settings.ui, pacing=pacing))
    app.on_response_prepare.append(add_response_headers)
    health.add_routes(app)
    page.add_routes(app)
    app.router.add_get("/metrics", metrics_route)
    openai.add_routes(app)
    models.add_routes(app)
    anthropic.add_routes(app)
    responses.add_routes(app)
    ask.add_routes(app)
    usage.add_routes(app)
    if settings.cors_origins:
        enable_cors(app, settings.cors_origins)
    return app


def _core_lifecycle(*, wait_for_login: bool, pacing: Pacing) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        # One HTTP session, one token manager, per process: opened before serving, closed
        # after. The first Copilot token is asked for once the port is bound (runner.py).
        async with Core(app[SETTINGS], wait_for_login=wait_for_login, token_at_start=False, pacing=pacing) as core:
            app[CORE] = core
            yield
    return lifecycle
