"""Copilot's chat answers, reshaped into exactly what OpenAI clients expect.

Copilot's replies are OpenAI-like but not OpenAI: no `object` field, a first stream chunk with
empty `choices` (the prompt filter's verdict), `index` sometimes missing, and `usage` inside the
chunk with `finish_reason` whatever `stream_options` asked. These functions repair that.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from ..exceptions import UpstreamStatusError, UpstreamStreamError

Json = dict[str, Any]


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def normalize_completion(reply: Any, requested_model: str) -> Json:
    """A non-streamed Copilot reply as an OpenAI `chat.completion` object."""
    if not isinstance(reply, dict) or not isinstance(reply.get("choices"), list):
        raise UpstreamStatusError(502, "Copilot's answer has no choices", code="bad_upstream_reply")
    completion = dict(reply)
    completion["id"] = reply.get("id") or new_completion_id()
    completion["object"] = "chat.completion"
    completion["created"] = int(reply.get("created") or time.time())
    completion["model"] = reply.get("model") or requested_model
    completion["choices"] = [_choice(choice, position) for position, choice in enumerate(reply["choices"])]
    return completion


def _choice(choice: Any, position: int) -> Json:
    if not isinstance(choice, dict):
        raise UpstreamStatusError(502, "Copilot's answer has a malformed choice", code="bad_upstream_reply")
    out = dict(choice)
    out["index"] = choice.get("index", position)
    out.setdefault("finish_reason", None)
    out.setdefault("logprobs", None)
    message = dict(choice.get("message") or {})
    message.setdefault("role", "assistant")
    message.setdefault("content", None)
    out["message"] = message
    return out


class StreamNormalizer:
    """Turns Copilot stream chunks into OpenAI `chat.completion.chunk` objects."""

    def __init__(self, requested_model: str, *, include_usage: bool) -> None:
        self._model = requested_model
        self._include_usage = include_usage
        self._id: str | None = None
        self._created = 0
        self._started: set[int] = set()
        self._finished: set[int] = set()
        self.usage: Json | None = None

    @property
    def finished(self) -> bool:
        """True once every choice that started has sent its `finish_reason`."""
        return bool(self._finished) and self._started <= self._finished

    def feed(self, chunk: Any) -> list[Json]:
        if not isinstance(chunk, dict):
            raise UpstreamStreamError("Copilot sent a stream event that is not a JSON object")
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if not choices:  # the prompt filter's chunk, or usage alone: nothing for the client yet
            return []
        if self._id is None:
            self._id = chunk.get("id") or new_completion_id()
            self._created = int(chunk.get("created") or time.time())
            self._model = chunk.get("model") or self._model
        out = self._envelope()
        out["choices"] = [self._choice(choice, position) for position, choice in enumerate(choices)]
        if chunk.get("system_fingerprint"):
            out["system_fingerprint"] = chunk["system_fingerprint"]
        return [out]

    def finish(self) -> list[Json]:
        """What follows the last chunk: the usage chunk, when the client asked for it."""
        if not self._include_usage:
            return []
        if self._id is None:
            self._id, self._created = new_completion_id(), int(time.time())
        out = self._envelope()
        out["choices"] = []
        out["usage"] = self.usage
        return [out]

    def _envelope(self) -> Json:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
        }

    def _choice(self, choice: Any, position: int) -> Json:
        if not isinstance(choice, dict):
            raise UpstreamStreamError("Copilot sent a malformed choice in its stream")
        index = choice.get("index", position)
        delta = dict(choice.get("delta") or {})
        if index not in self._started:
            self._started.add(index)
            delta.setdefault("role", "assistant")  # clients read the role from the first delta
        if isinstance(delta.get("tool_calls"), list):
            delta["tool_calls"] = [
                {**call, "index": call.get("index", n)} if isinstance(call, dict) else call
                for n, call in enumerate(delta["tool_calls"])
            ]
        finish_reason = choice.get("finish_reason")
        if finish_reason:
            self._finished.add(index)
        return {
            "index": index,
            "delta": delta,
            "finish_reason": finish_reason,
            "logprobs": choice.get("logprobs"),
        }
