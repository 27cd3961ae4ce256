"""The Copilot API client: every call colalamo makes to Copilot goes through here.

A request arrives in a client's format (`translate.ClientRequest`); the client looks its model
up once in the catalogue, has it admitted against the budgets (`admission`), picks the endpoint
that serves it (`routing`), sends it with its headers (`call_headers`, `transport`) and gives
back the answer, or the stream (`event_stream`), in the client's format, translated through the
hub where the endpoint speaks another. It orchestrates; each of those decides on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, cast

import aiohttp

from .._state.base import Budgets, SharedState
from .._translate import UPSTREAM_FORMATS, ChatRequest, ClientRequest
from .._translate.chat import ENDPOINT as CHAT
from .._translate.chat import one_choice
from .._translate.messages import ENDPOINT as MESSAGES
from .._translate.responses import ENDPOINT as RESPONSES
from ..config import Settings
from ..exceptions import (
    BadUpstreamReply,
    UpstreamError,
    UpstreamStatusError,
)
from .admission import Admission
from .call_headers import call_headers
from .catalogue import Catalogue
from .context import current_call
from .event_stream import EventStream
from .failures import refine
from .interaction import Sessions, classify, rename, small_model
from .normalize import Json, normalize_completion
from .pacing import PACING, Pacing
from .routing import Route, endpoint_for, upstream_body
from .streams import let_go
from .token_manager import TokenManager
from .transport import Transport

log = logging.getLogger(__name__)

DEFAULT_EMBEDDINGS_MODEL = "text-embedding-3-small"
UNSUPPORTED_API = "unsupported_api_for_model"


class CopilotClient:
    def __init__(self, http: aiohttp.ClientSession, tokens: TokenManager, settings: Settings,
                 state: SharedState, pacing: Pacing = PACING) -> None:
        self._settings = settings
        self.transport = Transport(http, tokens, settings, state, pacing)
        self.catalogue = Catalogue(self._fetch_models, wait_limit=settings.connect_timeout, shared=state.models_cache)
        self.budgets: Budgets = state.budgets
        self.admission = Admission(state.budgets, self.catalogue, settings.budget_fallback_model)
        self.sessions = Sessions()  # tells subagents by the client's session id

    @property
    def default_model(self) -> str:
        return self._settings.model

    # any format ---------------------------------------------------------------------------

    async def complete(self, req: ClientRequest) -> Json:
        """A whole answer to `req`, in its own format."""
        route, reply = await self._call(req, False, self._send_whole)
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
        route, response = await self._call(req, True, self._open_stream)
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
        entry, bill = await self.admission.admit(entry, initiator, req.body)
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

    async def _send_whole(self, route: Route) -> Any:
        headers = call_headers(route, self.transport.identity)
        return await self.transport.json("POST", route.endpoint, route.body, headers)

    async def _open_stream(self, route: Route) -> aiohttp.ClientResponse:
        headers = call_headers(route, self.transport.identity)
        return await self.transport.open("POST", route.endpoint, route.body, headers)

    async def _call(self, req: ClientRequest, stream: bool,
                    send: Callable[[Route], Awaitable[Any]]) -> tuple[Route, Any]:
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


def _checked_native(endpoint: str, reply: Any) -> Json:
    if endpoint == MESSAGES and not (isinstance(reply, dict) and reply.get("type") == "message"):
        raise BadUpstreamReply("Copilot's /v1/messages answer is not a message")
    if endpoint == RESPONSES and not (isinstance(reply, dict) and isinstance(reply.get("output"), list)):
        raise BadUpstreamReply("Copilot's /responses answer is not a response")
    return cast(Json, reply)
