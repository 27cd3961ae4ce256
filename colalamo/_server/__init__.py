"""The HTTP server: OpenAI-compatible routes, the legacy /ask route, and how to run them."""

from .app import create_app
from .runner import serve, start_server

__all__ = ["create_app", "serve", "start_server"]
