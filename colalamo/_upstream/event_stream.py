"""A streamed answer in the client's format, read from Copilot's stream: passed through where
Copilot speaks the client's format, else decoded to the hub and encoded for the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from .._translate import UPSTREAM_FORMATS, Encoder
from .._translate.chat import ENDPOINT as CHAT
from .._translate.chat import one_choice
from .._translate.messages import ENDPOINT as MESSAGES
from .._translate.responses import ENDPOINT as RESPONSES
from .._translate.responses import TERMINAL_EVENTS as RESPONSES_TERMINAL
from ..exceptions import UpstreamError, UpstreamStreamError
from .interaction import shown_as
from .normalize import Json, StreamNormalizer
from .routing import Route
from .streams import HubChunks, PayloadReader, native_batches

NATIVE_TERMINAL = {MESSAGES: frozenset({"message_stop"}), RESPONSES: RESPONSES_TERMINAL}


class EventStream:
    """A streamed answer in the client's format: `batches()` gives the events a list per
    network read (for relaying with one write each); iterating gives them one by one.
    `usage` and `final` (the last event, for formats that end with the whole answer) are
    known once it has been read."""

    def __init__(self, route: Route, response: aiohttp.ClientResponse) -> None:
        self._route = route
        self._observe = route.bill.observe
        self._response = response
        self._encoder: Encoder | None = None
        self._native_usage: Json = {}
        self.final: Json | None = None
        #: how the stream broke, when its format ended it with an event of its own (Responses'
        #: `response.failed`) rather than raising: the relay still counts and logs it
        self.failure: UpstreamError | None = None

    @property
    def usage(self) -> Any:
        return self._encoder.usage if self._encoder is not None else (self._native_usage or None)

    async def __aiter__(self) -> AsyncIterator[Json]:
        async for batch in self.batches():
            for event in batch:
                yield event

    def batches(self) -> AsyncIterator[list[Json]]:
        batches = self._native() if self._route.native and self._route.endpoint != CHAT else self._translated()
        return batches if self._route.shown_model is None else shown_as(batches, self._route.shown_model)

    async def _native(self) -> AsyncIterator[list[Json]]:
        name_back = self._route.req.native_event
        async for batch in native_batches(self._response, NATIVE_TERMINAL[self._route.endpoint], self._observe_native):
            yield [name_back(event) for event in batch]

    def _observe_native(self, event: Json) -> None:
        self._observe(event)
        kind = event.get("type")
        if kind == "message_start":
            self._native_usage.update((event.get("message") or {}).get("usage") or {})
        elif kind == "message_delta":
            self._native_usage.update(event.get("usage") or {})
        elif kind in RESPONSES_TERMINAL:
            if kind == "response.failed":
                error = (event.get("response") or {}).get("error") or {}
                message = error.get("message", kind)
                self.failure = UpstreamStreamError(f"Copilot reported a failure mid-stream: {message}")
            self.final = self._route.req.native_event(event)
            self._native_usage.update((event.get("response") or {}).get("usage") or {})

    async def _translated(self) -> AsyncIterator[list[Json]]:
        route = self._route
        encoder = self._encoder = route.req.encoder()
        normalizer = StreamNormalizer(route.entry.id, include_usage=True, merge_choices=one_choice(route.body))
        decoder_for = UPSTREAM_FORMATS[route.endpoint].decoder
        decoder = decoder_for(route.entry.id) if decoder_for is not None else None
        start = encoder.start()
        if start:
            yield start
        hub = HubChunks(normalizer, decoder, self._observe)
        reader = PayloadReader(self._response)
        try:
            while (payloads := await reader.next()) is not None:
                if not payloads:
                    continue
                events = [event for chunk in hub.feed(payloads) for event in encoder.feed(chunk)]
                if events:
                    yield events
            events = [event for chunk in hub.end() for event in encoder.feed(chunk)]
            if events:
                yield events
        except UpstreamError as exc:
            failed = encoder.failed(exc.message)  # formats that end a broken stream their own way
            if failed is None:
                raise
            self.final, self.failure = failed, exc
            yield [failed]
            return
        end = encoder.finish()
        if end:
            self.final = end[-1]
            yield end
