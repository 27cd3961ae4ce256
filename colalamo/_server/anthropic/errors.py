"""Errors in Anthropic's format: `{"type": "error", "error": {"type", "message"}}`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..errors import ApiError

ANTHROPIC_TYPES = frozenset({
    "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
    "request_too_large", "rate_limit_error", "api_error", "overloaded_error", "billing_error",
})
_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
    503: "overloaded_error",
}


def anthropic_error_body(error: ApiError) -> dict[str, Any]:
    kind = error.type if error.type in ANTHROPIC_TYPES else _BY_STATUS.get(error.status, "api_error")
    message = error.message
    if error.overflow is not None:  # the wording Claude Code compacts its conversation on
        kind = "invalid_request_error"
        message = f"prompt is too long: {error.overflow[0]} tokens > {error.overflow[1]} maximum"
    return {"type": "error", "error": {"type": kind, "message": message}}


def anthropic_error(error: ApiError) -> web.Response:
    return web.json_response(anthropic_error_body(error), status=error.status, headers=error.headers)
