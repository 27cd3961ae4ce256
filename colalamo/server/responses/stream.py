"""Chat-completion chunks -> Responses stream events, each with its `sequence_number`."""

from __future__ import annotations

from typing import Any

from ..streaming import ChunkTranslator
from .translate import ResponseShape, call_item, message_item, new_id

Json = dict[str, Any]


class ResponsesStream(ChunkTranslator[Json]):
    def __init__(self, shape: ResponseShape) -> None:
        self._shape = shape
        self._sequence = 0
        self._output: list[Json] = []  # finished items
        self._text: str | None = None  # the open message's text, while one is open
        self._text_id = ""
        self._call: Json | None = None  # the open function call, while one is open
        self._calls: list[Json] = []  # chat-format calls, for the conversation store
        self._finish_reason: str | None = None
        self._usage: Json | None = None

    # what the route needs at the end ------------------------------------------------------

    @property
    def usage(self) -> Json | None:
        return self._usage

    @property
    def assistant_message(self) -> Json:
        text = "".join(
            part["text"] for item in self._output if item["type"] == "message" for part in item["content"]
        )
        message: Json = {"role": "assistant", "content": text or None}
        if self._calls:
            message["tool_calls"] = self._calls
        return message

    # events --------------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> Json:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def start(self) -> list[Json]:
        response = self._shape.build("in_progress", [])
        return [self._event("response.created", response=response), self._event("response.in_progress", response=response)]

    def on_usage(self, usage: Json) -> None:
        self._usage = usage

    def on_finish(self, reason: str) -> None:
        self._finish_reason = reason

    def finish(self) -> list[Json]:
        events = self._close()
        incomplete = self._finish_reason == "length"
        response = self._shape.build("incomplete" if incomplete else "completed", self._output, self._usage, incomplete=incomplete)
        events.append(self._event("response.incomplete" if incomplete else "response.completed", response=response))
        return events

    def failed(self, message: str) -> Json:
        response = self._shape.build("failed", self._output, self._usage, error={"code": "server_error", "message": message})
        return self._event("response.failed", response=response)

    # items ---------------------------------------------------------------------------------

    @property
    def _index(self) -> int:
        return len(self._output)

    def on_text(self, text: str) -> list[Json]:
        events: list[Json] = []
        if self._text is None:
            events += self._close()
            self._text, self._text_id = "", new_id("msg")
            item = {**message_item("", self._text_id, "in_progress"), "content": []}
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            events.append(self._event("response.output_item.added", output_index=self._index, item=item))
            events.append(self._event("response.content_part.added", item_id=self._text_id,
                                      output_index=self._index, content_index=0, part=part))
        self._text += text
        events.append(self._event("response.output_text.delta", item_id=self._text_id, output_index=self._index,
                                  content_index=0, delta=text, logprobs=[]))
        return events

    def on_tool_call(self, call: Json) -> list[Json]:
        events: list[Json] = []
        function = call.get("function") or {}
        if call.get("id"):  # a new call starts
            events += self._close()
            self._call = {"id": call["id"], "type": "function",
                          "function": {"name": function.get("name", ""), "arguments": ""}}
            self._call_item_id = new_id("fc")
            item = call_item(self._call, self._call_item_id, "in_progress")
            events.append(self._event("response.output_item.added", output_index=self._index, item=item))
        if self._call is not None and function.get("arguments"):
            self._call["function"]["arguments"] += function["arguments"]
            events.append(self._event("response.function_call_arguments.delta", item_id=self._call_item_id,
                                      output_index=self._index, delta=function["arguments"]))
        return events

    def _close(self) -> list[Json]:
        events: list[Json] = []
        if self._text is not None:
            item = message_item(self._text, self._text_id)
            part = item["content"][0]
            events.append(self._event("response.output_text.done", item_id=self._text_id, output_index=self._index,
                                      content_index=0, text=self._text, logprobs=[]))
            events.append(self._event("response.content_part.done", item_id=self._text_id,
                                      output_index=self._index, content_index=0, part=part))
            events.append(self._event("response.output_item.done", output_index=self._index, item=item))
            self._output.append(item)
            self._text = None
        if self._call is not None:
            item = call_item(self._call, self._call_item_id)
            events.append(self._event("response.function_call_arguments.done", item_id=self._call_item_id,
                                      output_index=self._index, name=item["name"], arguments=item["arguments"]))
            events.append(self._event("response.output_item.done", output_index=self._index, item=item))
            self._output.append(item)
            self._calls.append(self._call)
            self._call = None
        return events
