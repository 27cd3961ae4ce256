"""The Copilot API client: every call colalamo makes to Copilot goes through here.

A request arrives in a client's format (`translate.ClientRequest`); the client looks its model
up once in the catalogue, applies the account's budgets, picks the endpoint that serves it
(`routing`), sends it (`transport`) and gives back the answer or the stream in the client's
format, translated through the hub where the endpoint speaks another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import aiohttp

from ..config import Settings
from ..exceptions import (
    BadUpstreamReply,
    UpstreamError,
    UpstreamStatusError,
    UpstreamStreamError,
)
from ..state.base import Budgets, SharedState
from ..translate import UPSTREAM_FORMATS, ChatRequest, ClientRequest, Encoder
from ..translate.chat import ENDPOINT as CHAT
from ..translate.chat import one_choice
from ..translate.messages import ENDPOINT as MESSAGES
from ..translate.responses import ENDPOINT as RESPONSES
from ..translate.responses import TERMINAL_EVENTS as RESPONSES_TERMINAL
from .billing import Bill
from .catalogue import Catalogue, ModelEntry
from .context import current_call
from .failures import refine
from .headers import CONVERSATION_AGENT, MESSAGES_PROXY, has_image
from .interaction import Interaction, Sessions, classify, rename, shown_as, small_model
from .normalize import Json, StreamNormalizer, normalize_completion
from .pricing import estimate_credits, premium_cost
from .routing import endpoint_for, upstream_body
from .streams import hub_batches, let_go, native_batches
from .token_manager import TokenManager
from .transport import Headers, Transport

log = logging.getLogger(__name__)

DEFAULT_EMBEDDINGS_MODEL = "text-embedding-3-small"
ANTHROPIC_VERSION = "2023-06-01"
# The betas Copilot's /v1/messages accepts; others make it answer 400.
ANTHROPIC_BETAS = frozenset({"interleaved-thinking-2025-05-14", "context-management-2025-06-27",
                             "advanced-tool-use-2025-11-20"})
UNSUPPORTED_API = "unsupported_api_for_model"
NATIVE_TERMINAL = {MESSAGES: frozenset({"message_stop"}), RESPONSES: RESPONSES_TERMINAL}


@dataclass
class Route:
    """One request's way to Copilot: its model, the endpoint, the body sent there."""

    req: ClientRequest
    entry: ModelEntry
    endpoint: str
    body: Json
    initiator: str
    bill: Bill  # the hold on the budgets, settled or released when the call is done
    interaction: Interaction | None = None  # who started it, as Copilot is told (X-Interaction-*)
    shown_model: str | None = None  # the model the answer names, when another answers (warmup)

    @property
    def native(self) -> bool:
        return self.endpoint == self.req.endpoint


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
                self.failure = UpstreamStreamError(f"Copilot reported a failure mid-stream: {error.get('message', kind)}")
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
        try:
            async for chunks in hub_batches(self._response, normalizer, decoder, self._observe):
                events = [event for chunk in chunks for event in encoder.feed(chunk)]
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


