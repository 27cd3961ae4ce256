"""The fake's Copilot API (`{api}`): `/models`, the three inference endpoints and `/embeddings`,
with the 2026 wire's rules.

Every route answers 466 to a client whose `X-GitHub-Api-Version` is older than the fake's
`min_api_version`; each inference endpoint refuses a model whose `supported_endpoints` lacks
it (a model without the field takes chat completions only), answers 402 once the account has
no credits, refuses a prompt longer than the model's `max_prompt_tokens`, and bills every
successful answer in AI credits (`copilot_usage`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import anthropic_wire, responses_input, responses_wire, wire
from .answers import answer, count_tokens, embedding, refusal, words
from .billing import NANO_PER_CREDIT, copilot_usage
from .catalogue import TOKEN_PRICES_SINCE, without_token_prices

if TYPE_CHECKING:
    from .fake import FakeCopilot

Json = dict[str, Any]
API_VERSION_GONE = ("bad request: the specified API version is no longer supported. "
                    "You may need to update your client to a newer version.")
CONTEXT_WINDOW_EXCEEDED = "Your input exceeds the context window of this model. Please adjust your input and try again."
INFERENCE = ("chat", "messages", "responses")
ENDPOINTS = {"chat": "/chat/completions", "messages": "/v1/messages", "responses": "/responses"}


def copilot_error(status: int, message: str, code: str, **extra: Any) -> web.Response:
    """Copilot's own error body: `{"error": {"message", "code", ...}}`."""
    fields = {name: value for name, value in extra.items() if value is not None}
    return web.json_response({"error": {"message": message, "code": code, **fields}}, status=status)


def openai_error(
    status: int, message: str, param: str | None, code: str, *, content_type: str = "application/json"
) -> web.Response:
    payload = {"error": {"message": message, "code": code, "param": param, "type": "invalid_request_error"}}
    return web.Response(status=status, text=json.dumps(payload), content_type=content_type)


def model_not_supported() -> web.Response:
    # Copilot labels this JSON error text/plain
    return openai_error(400, "The requested model is not supported.", "model", "model_not_supported",
                        content_type="text/plain")


