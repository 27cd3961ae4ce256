"""The Anthropic Messages API: `/v1/messages` and `/v1/messages/count_tokens`."""

from aiohttp import web

from . import messages
from .errors import anthropic_error

PREFIX = "/v1/messages"

__all__ = ["PREFIX", "add_routes", "anthropic_error"]


def add_routes(app: web.Application) -> None:
    app.router.add_post(PREFIX, messages.messages)
    app.router.add_post(f"{PREFIX}/count_tokens", messages.count_tokens)