class CopilotClient:
    def __init__(self, http: aiohttp.ClientSession, tokens: TokenManager, settings: Settings, state: SharedState) -> None:
        self._settings = settings
        self.transport = Transport(http, tokens, settings, state)
        self.catalogue = Catalogue(self._fetch_models, wait_limit=settings.connect_timeout, shared=state.models_cache)
        self.budgets: Budgets = state.budgets
        self.sessions = Sessions()  # tells subagents by the client's session id

    @property
    def default_model(self) -> str:
        return self._settings.model

    # any format ---------------------------------------------------------------------------

    async def complete(self, req: ClientRequest) -> Json:
        """A whole answer to `req`, in its own format."""
        route, reply = await self._call(req, False, lambda r: self.transport.json("POST", r.endpoint, r.body, self._headers(r)))
        if route.native and route.endpoint != CHAT:
            reply = req.native_answer(_checked_native(route.endpoint, reply))
            return reply if route.shown_model is None else rename(reply, route.shown_model)
        hub = UPSTREAM_FORMATS[route.endpoint].answer_to_chat(reply)
        completion = normalize_completion(hub, route.entry.id, merge_choices=one_choice(route.body))
        return req.from_hub(completion)

    @asynccontextmanager
    async def stream(self, req: ClientRequest) -> AsyncIterator[EventStream]:
        """Open a streamed answer to `req`, in its own format.

        Entering raises `UpstreamError` when Copilot refuses the request, before anything
        was streamed; iterating raises `UpstreamStreamError` when the stream breaks, so a
        broken answer is never mistaken for a complete one.
        """
        route, response = await self._call(req, True, lambda r: self.transport.open("POST", r.endpoint, r.body, self._headers(r)))
        async with route.bill:  # settled when the stream is done with
            try:
                yield EventStream(route, response)
            finally:
                let_go(response)

    # chat, for the library, /ask and legacy completions ----------------------------------

    async def chat_completion(self, body: Mapping[str, Any]) -> Json:
        """A non-streamed chat completion, as an OpenAI `chat.completion` dict."""
        return await self.complete(ChatRequest(dict(body)))

    def stream_chat_completion(self, body: Mapping[str, Any], *, include_usage: bool = False) -> Any:
        """Open a streamed chat completion; its events are OpenAI chunk dicts."""
        return self.stream(ChatRequest(dict(body), include_usage=include_usage))

    # routing ------------------------------------------------------------------------------

    async def _route(self, req: ClientRequest, *, stream: bool) -> Route:
        interaction = classify(req, current_call().client_session, self.sessions)
        asked = req.model or self.default_model
        small = await small_model(self.catalogue, self._settings.small_model) if interaction.warmup else None
        entry = await self.catalogue.lookup(small or asked)
        initiator = interaction.initiator
        entry, bill = await self._admit(entry, initiator, req.body)
        try:
            endpoint = endpoint_for(req.endpoint, entry)
            body = upstream_body(req, entry, endpoint, self.default_model)
        except BaseException:
            bill.release()  # refused here: nothing was sent
            raise
        call = current_call()
        call.endpoint, call.initiator = endpoint, initiator
        body["stream"] = stream
        if not stream:
            body.pop("stream_options", None)
        if endpoint != req.endpoint:
            log.debug("%s is served on %s: translating from %s", entry.id, endpoint, req.endpoint)
        if req.ignored_tools:
            log.info("left out tools that %s on %s cannot take: %s", entry.id, endpoint, ", ".join(req.ignored_tools))
            current_call().ignored_tools = list(req.ignored_tools)
        return Route(req, entry, endpoint, body, initiator, bill, interaction, asked if small else None)

    async def _admit(self, entry: ModelEntry, initiator: str, body: Json) -> tuple[ModelEntry, Bill]:
        """The model a call will use, admitted against the daily budgets.

        Admission holds the call's expected cost (premium requests; AI credits estimated from
        the body) until the call is settled or released through its `Bill`. Over a budget, the
        call is refused (429 until midnight UTC), or moved to COLALAMO_BUDGET_FALLBACK_MODEL
        when one is set.
        """
        premium, credits = premium_cost(entry.info, initiator), estimate_credits(entry.info, body)
        call = current_call()
        fallback = self._settings.budget_fallback_model
        if fallback and fallback != entry.id and not await self.budgets.would_admit(call.key_id, premium=premium, credits=credits):
            log.info("daily budget used up; %s answers instead of %s", fallback, entry.id)
            call.fallback_from, call.fallback_to = entry.id, fallback
            entry = await self.catalogue.lookup(fallback)
            premium, credits = premium_cost(entry.info, initiator), estimate_credits(entry.info, body)
        reservation = await self.budgets.admit(call.key_id, premium=premium, credits=credits)  # or RateLimited
        return entry, Bill(reservation, call, model=entry.id, info=entry.info, premium=premium, estimate=credits)

    def _headers(self, route: Route) -> Headers:
        extra: dict[str, str] = {}
        interaction = CONVERSATION_AGENT
        if route.endpoint == MESSAGES:
            extra["anthropic-version"] = ANTHROPIC_VERSION
            beta = _accepted_betas(getattr(route.req, "beta", None))
            if beta:
                extra["anthropic-beta"] = beta
            if route.native:
                interaction = MESSAGES_PROXY
        identity, vision = self.transport.identity, has_image(_turns(route.req))
        kind, session = (route.interaction.kind, route.interaction.session) if route.interaction else (None, None)
        current_call().interaction = kind or interaction

        def headers(token: str) -> dict[str, str]:
            sent = identity.inference_headers(token, initiator=route.initiator, vision=vision,
                                              interaction_type=kind or interaction, intent=interaction,
                                              interaction_id=session)
            sent.update(extra)
            return sent

        return headers

    async def _call(self, req: ClientRequest, stream: bool, send: Callable[[Route], Awaitable[Any]]) -> tuple[Route, Any]:
        """Route and send; make Copilot's refusals say something a client can act on.

        A model Copilot no longer serves where the catalogue said is asked again, once, on
        the endpoint a fresh catalogue names (Copilot refused it unprocessed)."""
        route = await self._route(req, stream=stream)
        try:
            try:
                result = await self._send(route, send)
            except UpstreamStatusError as exc:
                if exc.code != UNSUPPORTED_API or not await self._catalogue_moved(route):
                    raise
                route = await self._route(req, stream=stream)
                log.info("the model list was out of date; %s is now sent to %s", route.entry.id, route.endpoint)
                result = await self._send(route, send)
        except UpstreamStatusError as exc:
            raise refine(exc, req.endpoint, route.entry, route.body) from None
        return route, result

    async def _send(self, route: Route, send: Callable[[Route], Awaitable[Any]]) -> Any:
        """One call on its bill: refused or unreachable, its hold is released; answered, it is
        charged (a whole answer here, a stream when the caller is done with it)."""
        bill = route.bill
        bill.sent()
        try:
            result = await send(route)
        except asyncio.CancelledError:
            await bill.settle()  # the client left while Copilot worked: it may still charge
            raise
        except BaseException:
            bill.release()
            raise
        bill.answered()
        if not route.body.get("stream"):
            async with bill:
                bill.observe(result)
        return result

    async def _catalogue_moved(self, route: Route) -> bool:
        self.catalogue.forget()
        try:
            await self.catalogue.models()
        except UpstreamError:
            return False
        fresh = await self.catalogue.lookup(route.entry.id)
        return endpoint_for(route.req.endpoint, fresh) != route.endpoint

    # models and embeddings ----------------------------------------------------------------

    async def _fetch_models(self) -> Any:
        return await self.transport.json("GET", "/models", None, self.transport.identity.models_headers, limited=False)

    @property
    def cached_models(self) -> list[Json] | None:
        """The model list as last fetched, without fetching (None before the first fetch)."""
        return self.catalogue.cached

    async def models(self) -> list[Json]:
        """Copilot's model list (refreshed in the background)."""
        return await self.catalogue.models()

    async def resolve(self, model: str) -> str:
        """Copilot's id for a model name as a client wrote it (see model_names)."""
        return (await self.catalogue.lookup(model)).id

    async def model_info(self, model_id: str) -> Json | None:
        """What `/models` says of one model; None when unknown or the list is unavailable."""
        return (await self.catalogue.lookup(model_id)).info

    async def embeddings(self, body: Mapping[str, Any]) -> Json:
        """Embeddings as Copilot gives them (floats); the model defaults to its first
        embeddings model."""
        request = dict(body)
        if not request.get("model"):
            request["model"] = await self._default_embeddings_model()
        request.pop("encoding_format", None)  # Copilot answers floats
        reply = await self.transport.json("POST", "/embeddings", request, self.transport.identity.inference_headers)
        if not isinstance(reply, dict):
            raise BadUpstreamReply("Copilot's embeddings answer is not a JSON object")
        return reply

    async def _default_embeddings_model(self) -> str:
        try:
            models = await self.models()
        except UpstreamError:
            models = []
        for model in models:
            if (model.get("capabilities") or {}).get("type") == "embeddings":
                return str(model["id"])
        return DEFAULT_EMBEDDINGS_MODEL


def _turns(req: ClientRequest) -> Any:
    """The conversation whose last turn says who started the call."""
    body = req.body
    return body.get("messages") if "messages" in body else body.get("input")


def _accepted_betas(header: str | None) -> str:
    if not header:
        return ""
    return ",".join(b.strip() for b in header.split(",") if b.strip() in ANTHROPIC_BETAS)


def _checked_native(endpoint: str, reply: Any) -> Json:
    if endpoint == MESSAGES and not (isinstance(reply, dict) and reply.get("type") == "message"):
        raise BadUpstreamReply("Copilot's /v1/messages answer is not a message")
    if endpoint == RESPONSES and not (isinstance(reply, dict) and isinstance(reply.get("output"), list)):
        raise BadUpstreamReply("Copilot's /responses answer is not a response")
    return cast(Json, reply)
