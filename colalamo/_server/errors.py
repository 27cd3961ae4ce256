"""Errors on the wire: every failure becomes a JSON answer in its API's own format.

Each API surface registers how its errors look (`ErrorFormat`) for its path prefix; the
renderer below (the middleware in front.py calls it) applies it to bad input, upstream
failures, unknown routes and bugs alike, so no client ever sees a traceback or an HTML page.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from .._legacy import status_phrase
from ..exceptions import (
    ColalamoError,
    ContextTooLong,
    InvalidRequest,
    UpstreamError,
    UpstreamStatusError,
)
from .observe import CLIENT_CLOSED, client_gone, note_client_gone, note_upstream_status
from .shutdown import cut_by_shutdown

log = logging.getLogger(__name__)


@dataclass
class ApiError(Exception):
    """A failure to report to the client: what went wrong, in terms any API format can use."""

    status: int
    message: str
    param: str | None = None
    code: str | None = None
    type: str | None = None  # the upstream's own error type, when it gave one
    headers: Mapping[str, str] = field(default_factory=dict)
    #: (prompt tokens, the model's limit) when the prompt did not fit: each format words it
    #: the way its clients recognise (Claude Code compacts on Anthropic's own wording).
    overflow: tuple[int, int] | None = None
    #: what Copilot itself said when it refused (its HTTP reason and body), for `/ask`'s shape
    upstream_reason: str = ""
    upstream_body: str = ""

    @classmethod
    def internal(cls) -> ApiError:
        """A bug of colalamo's: the details go to the log, not to the client."""
        return cls(500, "colalamo hit an internal error; see its log", code="internal_error")

    @classmethod
    def shutting_down(cls) -> ApiError:
        """A request still running when the shutdown grace ended."""
        return cls(503, "colalamo is shutting down and its grace period is over; send the request again",
                   code="server_shutting_down", headers={"Retry-After": "1"})

    @classmethod
    def bad_request(cls, message: str, param: str | None = None) -> ApiError:
        return cls(400, message, param=param, code="invalid_request")

    @classmethod
    def from_exception(cls, exc: ColalamoError) -> ApiError:
        if isinstance(exc, ContextTooLong):
            return cls(exc.status, exc.message, exc.param, exc.code, exc.error_type, exc.headers,
                       overflow=(exc.prompt_tokens, exc.limit), upstream_body=exc.body)
        if isinstance(exc, UpstreamStatusError):
            return cls(exc.status, exc.message, exc.param, exc.code, exc.error_type, exc.headers,
                       upstream_reason=exc.reason, upstream_body=exc.body)
        if isinstance(exc, InvalidRequest):
            return cls(exc.status, exc.message, param=exc.param, code=exc.code)
        return cls(exc.status, exc.message, code=exc.code, headers=getattr(exc, "headers", {}))


class ErrorFormat(Protocol):
    def __call__(self, error: ApiError) -> web.Response: ...


# OpenAI's error `type` by status, as its SDK and docs use them.
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    402: "insufficient_quota",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def openai_error_body(error: ApiError) -> dict[str, Any]:
    error_type = error.type or _OPENAI_TYPES.get(error.status, "api_error")
    return {
        "error": {
            "message": error.message,
            "type": error_type,
            "param": error.param,
            "code": error.code,
        }
    }


def openai_error(error: ApiError) -> web.Response:
    return web.json_response(openai_error_body(error), status=error.status, headers=error.headers)


Renderer = Callable[[web.Request, BaseException], web.StreamResponse]


def error_renderer(formats: list[tuple[str, ErrorFormat]], default: ErrorFormat) -> Renderer:
    """`render(request, exc)`, called while `exc` is being handled: the answer to the failure,
    in the format registered for the request's path prefix. What is no failure to answer (a
    redirect, a client that left, a cancellation that is no shutdown) is raised again."""

    def format_for(path: str) -> ErrorFormat:
        for prefix, fmt in formats:
            if path == prefix or path.startswith(prefix + "/"):
                return fmt
        return default

    def render(request: web.Request, exc: BaseException) -> web.StreamResponse:
        if isinstance(exc, ApiError):
            return format_for(request.path)(exc)
        if isinstance(exc, ColalamoError):
            if isinstance(exc, UpstreamError):
                note_upstream_status(request, exc.status)
            return format_for(request.path)(ApiError.from_exception(exc))
        if isinstance(exc, web.HTTPException):
            if exc.status < 400:
                raise exc
            refusal = ApiError(exc.status, _http_exception_message(request, exc), code=_http_code(exc.status))
            if exc.status == 405 and "Allow" in exc.headers:
                refusal.headers = {"Allow": exc.headers["Allow"]}
            return format_for(request.path)(refusal)
        if isinstance(exc, asyncio.CancelledError):
            if not cut_by_shutdown(request):
                raise exc
            return format_for(request.path)(ApiError.shutting_down())
        if isinstance(exc, ConnectionResetError):
            if not client_gone(request):
                log.exception("unexpected connection reset handling %s %s", request.method, request.path)
                return format_for(request.path)(ApiError.internal())
            return client_left(request)
        if isinstance(exc, Exception):
            log.exception("unexpected error handling %s %s", request.method, request.path)
            return format_for(request.path)(ApiError.internal())
        raise exc  # KeyboardInterrupt, SystemExit, GeneratorExit: not ours to answer

    return render


def client_left(request: web.Request) -> web.Response:
    """What to hand aiohttp when the client left while colalamo answered (a reset during
    prepare() or a write): no error of colalamo's, so no traceback. aiohttp cannot send it,
    and logs it as the access line, with nginx's 499."""
    note_client_gone(request)
    response = web.Response(status=CLIENT_CLOSED)
    response.force_close()
    return response


def _http_exception_message(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 404:
        return f"no such route: {request.method} {request.path}"
    if exc.status == 405:
        return f"{request.method} is not allowed on {request.path}"
    if exc.status == 413:
        return "the request body is too large"
    return exc.text or status_phrase(exc.status)


def _http_code(status: int) -> str | None:
    return {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(status)
