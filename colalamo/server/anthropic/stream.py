"""OpenAI chat-completion chunks -> Anthropic Messages stream events."""

from __future__ import annotations

from typing import Any

from ..streaming import ChunkTranslator
from .translate import STOP_REASONS, new_message_id

Json = dict[str, Any]
Event = tuple[str, Json]  # (event name, payload whose "type" is that name)


def _event(payload: Json) -> Event:
    return payload["type"], payload


class AnthropicStream(ChunkTranslator[Event]):
    """A state machine: feed it chunks (one choice, one tool call per delta), get events."""

    def __init__(self, model: str, input_tokens: int) -> None:
        self._model = model
        self._input_tokens = input_tokens
        self._index = -1
        self._open: str | None = None  # "text" or "tool_use"
        self._stop_reason = "end_turn"
        self._output_tokens = 0

    @property
    def usage(self) -> dict[str, int]:
        return {"input_tokens": self._input_tokens, "output_tokens": self._output_tokens}

    def start(self) -> list[Event]:
        message: Json = {
            "id": new_message_id(),
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self._input_tokens, "output_tokens": 0},
        }
        return [_event({"type": "message_start", "message": message}), _event({"type": "ping"})]

    def on_usage(self, usage: Json) -> None:
        self._input_tokens = int(usage.get("prompt_tokens") or self._input_tokens)
        self._output_tokens = int(usage.get("completion_tokens") or 0)

    def on_finish(self, reason: str) -> None:
        self._stop_reason = STOP_REASONS.get(reason, "end_turn")

    def finish(self) -> list[Event]:
        events = self._close()
        events.append(_event({
            "type": "message_delta",
            "delta": {"stop_reason": self._stop_reason, "stop_sequence": None},
            "usage": {"input_tokens": self._input_tokens, "output_tokens": self._output_tokens},
        }))
        events.append(_event({"type": "message_stop"}))
        return events

    def _open_block(self, kind: str, block: Json) -> list[Event]:
        events = self._close()
        self._index += 1
        self._open = kind
        events.append(_event({"type": "content_block_start", "index": self._index, "content_block": block}))
        return events

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        self._open = None
        return [_event({"type": "content_block_stop", "index": self._index})]

    def _delta(self, delta: Json) -> Event:
        return _event({"type": "content_block_delta", "index": self._index, "delta": delta})

    def on_text(self, text: str) -> list[Event]:
        events = [] if self._open == "text" else self._open_block("text", {"type": "text", "text": ""})
        return [*events, self._delta({"type": "text_delta", "text": text})]

    def on_tool_call(self, call: Json) -> list[Event]:
        function = call.get("function") or {}
        events: list[Event] = []
        if call.get("id"):  # the first fragment of a call: a new tool_use block
            events = self._open_block(
                "tool_use", {"type": "tool_use", "id": call["id"], "name": function.get("name", ""), "input": {}}
            )
        if function.get("arguments"):
            events.append(self._delta({"type": "input_json_delta", "partial_json": function["arguments"]}))
        return events
