"""The Copilot API client: every call colalamo makes to Copilot goes through here.

One pooled `aiohttp.ClientSession` (owned by the caller), the editor headers on every call,
one refresh-and-retry when Copilot answers 401, and upstream failures turned into
`UpstreamError`s that say what happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from .._json import dumps, loads
from ..config import Settings
from ..exceptions import (
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from .billing import Bill
from .context import current_call
from .errors import status_error
from .guard import AccountBackoff, RateLimiter
from .headers import api_headers, initiator_for
from .ledger import Ledger
from .model_names import resolve_model
from .model_rules import adapt_chat_request
from .normalize import Json, StreamNormalizer, normalize_completion
from .pricing import estimate_credits, premium_cost
from .streams import Observer, anthropic_event_batches, chunk_batches, let_go
from .token_manager import TokenManager

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.githubcopilot.com"
DEFAULT_EMBEDDINGS_MODEL = "text-embedding-3-small"
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}
STATE_FILE = "colalamo-state.json"  # today's premium requests and AI credits, beside the token
CONNECT_RETRY_DELAYS = (0.1, 0.3, 0.9)  # for connections that could not even be made
MODELS_TTL = 300.0  # seconds the model list is cached


@dataclass(frozen=True)
class Plan:
    """What a call will use: the model (after aliases and the budgets), what Copilot says of
    it, what it costs in premium requests, and its bill (the hold on the budgets)."""

    model: str
    info: Json | None
    cost: float
    bill: Bill


class ChatStream:
    """The chunks of a streamed chat completion; `usage` is known once it has been read.

    `batches()` gives them a list per network read (for relaying with one write each);
    iterating gives them one by one.
    """

    def __init__(
        self, response: aiohttp.ClientResponse, normalizer: StreamNormalizer, observe: Observer | None = None
    ) -> None:
        self._response = response
        self._normalizer = normalizer
        self._observe = observe

    def batches(self) -> AsyncIterator[list[Json]]:
        return chunk_batches(self._response, self._normalizer, self._observe)

    async def __aiter__(self) -> AsyncIterator[Json]:
        async for batch in self.batches():
            for chunk in batch:
                yield chunk

    @property
    def usage(self) -> Json | None:
        return self._normalizer.usage


class CopilotClient:
    def __init__(self, http: aiohttp.ClientSession, tokens: TokenManager, settings: Settings) -> None:
        self._http = http
        self._tokens = tokens
        self._settings = settings
        self._models: list[Json] | None = None
        self._models_fetched_at = 0.0
        self._models_lock = asyncio.Lock()
        self._backoff = AccountBackoff()
        self._limiter = RateLimiter(settings.rate_limit, settings.rate_limit_mode) if settings.rate_limit else None
        self.ledger = Ledger(settings.token_file.parent / STATE_FILE,
                             premium_budget=settings.premium_budget, credit_budget=settings.credit_budget)

    @property
    def default_model(self) -> str:
        return self._settings.model

    # chat ----------------------------------------------------------------------------------

    async def plan(self, model: str | None, messages: Any, body: Mapping[str, Any] | None = None) -> Plan:
        """The model a call will use and its costs, admitted against the daily budgets.

        Admission holds the call's expected cost (premium requests; AI credits estimated from
        `body`) until the call is settled or released through `Plan.bill`. Over a budget, the
        call is refused (429 until midnight UTC), or moved to COLALAMO_BUDGET_FALLBACK_MODEL
        when one is set.
        """
        model = await self.resolve(model or self._settings.model)
        info = await self.model_info(model)
        initiator = initiator_for(messages)
        body = body if body is not None else {"messages": messages}
        premium, credits = premium_cost(info, initiator), estimate_credits(info, body)
        call = current_call()
        fallback = self._settings.budget_fallback_model
        if fallback and fallback != model and not self.ledger.would_admit(call.key_id, premium=premium, credits=credits):
            log.info("daily budget used up; %s answers instead of %s", fallback, model)
            call.fallback_from, call.fallback_to, model = model, fallback, fallback
            info = await self.model_info(model)
            premium, credits = premium_cost(info, initiator), estimate_credits(info, body)
        reservation = self.ledger.admit(call.key_id, premium=premium, credits=credits)  # or RateLimited
        bill = Bill(reservation, call, model=model, info=info, premium=premium, estimate=credits)
        return Plan(model, info, premium, bill)

    async def _chat_body(self, body: Mapping[str, Any], stream: bool) -> tuple[Json, Plan]:
        request = dict(body)
        plan = await self.plan(request.get("model"), request.get("messages"), request)
        request["model"] = plan.model
        request["stream"] = stream
        if not stream:
            request.pop("stream_options", None)
        try:
            return adapt_chat_request(request, plan.info), plan
        except BaseException:
            plan.bill.release()  # refused here: nothing was sent
            raise

    async def chat_completion(self, body: Mapping[str, Any]) -> Json:
        """A non-streamed chat completion, as an OpenAI `chat.completion` dict."""
        request, plan = await self._chat_body(body, stream=False)
        async with plan.bill:
            reply = await self._json("POST", "/chat/completions", request, bill=plan.bill)
            plan.bill.observe(reply)
        return normalize_completion(reply, request["model"], merge_choices=_one_choice(request))

    @asynccontextmanager
    async def stream_chat_completion(
        self, body: Mapping[str, Any], *, include_usage: bool = False
    ) -> AsyncIterator[ChatStream]:
        """Open a streamed chat completion; iterate what it yields for OpenAI chunk dicts.

        Entering raises `UpstreamError` when Copilot refuses the request, before anything
        was streamed; iterating raises `UpstreamStreamError` when the stream breaks, so a
        broken answer is never mistaken for a complete one.
        """
        request, plan = await self._chat_body(body, stream=True)
        async with plan.bill:  # settled when the stream is done with
            response = await self._open("POST", "/chat/completions", request, bill=plan.bill)
            normalizer = StreamNormalizer(
                request["model"], include_usage=include_usage, merge_choices=_one_choice(request)
            )
            try:
                yield ChatStream(response, normalizer, plan.bill.observe)
            finally:
                let_go(response)

    # Anthropic Messages, natively ---------------------------------------------------------

    async def anthropic_messages(self, body: Mapping[str, Any]) -> Json:
        """Forward an Anthropic Messages request as is, to a model Copilot serves there."""
        plan = await self.plan(body.get("model"), body.get("messages"), body)
        request = {**body, "model": plan.model, "stream": False}
        async with plan.bill:
            reply = await self._json("POST", "/v1/messages", request, ANTHROPIC_HEADERS, bill=plan.bill)
            plan.bill.observe(reply)
        if not isinstance(reply, dict) or reply.get("type") != "message":
            raise UpstreamStatusError(502, "Copilot's /v1/messages answer is not a message")
        return reply

    @asynccontextmanager
    async def stream_anthropic_messages(self, body: Mapping[str, Any]) -> AsyncIterator[AsyncIterator[list[Json]]]:
        """Open a native Anthropic stream; iterate it for batches of event payloads (each
        with its `type`), a batch per network read."""
        plan = await self.plan(body.get("model"), body.get("messages"), body)
        request = {**body, "model": plan.model, "stream": True}
        async with plan.bill:  # settled when the stream is done with
            response = await self._open("POST", "/v1/messages", request, ANTHROPIC_HEADERS, bill=plan.bill)
            try:
                yield anthropic_event_batches(response, plan.bill.observe)
            finally:
                let_go(response)

    # models ---------------------------------------------------------------------------------

    @property
    def cached_models(self) -> list[Json] | None:
        """The model list as last fetched, without fetching (None before the first fetch)."""
        return self._models

    async def models(self) -> list[Json]:
        """Copilot's model list (cached for a few minutes)."""
        async with self._models_lock:
            if self._models is None or time.monotonic() - self._models_fetched_at > MODELS_TTL:
                reply = await self._json("GET", "/models", guarded=False)
                data = reply.get("data") if isinstance(reply, dict) else None
                if not isinstance(data, list):
                    raise UpstreamStatusError(502, "Copilot's model list is malformed")
                self._models = [m for m in data if isinstance(m, dict) and m.get("id")]
                self._models_fetched_at = time.monotonic()
            return self._models

    async def embeddings(self, body: Mapping[str, Any]) -> Json:
        """Embeddings as Copilot gives them (floats); the model defaults to its first
        embeddings model."""
        request = dict(body)
        if not request.get("model"):
            request["model"] = await self._default_embeddings_model()
        request.pop("encoding_format", None)  # Copilot answers floats
        reply = await self._json("POST", "/embeddings", request)
        if not isinstance(reply, dict):
            raise UpstreamStatusError(502, "Copilot's embeddings answer is not a JSON object")
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

    async def resolve(self, model: str) -> str:
        """Copilot's id for a model name as a client wrote it (see model_names)."""
        try:
            models = await self.models()
        except UpstreamError:
            return model
        resolved = resolve_model(model, models)
        if resolved != model:
            log.debug("model %s is %s on Copilot", model, resolved)
        return resolved

    async def model_info(self, model_id: str) -> Json | None:
        """What `/models` says of one model; None when unknown or the list is unavailable."""
        try:
            models = await self.models()
        except UpstreamError as exc:  # the request itself may still work: let Copilot decide
            log.warning("cannot read Copilot's model list (%s)", exc.message)
            return None
        return next((m for m in models if m["id"] == model_id), None)

    # transport -----------------------------------------------------------------------------

    async def _json(
        self,
        method: str,
        path: str,
        body: Json | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Any:
        response = await self._open(method, path, body, headers, **options)
        try:
            text = await response.text()
        except asyncio.TimeoutError:
            raise UpstreamTimeout("Copilot did not finish its answer in time") from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(f"the connection to Copilot broke: {exc}") from None
        finally:
            response.release()
        try:
            return loads(text)
        except ValueError:
            raise UpstreamStatusError(502, "Copilot's answer is not JSON", body=text[:500]) from None

    async def _send(self, method: str, url: str, body: Json | None, headers: dict[str, str]) -> aiohttp.ClientResponse:
        """One HTTP request. A connection that could not be made is tried again with
        back-off: nothing reached Copilot. Anything after that is not: Copilot may have
        processed it, and retrying is the client's decision."""
        data = dumps(body) if body is not None else None
        for delay in (*CONNECT_RETRY_DELAYS, None):
            try:
                return await self._http.request(method, url, data=data, headers=headers)
            except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientConnectorSSLError) as exc:
                raise UpstreamUnreachable(f"cannot reach Copilot at {url}: {exc}") from None  # no retry helps
            except aiohttp.ClientConnectorError as exc:
                if delay is None:
                    raise UpstreamUnreachable(f"cannot reach Copilot at {url}: {exc}") from None
                log.warning("cannot connect to Copilot (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
            except asyncio.TimeoutError:
                raise UpstreamTimeout(f"Copilot did not answer {method} {url} in time") from None
            except aiohttp.ClientError as exc:
                raise UpstreamUnreachable(f"the connection to Copilot broke: {exc}") from None
        raise AssertionError("unreachable")

    async def _open(
        self,
        method: str,
        path: str,
        body: Json | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        guarded: bool = True,
        bill: Bill | None = None,
    ) -> aiohttp.ClientResponse:
        """Send one request; on 401 refresh the Copilot token once and send it again.

        Guarded calls respect the account back-off and the local rate limit; a call Copilot
        accepts is marked answered on its bill (it will be charged when the bill settles).
        """
        if guarded:
            self._backoff.check()
            if self._limiter is not None:
                await self._limiter.acquire()
        token = await self._tokens.get()
        for attempt in (1, 2):
            url = f"{self._settings.copilot_api_url or token.api_url or DEFAULT_API_URL}{path}"
            if bill is not None:
                bill.sent()
            response = await self._send(method, url, body, {**api_headers(token.value, body), **(headers or {})})
            if response.status == 401 and attempt == 1:
                response.release()
                log.info("Copilot answered 401; refreshing the Copilot token and retrying once")
                token = await self._tokens.refresh(stale=token)
                continue
            if response.status == 429 and guarded:
                pause = self._backoff.rate_limited(response.headers)
                log.warning("Copilot answered 429; holding requests back for %.0f s", pause)
            if response.status >= 400:
                raise await status_error(response)
            if guarded:
                self._backoff.succeeded()
            if bill is not None:
                bill.answered()
            return response
        raise AssertionError("unreachable")


def _one_choice(request: Mapping[str, Any]) -> bool:
    return (request.get("n") or 1) <= 1
