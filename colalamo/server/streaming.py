"""Relaying a stream to the client as SSE, the same way for every API surface.

Opening the stream may fail (Copilot refused the request): that propagates before any byte is
sent and becomes a plain error response with its status. Once streaming, a failure is too late
for a status code: the client gets an error event in its API's format and the stream closes
without its normal ending, so no client takes half an answer for a whole one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..exceptions import UpstreamError
from .errors import ApiError
from .keys import SETTINGS
from .metrics import METRICS
from .observe import UPSTREAM_STATUS, note_first_byte, note_usage
from .sse import open_event_stream, with_keepalive

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamFormat:
    """How one API writes its events, its keep-alives, its errors and its ending."""

    event: Callable[[Any], bytes]
    keepalive: bytes
    error: Callable[[ApiError], bytes]
    end: bytes = b""


def _error_for(request: web.Request, exc: Exception) -> ApiError:
    if isinstance(exc, UpstreamError):
        log.warning("stream failed mid-way: %s", exc.message)
        request[UPSTREAM_STATUS] = exc.status
        return ApiError.from_exception(exc)
    log.exception("unexpected error in the middle of a stream")
    return ApiError(500, "colalamo hit an internal error; see its log", code="internal_error")


async def relay(
    request: web.Request,
    stream: AbstractAsyncContextManager[AsyncIterable[Any]],
    fmt: StreamFormat,
) -> web.StreamResponse:
    async with stream as payloads:
        response = await open_event_stream(request)
        try:
            return await _send(request, response, payloads, fmt)
        finally:
            note_usage(request, getattr(payloads, "usage", None))


async def _send(
    request: web.Request, response: web.StreamResponse, payloads: AsyncIterable[Any], fmt: StreamFormat
) -> web.StreamResponse:
    interval = request.app[SETTINGS].stream_keepalive
    in_flight = request.app[METRICS].streams
    in_flight.inc()
    try:
        async for payload in with_keepalive(payloads, interval):
            if payload is None:
                await response.write(fmt.keepalive)
                continue
            note_first_byte(request)
            await response.write(fmt.event(payload))
        if fmt.end:
            await response.write(fmt.end)
    except ConnectionResetError:
        log.info("the client left mid-stream; the upstream request is dropped")
        return response
    except Exception as exc:
        await response.write(fmt.error(_error_for(request, exc)))
    finally:
        in_flight.dec()
    await response.write_eof()
    return response
