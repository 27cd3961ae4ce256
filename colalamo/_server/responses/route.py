"""`POST /v1/responses`: the OpenAI Responses API, for every model.

Models Copilot serves on `/responses` get the request as it is; the others through the
translation layer. Either way colalamo keeps the conversation, so `previous_response_id` and
`item_reference` items work for every model (Copilot is never asked to remember anything).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from ..._state.base import ResponsesStore
from ..._translate import ResponsesRequest
from ..._upstream.client import CopilotClient
from ..._upstream.event_stream import EventStream
from ...exceptions import InvalidRequest
from ..answers import json_answer
from ..app_keys import CORE
from ..errors import ApiError, openai_error_body
from ..observe import note_model, note_usage
from ..relay import StreamFormat, relay
from ..request_body import read_json_object
from ..sse_writer import KEEPALIVE_COMMENT, sse_event
from ..validation.responses import validate_responses_request

Json = dict[str, Any]

RESPONSES_STREAM = StreamFormat(
    event=lambda payload: sse_event(payload["type"], payload),
    keepalive=KEEPALIVE_COMMENT,
    # the event's own `type` is "error": the error's type (api_error...) must not overwrite it
    error=lambda error: sse_event("error", {**openai_error_body(error)["error"], "type": "error"}),
)


def previous_not_found(response_id: str) -> ApiError:
    return ApiError(404, f"Previous response with id '{response_id}' not found.",
                    param="previous_response_id", code="previous_response_not_found")


async def _conversation(store: ResponsesStore, body: Json) -> list[Json]:
    """The whole conversation as input items: the earlier turns of `previous_response_id`,
    then this request's input with its `item_reference`s replaced by the items they name."""
    history: list[Json] = []
    previous = body.get("previous_response_id")
    if previous is not None:
        found = await store.get(previous)
        if found is None:
            raise previous_not_found(previous)
        history = list(found)
    value = body["input"]
    if isinstance(value, str):
        return [*history, {"type": "message", "role": "user", "content": value}]
    items = []
    for n, item in enumerate(value):
        if item.get("type") == "item_reference":
            referenced = await store.item(item["id"])
            if referenced is None:
                raise InvalidRequest(f"'input[{n}]' refers to the item {item['id']!r}, which colalamo does not "
                                     "have (it keeps the items of stored responses for an hour)",
                                     param=f"input[{n}].id")
            item = referenced
        items.append(item)
    return [*history, *items]


async def responses(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    validate_responses_request(body)
    core = request.app[CORE]
    copilot = core.copilot
    store = core.state.responses
    conversation = await _conversation(store, body)
    expanded = {k: v for k, v in body.items() if k != "previous_response_id"}
    expanded["input"] = conversation
    req = ResponsesRequest(expanded, copilot.default_model, previous_response_id=body.get("previous_response_id"))
    note_model(request, req.model)
    keep = body.get("store", True) is not False
    if body.get("stream"):
        stream = _stored_stream(copilot, req, store if keep else None, conversation)
        return await relay(request, stream, RESPONSES_STREAM)
    response = req.finished(await copilot.complete(req))
    note_usage(request, response.get("usage"))
    if keep:
        await store.put(response["id"], [*conversation, *(response.get("output") or [])])
    return json_answer(response)


@asynccontextmanager
async def _stored_stream(copilot: CopilotClient, req: ResponsesRequest, store: ResponsesStore | None,
                         conversation: list[Json]) -> AsyncIterator[_Storing]:
    async with copilot.stream(req) as stream:
        yield _Storing(stream, req, store, conversation)


class _Storing:
    """A response stream that keeps the finished response's turn for later requests."""

    def __init__(self, stream: EventStream, req: ResponsesRequest, store: ResponsesStore | None,
                 conversation: list[Json]) -> None:
        self._stream, self._req, self._store, self._conversation = stream, req, store, conversation

    @property
    def usage(self) -> Any:
        return self._stream.usage

    @property
    def failure(self) -> Any:
        return self._stream.failure

    async def batches(self) -> AsyncIterator[list[Json]]:
        stored = False
        async for batch in self._stream.batches():
            if not stored and self._stream.final is not None:
                # kept before the client sees the end, so a continuation it sends at once finds it
                stored = True
                await self._keep(self._stream.final)
            yield [self._req.finished_event(event) for event in batch]
        if not stored and self._stream.final is not None:
            await self._keep(self._stream.final)

    async def _keep(self, final: Json) -> None:
        response = final.get("response")
        if self._store is None or not isinstance(response, dict):
            return
        if response.get("status") in ("completed", "incomplete"):
            await self._store.put(response["id"], [*self._conversation, *(response.get("output") or [])])


def add_routes(app: web.Application) -> None:
    for prefix in ("/v1", ""):
        app.router.add_post(f"{prefix}/responses", responses)
