"""`POST /v1/responses`: the OpenAI Responses API, answered through chat completions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ...exceptions import UpstreamError
from ...upstream import CopilotClient
from ..errors import openai_error_body, read_json_object
from ..keys import CORE
from ..observe import note_model, note_usage
from ..sse import KEEPALIVE_COMMENT, sse_event
from ..streaming import StreamAdapter, StreamFormat, relay
from .store import ResponseStore
from .stream import ResponsesStream
from .translate import (
    ResponseShape,
    from_completion,
    previous_not_found,
    to_chat_request,
)
from .validation import validate_responses_request

STORE = web.AppKey("responses_store", ResponseStore)

RESPONSES_STREAM = StreamFormat(
    event=lambda payload: sse_event(payload["type"], payload),
    keepalive=KEEPALIVE_COMMENT,
    error=lambda error: sse_event("error", {"type": "error", **openai_error_body(error)["error"]}),
)


def _history(store: ResponseStore, body: dict[str, Any]) -> list[dict[str, Any]]:
    previous = body.get("previous_response_id")
    if previous is None:
        return []
    history = store.get(previous)
    if history is None:
        raise previous_not_found(previous)
    return history


async def responses(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_responses_request(body)
    store = request.app[STORE]
    copilot = request.app[CORE].copilot
    chat = to_chat_request(body, _history(store, body), copilot.default_model)
    note_model(request, chat["model"])
    shape = ResponseShape(body, chat["model"])
    if body.get("stream"):
        return await relay(request, StreamedResponse(copilot, chat, shape, store), RESPONSES_STREAM)
    completion = await copilot.chat_completion(chat)
    response, answer = from_completion(completion, shape)
    note_usage(request, completion.get("usage"))
    if body.get("store", True):
        store.put(shape.id, [*_conversation(chat), answer])
    return web.json_response(response)


def _conversation(chat: dict[str, Any]) -> list[dict[str, Any]]:
    # Instructions apply to one response only; later turns bring their own.
    return [m for m in chat["messages"] if m["role"] != "system"]


class StreamedResponse(StreamAdapter):
    """A chat stream relayed as Responses events; the turn is stored at the end."""

    def __init__(self, copilot: CopilotClient, chat: dict[str, Any], shape: ResponseShape, store: ResponseStore) -> None:
        super().__init__(copilot.stream_chat_completion(chat, include_usage=True))
        self._chat, self._shape, self._store = chat, shape, store
        self._state = ResponsesStream(shape)

    @property
    def usage(self) -> dict[str, Any] | None:
        return self._state.usage

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        yield self._state.start()
        try:
            async for chunks in self.upstream.batches():
                events = [event for chunk in chunks for event in self._state.feed(chunk)]
                if events:
                    yield events
        except UpstreamError as exc:
            # The Responses way to end a broken stream: response.failed, then close.
            yield [self._state.failed(exc.message)]
            return
        yield self._state.finish()
        if self._shape.body.get("store", True):
            self._store.put(self._shape.id, [*_conversation(self._chat), self._state.assistant_message])


def add_routes(app: web.Application) -> None:
    app[STORE] = ResponseStore()
    for prefix in ("/v1", ""):
        app.router.add_post(f"{prefix}/responses", responses)

