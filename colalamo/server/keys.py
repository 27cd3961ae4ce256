"""Typed application state (aiohttp `web.AppKey`)."""

from aiohttp import web

from ..config import Settings
from ..core import Core

SETTINGS = web.AppKey("settings", Settings)
CORE = web.AppKey("core", Core)
