"""Reading Copilot's streams: SSE events to JSON payloads, a batch per network read, and
every way a stream can break turned into an UpstreamStreamError."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from .._json import loads
from ..exceptions import UpstreamStreamError
from .normalize import Json, StreamNormalizer
from .sse import SSEFormatError, iter_sse_batches


def let_go(response: aiohttp.ClientResponse) -> None:
    if response.content.at_eof():
        response.release()  # read to the end: the connection goes back to the pool
    else:  # abandoned mid-stream: drop the connection so Copilot stops generating
        response.close()




DONE = object()  # the `data: [DONE]` event
Observer = Callable[[Any], None]  # sees every payload (the bill reads what the call cost)


async def _payload_batches(response: aiohttp.ClientResponse, observe: Observer | None = None) -> AsyncIterator[list[Any]]:
    """The JSON payloads of an SSE response, a list per network read (`[DONE]` as DONE);
    every way the stream can break becomes an UpstreamStreamError."""
    try:
        async for events in iter_sse_batches(response.content.iter_any()):
            batch = []
            for event in events:
                if event.data.strip() == "[DONE]":
                    batch.append(DONE)
                    continue
                try:
                    payload = loads(event.data)
                except ValueError:
                    raise UpstreamStreamError("Copilot sent a garbled stream event") from None
                if observe is not None:
                    observe(payload)
                batch.append(payload)
            yield batch
    except asyncio.TimeoutError:
        raise UpstreamStreamError("Copilot stopped sending in the middle of the answer") from None
    except aiohttp.ClientError as exc:
        raise UpstreamStreamError(f"the connection to Copilot broke mid-stream: {exc}") from None
    except SSEFormatError as exc:
        raise UpstreamStreamError(str(exc)) from None


def _raise_if_error(payload: Any) -> None:
    error = payload.get("error") if isinstance(payload, dict) else None
    if error:
        message = error.get("message", error) if isinstance(error, dict) else error
        raise UpstreamStreamError(f"Copilot reported an error mid-stream: {message}")


async def chunk_batches(
    response: aiohttp.ClientResponse, normalizer: StreamNormalizer, observe: Observer | None = None
) -> AsyncIterator[list[Json]]:
    done = False
    async for payloads in _payload_batches(response, observe):
        out: list[Json] = []
        for payload in payloads:
            if done:  # read on to the end so the connection can go back to the pool
                continue
            if payload is DONE:
                done = True
                continue
            _raise_if_error(payload)
            out.extend(normalizer.feed(payload))
        if out:
            yield out
    if not done and not normalizer.finished:
        raise UpstreamStreamError("Copilot closed the stream before the answer was complete")
    tail = normalizer.finish()
    if tail:
        yield tail


async def anthropic_event_batches(
    response: aiohttp.ClientResponse, observe: Observer | None = None
) -> AsyncIterator[list[Json]]:
    stopped = False
    async for payloads in _payload_batches(response, observe):
        out: list[Json] = []
        for payload in payloads:
            if stopped or payload is DONE:
                continue
            if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
                raise UpstreamStreamError("Copilot sent a stream event without a type")
            _raise_if_error(payload)
            stopped = payload["type"] == "message_stop"
            out.append(payload)
        if out:
            yield out
    if not stopped:
        raise UpstreamStreamError("Copilot closed the stream before the answer was complete")
