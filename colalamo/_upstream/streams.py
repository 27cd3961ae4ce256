"""Reading Copilot's streams: SSE events to JSON payloads, a batch per network read, and
every way a stream can break turned into an UpstreamStreamError.

Two readers: `HubChunks` turns any endpoint's stream into exact chat chunks (the hub of
every translation); `native_batches` passes an endpoint's own events through as they are.
Both show every payload to an observer first (for `copilot_usage`, wherever it rides).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any

import aiohttp

from .._json import loads
from .._translate import Decoder
from ..exceptions import UpstreamStreamError
from .normalize import Json, StreamNormalizer
from .sse_reader import SSEEvent, SSEFormatError, SSEParser

DONE = object()  # the `data: [DONE]` event
Observer = Callable[[Json], None]


def let_go(response: aiohttp.ClientResponse) -> None:
    if response.content.at_eof():
        response.release()  # read to the end: the connection goes back to the pool
    else:  # abandoned mid-stream: drop the connection so Copilot stops generating
        response.close()


class PayloadReader:
    """The JSON payloads of an SSE response, a list per network read (`[DONE]` as DONE; an
    empty list for a read that ended no event, None at the end); every way the stream can
    break becomes an UpstreamStreamError.

    A coroutine call per read, not a chain of async generators (reads, events, payloads):
    each generator layer costs a resumption and a suspension per read, on every stream."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._content = response.content
        self._parser: SSEParser | None = SSEParser()

    async def next(self) -> list[Any] | None:
        parser = self._parser
        if parser is None:
            return None
        try:
            chunk = await self._content.readany()
            if chunk:
                return _payloads(parser.feed(chunk))
            self._parser = None  # the end: an event the stream did not end with a blank line
            return _payloads(parser.close())
        except asyncio.TimeoutError:
            raise UpstreamStreamError("Copilot stopped sending in the middle of the answer") from None
        except aiohttp.ClientError as exc:
            raise UpstreamStreamError(f"the connection to Copilot broke mid-stream: {exc}") from None
        except SSEFormatError as exc:
            raise UpstreamStreamError(str(exc)) from None


def _payloads(events: list[SSEEvent]) -> list[Any]:
    batch = []
    for data, _ in events:
        if data[:1] != "{" and data.strip() == "[DONE]":  # an object is never [DONE]: no copy
            batch.append(DONE)
            continue
        try:
            batch.append(loads(data))
        except ValueError:
            raise UpstreamStreamError("Copilot sent a garbled stream event") from None
    return batch


def _raise_if_error(payload: Any) -> None:
    error = payload.get("error") if isinstance(payload, dict) else None
    if error and payload.get("type") != "response.failed":
        message = error.get("message", error) if isinstance(error, dict) else error
        raise UpstreamStreamError(f"Copilot reported an error mid-stream: {message}")


class HubChunks:
    """Exact chat chunks from any endpoint's stream (`decoder` None: a chat stream), a read's
    payloads at a time: the caller reads (`PayloadReader`) and feeds them here, so a stream
    passes through one async generator, not one more per stage."""

    def __init__(self, normalizer: StreamNormalizer, decoder: Decoder | None, observe: Observer) -> None:
        self._normalizer = normalizer
        self._decoder = decoder
        self._observe = observe
        self.done = False  # the answer is whole: what follows is read to the end and dropped

    def feed(self, payloads: list[Any]) -> list[Json]:
        if self.done:  # read on to the end so the connection can go back to the pool
            return []
        decoder, normalizer, observe, done = self._decoder, self._normalizer, self._observe, False
        out: list[Json] = []
        for payload in payloads:
            if done:
                continue
            if payload is DONE:
                done = decoder is None
                continue
            if not isinstance(payload, dict):
                raise UpstreamStreamError("Copilot sent a stream event that is not a JSON object")
            observe(payload)
            if "error" in payload:  # looked for here: most chunks have none, and a call each adds up
                _raise_if_error(payload)
            if decoder is None:  # a chat stream: its chunks are the hub's
                out += normalizer.feed(payload)
                continue
            for chunk in decoder.feed(payload):
                out += normalizer.feed(chunk)
            done = decoder.complete
        if done:  # the answer is whole: its closing chunk goes with the read that ended it
            self.done = True
            out.extend(normalizer.finish())
        return out

    def end(self) -> list[Json]:
        """At the end of the stream: what is left to send, or an UpstreamStreamError when the
        answer is not whole."""
        if self.done:
            return []
        if not (self._decoder is None and self._normalizer.finished):
            raise UpstreamStreamError("Copilot closed the stream before the answer was complete")
        return self._normalizer.finish()


async def native_batches(
    response: aiohttp.ClientResponse,
    terminal: Collection[str],
    observe: Observer,
) -> AsyncIterator[list[Json]]:
    """An endpoint's own events, passed through until one of the `terminal` types."""
    ended = False
    reader = PayloadReader(response)
    while (payloads := await reader.next()) is not None:
        out: list[Json] = []
        for payload in payloads:
            if ended or payload is DONE:
                continue
            if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
                raise UpstreamStreamError("Copilot sent a stream event without a type")
            observe(payload)
            _raise_if_error(payload)
            ended = payload["type"] in terminal
            out.append(payload)
        if out:
            yield out
    if not ended:
        raise UpstreamStreamError("Copilot closed the stream before the answer was complete")
