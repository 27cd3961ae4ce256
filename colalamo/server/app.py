"""The aiohttp application: routes of each API surface, errors, and the core's lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ..config import Settings
from ..core import Core
from . import anthropic, legacy, openai, responses
from .errors import error_middleware, openai_error
from .keys import CORE, SETTINGS


def create_app(settings: Settings) -> web.Application:
    """The colalamo server app. Starting it logs in if needed and gets a Copilot token."""
    app = web.Application(
        middlewares=[
            error_middleware(
                formats=[
                    (legacy.PREFIX, legacy.legacy_error_response),
                    (anthropic.PREFIX, anthropic.anthropic_error),
                ],
                default=openai_error,
            )
        ]
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_core_lifecycle)
    openai.add_routes(app)
    anthropic.add_routes(app)
    responses.add_routes(app)
    legacy.add_routes(app)
    return app


async def _core_lifecycle(app: web.Application) -> AsyncIterator[None]:
    # One HTTP session, one token manager, per process: opened before serving, closed after.
    async with Core(app[SETTINGS]) as core:
        app[CORE] = core
        yield