def _carries_text(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    if payload.get("type") == "content_block_delta":  # Anthropic's stream
        return bool(payload["delta"].get("type") == "text_delta")
    if payload.get("type") == "response.output_text.delta":  # the Responses stream
        return True
    return any(c.get("delta", {}).get("content") for c in payload.get("choices", []))


class CopilotApi:
    """The Copilot API routes of one `FakeCopilot`, reading and updating its state."""

    def __init__(self, fake: FakeCopilot) -> None:
        self.fake = fake

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/models", self.models)
        app.router.add_post("/chat/completions", self.chat)
        app.router.add_post("/responses", self.responses)
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_post("/embeddings", self.embeddings)

    # the front door ---------------------------------------------------------------------------

    def _refusal_at_the_door(self, route: str, request: web.Request) -> web.Response | None:
        fake = self.fake
        if "Editor-Version" not in request.headers:
            return web.Response(status=400, text="bad request: missing Editor-Version header for IDE auth\n")
        version = request.headers.get("X-GitHub-Api-Version", "")
        if fake.min_api_version is not None and version < fake.min_api_version:
            return web.Response(status=466, text=API_VERSION_GONE)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expires_at = fake._copilot_tokens.get(token) if scheme.lower() == "bearer" else None
        if expires_at is None:
            return web.Response(status=401, text="unauthorized: invalid token\n")
        if time.time() >= expires_at:
            fake.expired_token_calls += 1
            return web.Response(status=401, text="unauthorized: token expired\n")
        if route in INFERENCE and fake.out_of_credits:  # refused calls are not charged
            return copilot_error(402, "You have no quota", "quota_exceeded")
        return None

    async def _start(self, route: str, request: web.Request) -> tuple[Any, web.StreamResponse | None]:
        """Record, inject faults, check headers, token and credits: the common start of a call."""
        body = await self.fake._record(route, request)
        if (failed := await self.fake._fault(route, request)) is not None:
            return body, failed
        return body, self._refusal_at_the_door(route, request)

    def _model(self, model_id: Any, kind: str) -> Json | None:
        for model in self.fake.models:
            if model["id"] == model_id and model["capabilities"]["type"] == kind:
                return model
        return None

    def _chat_model(self, route: str, model_id: Any) -> Json | web.Response:
        """The chat model a call names, or Copilot's refusal (unknown model, wrong endpoint)."""
        model = self._model(model_id, "chat")
        if model is None:
            return model_not_supported()
        endpoint = ENDPOINTS[route]
        if endpoint not in model.get("supported_endpoints", ["/chat/completions"]):
            return copilot_error(400, f'model "{model["id"]}" is not accessible via the {endpoint} endpoint',
                                 "unsupported_api_for_model")
        return model

    @staticmethod
    def _overflow(route: str, model: Json, prompt_tokens: int) -> web.Response | None:
        limit = model["capabilities"]["limits"].get("max_prompt_tokens")
        if not isinstance(limit, int) or prompt_tokens <= limit:
            return None
        if route == "responses":
            return copilot_error(400, CONTEXT_WINDOW_EXCEEDED, "invalid_request_body")
        return copilot_error(400, f"prompt token count of {prompt_tokens} exceeds the limit of {limit}",
                             "model_max_prompt_tokens_exceeded")

    def _charge(self, model: Json, input_tokens: int, output_tokens: int) -> Json:
        """Bill one successful answer in AI credits; return its `copilot_usage`."""
        usage = copilot_usage(model, input_tokens, output_tokens)
        fake = self.fake
        fake.credits_charged += usage["total_nano_aiu"]
        premium = fake.quota["quota_snapshots"]["premium_interactions"]
        premium["remaining"] = round(premium["remaining"] - usage["total_nano_aiu"] / NANO_PER_CREDIT, 6)
        premium["percent_remaining"] = round(100 * premium["remaining"] / premium["entitlement"], 1)
        return usage

    # routes -------------------------------------------------------------------------------------

    async def models(self, request: web.Request) -> web.StreamResponse:
        _, early = await self._start("models", request)
        if early is not None:
            return early
        version = request.headers.get("X-GitHub-Api-Version", "")
        shown = self.fake.models if version >= TOKEN_PRICES_SINCE else without_token_prices(self.fake.models)
        return web.json_response({"object": "list", "data": shown})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body, early = await self._start("chat", request)
        if early is not None:
            return early
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return openai_error(400, "messages is required", "messages", "invalid_request")
        model = self._chat_model("chat", body.get("model"))
        if isinstance(model, web.Response):
            return model
        if (refused := refusal(body, model)) is not None:
            return openai_error(400, refused[0], refused[1], "unsupported_parameter")
        prompt_tokens = count_tokens(body["messages"])
        if (overflow := self._overflow("chat", model, prompt_tokens)) is not None:
            return overflow
        choices = answer(body, self.fake.reply(body))
        pieces = sum(len(words(c.text or "")) + len(c.tool_calls) for c in choices)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": pieces, "total_tokens": prompt_tokens + pieces}
        billed = self._charge(model, prompt_tokens, pieces)
        logprobs = bool(body.get("logprobs")) and model.get("vendor") != "Anthropic"
        if body.get("stream"):
            events = wire.stream(choices, model, usage, logprobs=logprobs, copilot_usage=billed)
            return await self._stream(request, events)
        return web.json_response(wire.completion(choices, model, usage, logprobs=logprobs, copilot_usage=billed))

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """Copilot's native Anthropic Messages endpoint, for models that list it."""
        body, early = await self._start("messages", request)
        if early is not None:
            return early
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return copilot_error(400, "messages: Field required", "invalid_request_body")
        if not isinstance(body.get("max_tokens"), int):
            return copilot_error(400, "max_tokens: Field required", "invalid_request_body")
        model = self._chat_model("messages", body.get("model"))
        if isinstance(model, web.Response):
            return model
        if rejected := anthropic_wire.rejected_tools(body):
            return copilot_error(400, f"rejected tool(s): {', '.join(rejected)}", "invalid_request_body")
        prompt_tokens = count_tokens(body["messages"])
        if (overflow := self._overflow("messages", model, prompt_tokens)) is not None:
            return overflow
        whole = anthropic_wire.message(body, model, self.fake.reply(body))
        whole["copilot_usage"] = self._charge(model, whole["usage"]["input_tokens"], whole["usage"]["output_tokens"])
        if body.get("stream"):
            return await self._stream(request, anthropic_wire.stream(whole), named=True)
        return web.json_response(whole)

    async def responses(self, request: web.Request) -> web.StreamResponse:
        """The OpenAI Responses endpoint, for models that list `/responses`."""
        body, early = await self._start("responses", request)
        if early is not None:
            return early
        if (refused := responses_input.request_refusal(body)) is not None:
            return copilot_error(400, refused.message, refused.code, param=refused.param)
        model = self._chat_model("responses", body["model"])
        if isinstance(model, web.Response):
            return model
        if (refused := responses_input.body_refusal(body)) is not None:
            return copilot_error(400, refused.message, refused.code, param=refused.param)
        fake = self.fake
        read = responses_input.resolve(body, fake._stored_items, fake.reasoning_seal.opens)
        if isinstance(read, responses_input.Refusal):
            return copilot_error(400, read.message, read.code, param=read.param)
        instructions = body.get("instructions")
        prompt_tokens = count_tokens(body["input"]) + (count_tokens(instructions) if instructions else 0)
        if (overflow := self._overflow("responses", model, prompt_tokens)) is not None:
            return overflow
        fake.reasoning_items_received += read.reasoning_items
        reply = fake.reply(body)
        whole = responses_wire.respond(body, read.items, model, reply, prompt_tokens, fake.reasoning_seal.seal)
        usage = whole["usage"]
        whole["copilot_usage"] = self._charge(model, usage["input_tokens"], usage["output_tokens"])
        if body.get("store", True) is not False:  # later calls may name these items by reference
            fake._stored_items.update((item["id"], item) for item in whole["output"])
        if body.get("stream"):
            return await self._stream(request, responses_wire.stream(whole), named=True)
        return web.json_response(whole)

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        body, early = await self._start("embeddings", request)
        if early is not None:
            return early
        if not isinstance(body, dict) or "input" not in body:
            return openai_error(400, "input is required", "input", "invalid_request")
        model = self._model(body.get("model"), "embeddings")
        if model is None:
            return model_not_supported()
        raw = body["input"]
        # str | [str] | [int] | [[int]]: a flat list of ints is one input
        inputs = [raw] if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)) else raw
        dimensions = body.get("dimensions") or 1536
        tokens = sum(len(i) if isinstance(i, list) else count_tokens(i) for i in inputs)
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": n, "embedding": embedding(item, dimensions)}
                    for n, item in enumerate(inputs)
                ],
                "model": model["version"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def _stream(
        self, request: web.Request, payloads: Iterable[Any], *, named: bool = False
    ) -> web.StreamResponse:
        fake = self.fake
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        content_pieces = 0
        try:
            for payload in payloads:
                if _carries_text(payload):
                    if fake.cut_stream_after is not None and content_pieces >= fake.cut_stream_after:
                        assert request.transport is not None
                        request.transport.close()  # mid-stream drop: no finish, no [DONE]
                        return response
                    if content_pieces and fake.piece_delay:
                        await asyncio.sleep(fake.piece_delay)
                    content_pieces += 1
                data = payload if isinstance(payload, str) else json.dumps(payload)
                event = f"event: {payload['type']}\n" if named else ""
                await response.write(f"{event}data: {data}\n\n".encode())
            await response.write_eof()
        except ConnectionResetError:  # the client (colalamo) went away mid-stream
            fake.aborted_streams += 1
        except asyncio.CancelledError:
            fake.aborted_streams += 1
            raise
        return response
