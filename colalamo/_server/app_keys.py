"""Typed application state (aiohttp `web.AppKey`), and the handler type middlewares wrap."""

from collections.abc import Awaitable, Callable

from aiohttp import web

from .._core import Core
from ..config import Settings

SETTINGS = web.AppKey("settings", Settings)
CORE = web.AppKey("core", Core)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
