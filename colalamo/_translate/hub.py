"""The hub every translation goes through: OpenAI chat completions, as colalamo normalises them.

A request in any wire format becomes a chat request, and a chat request becomes a request in
any other; answers and streams go the same way back. So each format needs only its two
directions to and from the hub, and a new format is one new module.

Chat completions cannot hold everything the other formats can. Two extensions travel inside
the hub and are removed before anything reaches a chat client:
- `reasoning_items` (on an assistant message; one per stream delta as `reasoning_item`): the
  Responses API's opaque reasoning items, which must go back to Copilot unchanged on the next
  turn;
- `reasoning_text` (on a message or a stream delta): the readable reasoning summary.
Tool calls carry `custom: true` when they stand for a Responses `custom` tool (free-form
input, sent through the hub as a function with one string argument, `input`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from .._json import MAPPING

Json = dict[str, Any]

REASONING_ITEMS = "reasoning_items"
REASONING_ITEM = "reasoning_item"
REASONING_TEXT = "reasoning_text"
HUB_ONLY = (REASONING_ITEMS, REASONING_ITEM, REASONING_TEXT)
HUB_FIELDS = frozenset(HUB_ONLY)  # for set operations: a message is looked at once, in C
CUSTOM_INPUT = "input"  # the one argument of a custom tool, on its way through the hub

#: Stop reasons of chat completions, as the other formats name them.
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def chat_usage(prompt: Any, completion: Any, cached: Any = 0, reasoning: Any = 0) -> Json:
    """A chat `usage` object from token counts in any format."""
    prompt_tokens, completion_tokens = int(prompt or 0), int(completion or 0)
    usage: Json = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cached:
        usage["prompt_tokens_details"] = {"cached_tokens": int(cached)}
    if reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": int(reasoning)}
    return usage


def usage_numbers(usage: Mapping[str, Any] | None) -> tuple[int, int, int, int]:
    """(prompt, completion, cached, reasoning) tokens of a chat `usage` object."""
    usage = usage or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0), int(cached), int(reasoning)


def text_of(content: Any) -> str:
    """The text of message content in any format: a string, or parts with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text") or "") for part in content
            if isinstance(part, MAPPING) and part.get("type") in ("text", "input_text", "output_text")
        )
    return ""


def without_hub_fields(value: Json) -> Json:
    """A chat message or delta as chat clients get it: the hub's extensions removed."""
    if HUB_FIELDS.isdisjoint(value):
        return value
    return {k: v for k, v in value.items() if k not in HUB_ONLY}


_Event = TypeVar("_Event")


class SentAsIs:
    """How a client's request goes to the Copilot endpoint of its own format, and how that
    endpoint's answers come back: as they are, unless a format overrides these. Tools the
    model cannot take are left out and named in `ignored_tools` (a translation fills it too)."""

    body: Json
    ignored_tools: list[str]

    def native_body(self, model: str) -> Json:
        return {**self.body, "model": model}

    def native_answer(self, answer: Any) -> Any:
        return answer

    def native_event(self, event: Json) -> Json:
        return event


class ChunkTranslator(Generic[_Event]):
    """Walks hub chunks (one choice, one tool call per delta, each call with its `index`)
    and asks the subclass for its format's events, part by part."""

    def feed(self, chunk: Json) -> list[_Event]:
        if chunk.get("usage"):
            self.on_usage(chunk["usage"])
        events: list[_Event] = []
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get(REASONING_TEXT):
                events += self.on_reasoning_text(delta[REASONING_TEXT])
            if delta.get(REASONING_ITEM):
                events += self.on_reasoning_item(delta[REASONING_ITEM])
            if delta.get("content"):
                events += self.on_text(delta["content"])
            for call in delta.get("tool_calls") or []:
                events += self.on_tool_call(call)
            if choice.get("finish_reason"):
                self.on_finish(choice["finish_reason"])
        return events

    def on_usage(self, usage: Json) -> None:
        pass

    def on_reasoning_text(self, text: str) -> list[_Event]:
        return []

    def on_reasoning_item(self, item: Json) -> list[_Event]:
        return []

    def on_text(self, text: str) -> list[_Event]:
        raise NotImplementedError

    def on_tool_call(self, call: Json) -> list[_Event]:
        raise NotImplementedError

    def on_finish(self, reason: str) -> None:
        pass


class RawChunks:
    """Builds Copilot-style chat chunks, for translators that turn another format's stream
    into the hub (the stream normaliser then makes them exact)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id = new_id("chatcmpl")
        self._call_index: dict[str, int] = {}

    def chunk(self, delta: Json, finish_reason: str | None = None, usage: Json | None = None) -> Json:
        chunk: Json = {"id": self.id, "model": self.model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
        if usage is not None:
            chunk["usage"] = usage
        return chunk

    def call_index(self, key: str) -> int:
        """The hub index of a tool call, by the upstream's own key for it (item id, block index)."""
        return self._call_index.setdefault(key, len(self._call_index))

    def known_call(self, key: str) -> int | None:
        return self._call_index.get(key)

    @property
    def calls(self) -> int:
        return len(self._call_index)

    def start_call(self, key: str, call_id: str, name: str, *, custom: bool = False, arguments: str = "") -> Json:
        call: Json = {"index": self.call_index(key), "id": call_id, "type": "function",
                      "function": {"name": name, "arguments": arguments}}
        if custom:
            call["custom"] = True
        return self.chunk({"tool_calls": [call]})

    def arguments(self, key: str, fragment: str) -> Json | None:
        index = self.known_call(key)
        if index is None:
            return None
        return self.chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
