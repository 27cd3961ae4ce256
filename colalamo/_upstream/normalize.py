"""Copilot's chat answers, reshaped into exactly what OpenAI clients expect.

Copilot's replies are OpenAI-like but not OpenAI: no `object` field, a first stream chunk with
empty `choices` (the prompt filter's verdict), `index` sometimes missing, `usage` inside the
chunk with `finish_reason` whatever `stream_options` asked, several tool calls in one delta,
and (for Claude) the text and the tool calls of one answer in two separate choices. These
functions repair all of that.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from ..exceptions import BadUpstreamReply, UpstreamStreamError

Json = dict[str, Any]


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def normalize_completion(reply: Any, requested_model: str, *, merge_choices: bool = True) -> Json:
    """A non-streamed Copilot reply as an OpenAI `chat.completion` object.

    With `merge_choices` (the client asked for one choice), several upstream choices are one
    answer split up, and are joined again.
    """
    if not isinstance(reply, dict) or not isinstance(reply.get("choices"), list):
        raise BadUpstreamReply("Copilot's answer has no choices")
    choices = [_choice(choice, position) for position, choice in enumerate(reply["choices"])]
    if merge_choices and len(choices) > 1:
        choices = [_merged(choices)]
    completion = dict(reply)
    completion["id"] = reply.get("id") or new_completion_id()
    completion["object"] = "chat.completion"
    completion["created"] = int(reply.get("created") or time.time())
    completion["model"] = reply.get("model") or requested_model
    completion["choices"] = choices
    return completion


def _choice(choice: Any, position: int) -> Json:
    if not isinstance(choice, dict):
        raise BadUpstreamReply("Copilot's answer has a malformed choice")
    out = dict(choice)
    out["index"] = choice.get("index", position)
    out.setdefault("finish_reason", None)
    out.setdefault("logprobs", None)
    message = dict(choice.get("message") or {})
    message.setdefault("role", "assistant")
    message.setdefault("content", None)
    out["message"] = message
    return out


def _merged(choices: list[Json]) -> Json:
    texts = [c["message"]["content"] for c in choices if c["message"].get("content")]
    calls = [call for c in choices for call in c["message"].get("tool_calls") or []]
    first = dict(choices[0])
    message = {**first["message"], "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
        first["finish_reason"] = "tool_calls"
    first["message"] = message
    first["index"] = 0
    return first


class StreamNormalizer:
    """Turns Copilot stream chunks into OpenAI `chat.completion.chunk` objects.

    Every chunk it makes holds one choice, and every tool-call delta one call (LlamaIndex
    reads only the first); the first fragment of each call carries `id`, `type` and name.
    """

    def __init__(self, requested_model: str, *, include_usage: bool, merge_choices: bool = True) -> None:
        self._model = requested_model
        self._include_usage = include_usage
        self._merge = merge_choices
        self._id: str | None = None
        self._created = 0
        self._started: set[int] = set()
        self._finished: set[int] = set()
        self._calls: set[tuple[int, int]] = set()
        self.usage: Json | None = None

    @property
    def finished(self) -> bool:
        """True once every choice that started has sent its `finish_reason`."""
        return bool(self._finished) and self._started <= self._finished

    def feed(self, chunk: Any) -> list[Json]:
        if not isinstance(chunk, dict):
            raise UpstreamStreamError("Copilot sent a stream event that is not a JSON object")
        if "usage" in chunk and isinstance(chunk["usage"], dict):  # most chunks have none
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if not choices:  # the prompt filter's chunk, or usage alone: nothing for the client yet
            return []
        if not isinstance(choices, list):
            raise UpstreamStreamError("Copilot sent a malformed stream chunk")
        if self._id is None:
            self._id = chunk.get("id") or new_completion_id()
            self._created = int(chunk.get("created") or time.time())
            self._model = chunk.get("model") or self._model
        fingerprint = chunk.get("system_fingerprint")
        if len(choices) == 1:  # the usual chunk: its one choice read without enumerate()
            pieces = self._choices(choices[0], 0)
        else:
            pieces = [piece for position, choice in enumerate(choices) for piece in self._choices(choice, position)]
        out = []
        for piece in pieces:
            envelope = {"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                        "model": self._model, "choices": [piece]}
            if fingerprint:
                envelope["system_fingerprint"] = fingerprint
            out.append(envelope)
        return out

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

    def _choices(self, choice: Any, position: int) -> list[Json]:
        """One upstream choice delta as one or more single-call choice deltas."""
        if not isinstance(choice, dict):
            raise UpstreamStreamError("Copilot sent a malformed choice in its stream")
        index = 0 if self._merge else choice.get("index", position)
        delta = dict(choice.get("delta") or {})
        if index not in self._started:
            self._started.add(index)
            delta.setdefault("role", "assistant")  # clients read the role from the first delta
        calls = delta.pop("tool_calls", None)
        finish_reason = choice.get("finish_reason")
        if not calls or not isinstance(calls, list):  # the usual delta: one piece, built at once
            if finish_reason:
                self._finished.add(index)
            return [{"index": index, "delta": delta, "finish_reason": finish_reason,
                     "logprobs": choice.get("logprobs")}]
        deltas = [{**delta, "tool_calls": [self._call(index, 0, calls[0])]}]
        deltas += [{"tool_calls": [self._call(index, n, call)]} for n, call in enumerate(calls) if n]
        if finish_reason:
            self._finished.add(index)
        pieces = [
            {"index": index, "delta": d, "finish_reason": None, "logprobs": None} for d in deltas
        ]
        pieces[0]["logprobs"] = choice.get("logprobs")
        pieces[-1]["finish_reason"] = finish_reason
        return pieces

    def _call(self, choice_index: int, position: int, given: Any) -> Json:
        if not isinstance(given, dict):
            raise UpstreamStreamError("Copilot sent a malformed tool call in its stream")
        call: Json = {**given, "index": given.get("index", position)}
        key = (choice_index, call["index"])
        if key not in self._calls:  # the first fragment names the call
            self._calls.add(key)
            call.setdefault("id", new_call_id())
            call.setdefault("type", "function")
        return call
