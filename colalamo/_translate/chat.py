"""OpenAI chat completions, the hub's own format: the client side (a chat client's request,
its answer, its stream) and the upstream side (Copilot's `/chat/completions`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._upstream.normalize import normalize_completion
from .hub import HUB_FIELDS, Json, SentAsIs, without_hub_fields

ENDPOINT = "/chat/completions"


def request_from_chat(chat: Json, info: Mapping[str, Any] | None) -> Json:
    return dict(chat)


def answer_to_chat(answer: Any) -> Json:
    return answer  # type: ignore[no-any-return]  # normalised by the caller, as every upstream answer is


def one_choice(request: Mapping[str, Any]) -> bool:
    return (request.get("n") or 1) <= 1


class ChatRequest(SentAsIs):
    """A chat client's request; its answers are chat completions without the hub's fields."""

    endpoint = ENDPOINT

    def __init__(self, body: Json, *, include_usage: bool = False) -> None:
        self.body = body
        self.model = body.get("model")
        self.include_usage = include_usage
        self.ignored_tools = []

    def to_hub(self, default_model: str) -> Json:
        chat = dict(self.body)
        chat["model"] = chat.get("model") or default_model
        return chat

    def from_hub(self, completion: Json) -> Json:
        for c in completion["choices"]:  # most answers have none of the hub's fields: sent as they are
            if "message" in c and not HUB_FIELDS.isdisjoint(c["message"]):
                break
        else:
            return completion
        choices = [{**c, "message": without_hub_fields(c["message"])} if "message" in c else c
                   for c in completion["choices"]]
        return {**completion, "choices": choices}

    def encoder(self) -> ChatRenderer:
        return ChatRenderer(self.include_usage)


class ChatRenderer:
    """Hub chunks as a chat client gets them: the hub's fields removed, and the closing usage
    chunk only when the client asked for it (`stream_options.include_usage`)."""

    def __init__(self, include_usage: bool) -> None:
        self._include_usage = include_usage
        self.usage: Json | None = None

    def start(self) -> list[Json]:
        return []

    def feed(self, chunk: Json) -> list[Json]:
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if not choices:  # the closing usage chunk
            return [chunk] if self._include_usage else []
        for c in choices:  # a loop, not all() over a generator: this runs for every chunk
            if not HUB_FIELDS.isdisjoint(c.get("delta") or ()):
                break
        else:
            return [chunk]
        stripped = [{**c, "delta": without_hub_fields(c.get("delta") or {})} for c in choices]
        if all(not c["delta"] and not c.get("finish_reason") for c in stripped):
            return []  # only hub fields: nothing for a chat client
        return [{**chunk, "choices": stripped}]

    def finish(self) -> list[Json]:
        return []

    def failed(self, message: str) -> Json | None:
        return None  # the relay ends a chat stream with its error event


__all__ = ["ENDPOINT", "ChatRequest", "ChatRenderer", "normalize_completion", "one_choice"]
