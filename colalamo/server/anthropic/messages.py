"""`POST /v1/messages` and `POST /v1/messages/count_tokens`.

Models that Copilot serves on its own `/v1/messages` (its `/models` lists that endpoint) are
forwarded natively, which keeps thinking blocks; the others are translated to and from chat
completions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ...token_estimate import estimate_text_tokens, estimate_tokens
from ...upstream import CopilotClient
from ..errors import read_json_object
from ..keys import CORE
from ..observe import note_model, note_usage
from ..sse import sse_event
from ..streaming import StreamAdapter, StreamFormat, relay
from .errors import anthropic_error_body
from .stream import AnthropicStream
from .translate import to_chat_request, to_message
from .validation import validate_messages_request

NATIVE_ENDPOINT = "/v1/messages"
IMAGE_TOKENS = 1600  # Anthropic's cost of a full-size image


def _is_native(info: dict[str, Any] | None) -> bool:
    return NATIVE_ENDPOINT in ((info or {}).get("supported_endpoints") or [])


ANTHROPIC_STREAM = StreamFormat(
    event=lambda payload: sse_event(payload["type"], payload),
    keepalive=sse_event("ping", {"type": "ping"}),
    error=lambda error: sse_event("error", anthropic_error_body(error)),
)


async def messages(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_messages_request(body)
    note_model(request, body["model"])
    copilot = request.app[CORE].copilot
    native = _is_native(await copilot.model_info(await copilot.resolve(body["model"])))
    if body.get("stream"):
        events = NativeEvents(copilot, body) if native else TranslatedEvents(copilot, body)
        return await relay(request, events, ANTHROPIC_STREAM)
    if native:
        message = await copilot.anthropic_messages(body)
    else:
        message = to_message(await copilot.chat_completion(to_chat_request(body)), body["model"])
    note_usage(request, message.get("usage"))
    return web.json_response(message)


class NativeEvents(StreamAdapter):
    """Copilot's own Anthropic stream, passed through; its usage noted on the way."""

    def __init__(self, copilot: CopilotClient, body: dict[str, Any]) -> None:
        super().__init__(copilot.stream_anthropic_messages(body))
        self.usage: dict[str, Any] = {}

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        async for batch in self.upstream:
            for event in batch:
                if event["type"] == "message_start":
                    self.usage.update((event.get("message") or {}).get("usage") or {})
                elif event["type"] == "message_delta":
                    self.usage.update(event.get("usage") or {})
            yield batch


class TranslatedEvents(StreamAdapter):
    """A chat stream for an Anthropic request, relayed as Anthropic events."""

    def __init__(self, copilot: CopilotClient, body: dict[str, Any]) -> None:
        super().__init__(copilot.stream_chat_completion(to_chat_request(body), include_usage=True))
        self._state = AnthropicStream(body["model"], count_input_tokens(body))

    @property
    def usage(self) -> dict[str, int]:
        return self._state.usage

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        yield [payload for _, payload in self._state.start()]
        async for chunks in self.upstream.batches():
            events = [payload for chunk in chunks for _, payload in self._state.feed(chunk)]
            if events:
                yield events
        yield [payload for _, payload in self._state.finish()]


def count_input_tokens(body: dict[str, Any]) -> int:
    """An estimate of a Messages request's input tokens that errs on the high side."""
    total = estimate_tokens(body["system"]) if body.get("system") else 0
    for message in body["messages"]:
        total += 4  # the turn's role markers
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                total += estimate_text_tokens(block["text"])
            elif kind == "image":
                total += IMAGE_TOKENS
            elif kind == "tool_result":
                inner = block.get("content")
                total += estimate_tokens(inner) if inner else 1
            elif kind == "tool_use":
                total += estimate_tokens(block.get("name", "")) + estimate_tokens(block.get("input") or {})
            else:
                total += estimate_tokens(block)
    if body.get("tools"):
        total += estimate_tokens(body["tools"])
    return total


async def count_tokens(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    validate_messages_request(body, counting=True)
    return web.json_response({"input_tokens": count_input_tokens(body)})
