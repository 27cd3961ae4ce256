"""Relaying a stream to the client as SSE, the same way for every API surface.

Opening the stream may fail (Copilot refused the request): that propagates before any byte is
sent and becomes a plain error response with its status. Once streaming, a failure is too late
for a status code: the client gets an error event in its API's format and the stream closes
without its normal ending, so no client takes half an answer for a whole one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from ..exceptions import UpstreamError
from .app_keys import SETTINGS
from .errors import ApiError
from .metrics import METRICS
from .observe import note_client_gone, note_first_byte, note_upstream_status, note_usage
from .shutdown import cut_by_shutdown
from .sse_writer import Keepalive, open_event_stream

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
        note_upstream_status(request, exc.status)
        return ApiError.from_exception(exc)
    log.exception("unexpected error in the middle of a stream")
    return ApiError.internal()


class Batches(Protocol):
    """What `relay` sends: payloads, a list at a time (a list per upstream read)."""

    def batches(self) -> AsyncIterator[list[Any]]: ...


async def relay(
    request: web.Request,
    stream: AbstractAsyncContextManager[Batches],
    fmt: StreamFormat,
) -> web.StreamResponse:
    async with stream as source:
        response = await open_event_stream(request)
        try:
            return await _send(request, response, source, fmt)
        finally:
            note_usage(request, getattr(source, "usage", None))


async def _send(request: web.Request, response: web.StreamResponse, source: Batches,
                fmt: StreamFormat) -> web.StreamResponse:
    metrics = request.app[METRICS]
    metrics.streams_in_flight += 1
    writer = Keepalive(response, fmt.keepalive, request.app[SETTINGS].stream_keepalive)
    ending = b""  # what goes with the end of the body: the format's ending, once the answer is whole
    first = True
    try:
        async for batch in source.batches():
            if first:
                note_first_byte(request)
                first = False
            # one write per batch: a write per event costs far more than building them
            await writer.write(b"".join(map(fmt.event, batch)))
        failure = getattr(source, "failure", None)
        if failure is not None:  # the format ended the broken stream its own way: still a failure
            _error_for(request, failure)
        ending = fmt.end
    except asyncio.CancelledError:
        if not cut_by_shutdown(request):
            raise
        # the shutdown grace is over: say so, in the route's format, and end the body properly
        if not await _written(response, fmt.error(ApiError.shutting_down())):
            note_client_gone(request)
            return response
    except ConnectionResetError:
        log.info("the client left mid-stream; the upstream request is dropped")
        note_client_gone(request)
        return response
    except Exception as exc:
        if not await _written(response, fmt.error(_error_for(request, exc))):
            note_client_gone(request)
            return response
    finally:
        await writer.stop()
        metrics.streams_in_flight -= 1
    # The ending and the end of the body go in one write. A client that read the end of the
    # answer may close before the chunked ending is written (openai-python does, under load):
    # it has the whole answer, so that is no error; one that left before the ending is gone.
    if not await _written(response, ending, eof=True) and ending:
        note_client_gone(request)
    return response


async def _written(response: web.StreamResponse, data: bytes, *, eof: bool = False) -> bool:
    """Write `data` (with `eof`, and the end of the body); False when the client has gone."""
    try:
        await (response.write_eof(data) if eof else response.write(data))
    except ConnectionResetError:
        log.debug("the client closed the connection at the end of the stream")
        return False
    return True
