"""Relaying a stream to the client as SSE, the same way for every API surface.

Opening the stream may fail (Copilot refused the request): that propagates before any byte is
sent and becomes a plain error response with its status. Once streaming, a failure is too late
for a status code: the client gets an error event in its API's format and the stream closes
without its normal ending, so no client takes half an answer for a whole one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from aiohttp import web

from ..exceptions import UpstreamError
from .errors import ApiError
from .keys import SETTINGS
from .metrics import METRICS
from .observe import UPSTREAM_STATUS, note_first_byte, note_usage
from .sse import Keepalive, open_event_stream

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
    return ApiError.internal()


_Adapter = TypeVar("_Adapter", bound="StreamAdapter")
_Event = TypeVar("_Event")


class ChunkTranslator(Generic[_Event]):
    """Walks OpenAI chat chunks (one choice, one tool call per delta, as ChatStream gives
    them) and asks the subclass for its API's events, part by part."""

    def feed(self, chunk: dict[str, Any]) -> list[_Event]:
        if chunk.get("usage"):
            self.on_usage(chunk["usage"])
        events: list[_Event] = []
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                events += self.on_text(delta["content"])
            for call in delta.get("tool_calls") or []:
                events += self.on_tool_call(call)
            if choice.get("finish_reason"):
                self.on_finish(choice["finish_reason"])
        return events

    def on_usage(self, usage: dict[str, Any]) -> None:
        pass

    def on_text(self, text: str) -> list[_Event]:
        raise NotImplementedError

    def on_tool_call(self, call: dict[str, Any]) -> list[_Event]:
        raise NotImplementedError

    def on_finish(self, reason: str) -> None:
        pass


class StreamAdapter:
    """Holds an upstream stream open for as long as it is relayed; subclasses turn
    `self.upstream`'s batches into their API's events in `batches()`."""

    def __init__(self, upstream: AbstractAsyncContextManager[Any]) -> None:
        self._opener = upstream
        self.upstream: Any = None

    async def __aenter__(self: _Adapter) -> _Adapter:
        self.upstream = await self._opener.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._opener.__aexit__(*exc_info)


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


async def _send(request: web.Request, response: web.StreamResponse, source: Batches, fmt: StreamFormat) -> web.StreamResponse:
    in_flight = request.app[METRICS].streams
    in_flight.inc()
    writer = Keepalive(response, fmt.keepalive, request.app[SETTINGS].stream_keepalive)
    try:
        async for batch in source.batches():
            note_first_byte(request)
            # one write per batch: a write per event costs far more than building them
            await writer.write(b"".join(map(fmt.event, batch)))
        if fmt.end:
            await writer.write(fmt.end)
    except ConnectionResetError:
        log.info("the client left mid-stream; the upstream request is dropped")
        return response
    except Exception as exc:
        await response.write(fmt.error(_error_for(request, exc)))
    finally:
        await writer.stop()
        in_flight.dec()
    await response.write_eof()
    return response
