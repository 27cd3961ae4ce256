"""The OpenAI Responses API: `/v1/responses`."""

from .route import add_routes

__all__ = ["add_routes"]
