"""OpenAI Responses <-> the hub (chat completions): requests, whole answers and streams.

Reasoning items travel through the hub unchanged (Copilot refuses altered ones). A `custom`
tool (free-form input, such as Codex's `apply_patch`) crosses as a function with one string
argument and comes back as a `custom_tool_call`; the functions of a `namespace` tool are
flattened to `<namespace>__<name>` and named back on the way down. Hosted tools
(`web_search`, ...) have no hub equivalent: translations leave them out and say so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..exceptions import (
    BadUpstreamReply,
    InvalidRequest,
    UpstreamStreamError,
)
from .hub import (
    CUSTOM_INPUT,
    REASONING_ITEM,
    REASONING_ITEMS,
    REASONING_TEXT,
    ChunkTranslator,
    Json,
    RawChunks,
    SentAsIs,
    chat_usage,
    new_id,
    text_of,
    usage_numbers,
)

ENDPOINT = "/responses"
TEXT_PARTS = frozenset({"input_text", "output_text", "text", "refusal"})
NAMESPACE_SEPARATOR = "__"
ENCRYPTED_REASONING = "reasoning.encrypted_content"
# What Copilot's /responses takes as it is: client tools, and the hosted tool it runs itself.
PASSED_ON_RESPONSES = frozenset({"function", "custom", "web_search"})
DROPPED_ITEMS = frozenset({"web_search_call", "compaction"})  # records of hosted work: no hub place
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})


# tools -------------------------------------------------------------------------------------


class ToolMap:
    """How a Responses request's tools cross the hub, and how their calls come back."""

    def __init__(self, tools: Any) -> None:
        self.functions: list[Json] = []
        self.ignored: list[str] = []
        self.custom: set[str] = set()
        self._namespaced: dict[str, tuple[str, str]] = {}  # flat name -> (namespace, name)
        for tool in tools or []:
            self._add(tool)

    def _add(self, tool: Json) -> None:
        kind = tool.get("type")
        if kind == "function":
            self.functions.append(_function(tool["name"], tool.get("description"), tool.get("parameters")))
        elif kind == "custom":
            self.custom.add(tool["name"])
            self.functions.append(_function(tool["name"], _custom_description(tool), {
                "type": "object", "properties": {CUSTOM_INPUT: {"type": "string"}}, "required": [CUSTOM_INPUT]}))
        elif kind == "namespace":
            for inner in tool.get("tools") or []:
                flat = f"{tool['name']}{NAMESPACE_SEPARATOR}{inner['name']}"
                self._namespaced[flat] = (tool["name"], inner["name"])
                self.functions.append(_function(flat, inner.get("description"), inner.get("parameters")))
        else:
            self.ignored.append(str(tool.get("name") or kind))

    def call_item(self, call_id: str, name: str, arguments: str, item_id: str, status: str = "completed") -> Json:
        """The output item for a call the model made to the hub function `name`."""
        if name in self.custom:
            return {"type": "custom_tool_call", "id": item_id, "call_id": call_id, "status": status,
                    "name": name, "input": custom_input(arguments)}
        item: Json = {"type": "function_call", "id": item_id, "call_id": call_id, "status": status,
                      "name": name, "arguments": arguments}
        if name in self._namespaced:
            item["namespace"], item["name"] = self._namespaced[name]
        return item


class NativeTools:
    """A Responses request as Copilot's own `/responses` takes it, and its answers named back.

    Copilot refuses `namespace` tools: their functions go up flattened (as `ToolMap` does for
    the hub), and calls to them, in the input and in the answer, carry their namespace again.
    Hosted tools Copilot runs itself pass; other tool types are left out (`ignored`).
    """

    def __init__(self, body: Json) -> None:
        self.ignored: list[str] = []
        self._namespaced: dict[str, tuple[str, str]] = {}
        self._tools = [tool for given in body.get("tools") or [] for tool in self._flatten(given)]

    def _flatten(self, tool: Json) -> list[Json]:
        kind = tool.get("type")
        if kind in PASSED_ON_RESPONSES:
            return [tool]
        if kind == "namespace":
            flat = []
            for inner in tool.get("tools") or []:
                name = f"{tool['name']}{NAMESPACE_SEPARATOR}{inner['name']}"
                self._namespaced[name] = (tool["name"], inner["name"])
                flat.append({**inner, "type": "function", "name": name})
            return flat
        self.ignored.append(str(tool.get("name") or kind))
        return []

    def body(self, body: Json) -> Json:
        """`body` with flat tools, and the namespaced calls of its input flattened too."""
        out = {**body}
        if "tools" in body:
            out["tools"] = self._tools
        if isinstance(body.get("input"), list):
            out["input"] = [_flat_call(item) for item in body["input"]]
        return out

    def item(self, item: Any) -> Any:
        if isinstance(item, dict) and item.get("type") == "function_call" and item.get("name") in self._namespaced:
            item = {**item}
            item["namespace"], item["name"] = self._namespaced[item["name"]]
        return item

    def answer(self, response: Any) -> Any:
        if not self._namespaced or not isinstance(response, dict) or not isinstance(response.get("output"), list):
            return response
        return {**response, "output": [self.item(item) for item in response["output"]]}

    def event(self, event: Json) -> Json:
        """A stream event with the calls it holds named back (items, the final response)."""
        if not self._namespaced:
            return event
        if "item" in event:
            event = {**event, "item": self.item(event["item"])}
        if isinstance(event.get("response"), dict):
            event = {**event, "response": self.answer(event["response"])}
        if event.get("name") in self._namespaced:
            event = {**event}
            event["namespace"], event["name"] = self._namespaced[event["name"]]
        return event


def _flat_call(item: Any) -> Any:
    if isinstance(item, dict) and item.get("type") == "function_call" and item.get("namespace"):
        return {**{k: v for k, v in item.items() if k != "namespace"}, "name": _hub_name(item)}
    return item


def _function(name: str, description: Any, parameters: Any) -> Json:
    return {"type": "function", "function": {
        "name": name, "description": description or "",
        "parameters": parameters or {"type": "object", "properties": {}}}}


def _custom_description(tool: Json) -> str:
    description = tool.get("description") or ""
    fmt = tool.get("format") or {}
    if fmt.get("type") == "grammar":
        syntax, definition = fmt.get("syntax", ""), fmt.get("definition", "")
        description += (f"\n\nPut the whole input in `{CUSTOM_INPUT}`; "
                        f"it must match this {syntax} grammar:\n{definition}")
    return description


def custom_input(arguments: str) -> str:
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return arguments
    return str(parsed.get(CUSTOM_INPUT, "")) if isinstance(parsed, dict) else str(parsed)


def _custom_arguments(item: Json) -> str:
    """A custom tool call's free-text input as the hub's one JSON string argument."""
    return json.dumps({CUSTOM_INPUT: item.get("input", "")})


# Responses request -> hub ------------------------------------------------------------------


def _content(parts: Any, where: str) -> str | list[Json]:
    if isinstance(parts, str):
        return parts
    out: list[Json] = []
    for n, part in enumerate(parts):
        kind = part.get("type")
        if kind in TEXT_PARTS:
            out.append({"type": "text", "text": part.get("text") or part.get("refusal") or ""})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            image: Json = {"url": part["image_url"]}
            if part.get("detail"):
                image["detail"] = part["detail"]
            out.append({"type": "image_url", "image_url": image})
        else:
            raise InvalidRequest(f"'{where}.content[{n}]' of type {kind!r} is not supported (only text and image URLs)",
                                 param=f"{where}.content")
    return out


def _assistant(messages: list[Json]) -> Json:
    """The assistant turn a call joins: the last message if it is an assistant's, else a new one."""
    last = messages[-1] if messages else None
    if last is None or last["role"] != "assistant":
        last = {"role": "assistant", "content": None}
        messages.append(last)
    return last


def input_messages(value: Any) -> list[Json]:
    """The `input` of a Responses request as hub messages."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    messages: list[Json] = []
    pending_reasoning: list[Json] = []
    for n, item in enumerate(value):
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            content = _content(item.get("content", ""), f"input[{n}]")
            if item["role"] == "assistant":
                text = text_of(content) if isinstance(content, list) else content
                last = messages[-1] if messages else None
                if last is not None and last["role"] == "assistant" and not last.get("content"):
                    last["content"] = text  # the text of a turn whose calls came first
                else:
                    messages.append({"role": "assistant", "content": text})
            else:
                messages.append({"role": item["role"], "content": content})
        elif kind in ("function_call", "custom_tool_call"):
            turn = _assistant(messages)
            arguments = item.get("arguments", "") if kind == "function_call" else _custom_arguments(item)
            turn.setdefault("tool_calls", []).append({
                "id": item["call_id"], "type": "function",
                "function": {"name": _hub_name(item), "arguments": arguments}})
        elif kind in ("function_call_output", "custom_tool_call_output"):
            output = item.get("output", "")
            messages.append({"role": "tool", "tool_call_id": item["call_id"],
                             "content": output if isinstance(output, str) else text_of(output)})
        elif kind == "reasoning":
            if item.get("encrypted_content"):
                pending_reasoning.append(item)
            continue
        elif kind in DROPPED_ITEMS:
            continue
        else:
            raise InvalidRequest(f"'input[{n}].type' {kind!r} is not supported", param=f"input[{n}].type")
        if pending_reasoning and messages and messages[-1]["role"] == "assistant":
            messages[-1].setdefault(REASONING_ITEMS, []).extend(pending_reasoning)
            pending_reasoning = []
    return messages


def request_to_chat(body: Json, default_model: str) -> tuple[Json, ToolMap]:
    """A Responses request (its `input` already holding any earlier turns) as a hub request,
    and the map that names its tool calls back."""
    tools = ToolMap(body.get("tools"))
    messages = input_messages(body["input"])
    if body.get("instructions"):
        messages.insert(0, {"role": "system", "content": body["instructions"]})
    chat: Json = {"model": body.get("model") or default_model, "messages": messages}
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    for name in ("temperature", "top_p", "parallel_tool_calls"):
        if body.get(name) is not None:
            chat[name] = body[name]
    if tools.functions:
        chat["tools"] = tools.functions
        choice = body.get("tool_choice")
        if isinstance(choice, dict) and choice.get("name"):
            chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
        elif choice in ("auto", "none", "required"):
            chat["tool_choice"] = choice
    text_format = ((body.get("text") or {}).get("format") or {})
    if text_format.get("type") == "json_schema":
        chat["response_format"] = {"type": "json_schema", "json_schema": {
            "name": text_format.get("name", "output"), "schema": text_format.get("schema", {}),
            "strict": text_format.get("strict", False)}}
    elif text_format.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    effort = (body.get("reasoning") or {}).get("effort")
    if effort:
        chat["reasoning_effort"] = effort
    return chat, tools


# hub request -> Responses ------------------------------------------------------------------

UNTRANSLATABLE = {
    "stop": "stop sequences",
    "logprobs": "log probabilities",
    "logit_bias": "logit_bias",
}


def _input_parts(content: Any, assistant: bool) -> list[Json]:
    if isinstance(content, str):
        return [{"type": "output_text" if assistant else "input_text", "text": content}]
    parts: list[Json] = []
    for part in content or []:
        if part.get("type") == "text":
            parts.append({"type": "output_text" if assistant else "input_text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            image = part.get("image_url")
            url = image.get("url", "") if isinstance(image, dict) else str(image or "")
            detail = image.get("detail", "auto") if isinstance(image, dict) else "auto"
            parts.append({"type": "input_image", "image_url": url, "detail": detail})
    return parts


def _input_items(messages: list[Json]) -> tuple[list[str], list[Json]]:
    instructions: list[str] = []
    items: list[Json] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer") and not items:
            instructions.append(text_of(message.get("content")))
        elif role in ("system", "developer", "user"):
            items.append({"type": "message", "role": role, "content": _input_parts(message.get("content"), False)})
        elif role == "tool":
            items.append({"type": "function_call_output", "call_id": message.get("tool_call_id"),
                          "output": text_of(message.get("content"))})
        elif role == "assistant":
            items.extend(message.get(REASONING_ITEMS) or [])
            if message.get("content"):
                items.append({"type": "message", "role": "assistant",
                              "content": _input_parts(message["content"], True)})
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                items.append({"type": "function_call", "call_id": call.get("id"), "name": function.get("name"),
                              "arguments": function.get("arguments") or ""})
    return instructions, items


def request_from_chat(chat: Json, info: Mapping[str, Any] | None) -> Json:
    """A hub request as a Responses request (for a model Copilot serves only there).

    Reasoning is asked for encrypted and not stored, so the next turn can carry it back.
    """
    for name, what in UNTRANSLATABLE.items():
        if chat.get(name):
            raise InvalidRequest(f"the model {chat['model']!r} is served through the Responses API, "
                                 f"which has no {what}", param=name)
    instructions, items = _input_items(chat["messages"])
    body: Json = {"model": chat["model"], "input": items, "store": False, "include": [ENCRYPTED_REASONING]}
    if instructions:
        body["instructions"] = "\n\n".join(instructions)
    limit = chat.get("max_completion_tokens") or chat.get("max_tokens")
    if limit:
        body["max_output_tokens"] = limit
    for name in ("temperature", "top_p", "parallel_tool_calls"):
        if chat.get(name) is not None:
            body[name] = chat[name]
    if chat.get("tools"):
        body["tools"] = [{"type": "function", "name": t["function"]["name"],
                          "description": t["function"].get("description", ""),
                          "parameters": t["function"].get("parameters") or {"type": "object", "properties": {}},
                          **({"strict": t["function"]["strict"]} if "strict" in t["function"] else {})}
                         for t in chat["tools"]]
        choice = chat.get("tool_choice")
        if isinstance(choice, dict):
            body["tool_choice"] = {"type": "function", "name": (choice.get("function") or {}).get("name")}
        elif choice is not None:
            body["tool_choice"] = choice
    fmt = chat.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = fmt.get("json_schema") or {}
        body["text"] = {"format": {"type": "json_schema", "name": schema.get("name", "output"),
                                   "schema": schema.get("schema", {}), "strict": bool(schema.get("strict"))}}
    elif fmt.get("type") == "json_object":
        body["text"] = {"format": {"type": "json_object"}}
    if chat.get("reasoning_effort"):
        body["reasoning"] = {"effort": chat["reasoning_effort"], "summary": "auto"}
    return body


# whole answers -----------------------------------------------------------------------------


def message_item(text: str, item_id: str, status: str = "completed") -> Json:
    return {
        "type": "message", "id": item_id, "status": status, "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def responses_usage(chat: Json | None) -> Json:
    prompt, completion, cached, reasoning = usage_numbers(chat)
    return {
        "input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion,
    }


class ResponseShape:
    """The fields of one response that do not depend on its answer."""

    def __init__(self, body: Json, model: str, tools: ToolMap | None = None) -> None:
        self.id = new_id("resp")
        self.created_at = int(time.time())
        self.body = body
        self.model = model
        self.tools = tools or ToolMap(body.get("tools"))

    def build(self, status: str, output: list[Json], chat_usage: Json | None = None, *,
              incomplete: bool = False, error: Json | None = None) -> Json:
        body = self.body
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": error,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": self.model,
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
            "temperature": body.get("temperature"),
            "top_p": body.get("top_p"),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "text": body.get("text") or {"format": {"type": "text"}},
            "truncation": "disabled",
            "metadata": body.get("metadata") or {},
            "store": body.get("store", True),
            "usage": responses_usage(chat_usage) if status != "in_progress" else None,
        }


def _reasoning_output(item: Json, summary: str) -> Json:
    out = dict(item)
    out.setdefault("id", new_id("rs"))
    if summary and not out.get("summary"):
        out["summary"] = [{"type": "summary_text", "text": summary}]
    out.setdefault("summary", [])
    return out


def answer_from_chat(completion: Json, shape: ResponseShape) -> Json:
    """A hub chat completion as the response object."""
    choice = completion["choices"][0]
    message = choice.get("message") or {}
    output: list[Json] = [_reasoning_output(item, message.get(REASONING_TEXT) or "")
                          for item in message.get(REASONING_ITEMS) or []]
    if message.get("content"):
        output.append(message_item(message["content"], new_id("msg")))
    for call in message.get("tool_calls") or []:
        function = call["function"]
        arguments = function.get("arguments") or ""
        output.append(shape.tools.call_item(call["id"], function["name"], arguments, new_id("fc")))
    incomplete = choice.get("finish_reason") == "length"
    status = "incomplete" if incomplete else "completed"
    return shape.build(status, output, completion.get("usage"), incomplete=incomplete)


def _finish_reason(response: Json, calls: bool) -> str:
    details = response.get("incomplete_details") or {}
    if response.get("status") == "incomplete":
        return "content_filter" if details.get("reason") == "content_filter" else "length"
    return "tool_calls" if calls else "stop"


def _chat_usage(usage: Any) -> Json:
    usage = usage if isinstance(usage, dict) else {}
    return chat_usage(usage.get("input_tokens"), usage.get("output_tokens"),
                      (usage.get("input_tokens_details") or {}).get("cached_tokens"),
                      (usage.get("output_tokens_details") or {}).get("reasoning_tokens"))


def answer_to_chat(response: Any) -> Json:
    """Copilot's response object as a (Copilot-style) chat completion, for the hub."""
    if not isinstance(response, dict) or not isinstance(response.get("output"), list):
        raise BadUpstreamReply("Copilot's /responses answer has no output")
    texts: list[str] = []
    calls: list[Json] = []
    reasoning: list[Json] = []
    summaries: list[str] = []
    for item in response["output"]:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "message":
            texts.append(text_of(item.get("content")))
        elif kind == "function_call":
            calls.append({"id": item.get("call_id"), "type": "function",
                          "function": {"name": _hub_name(item), "arguments": item.get("arguments") or ""}})
        elif kind == "custom_tool_call":
            calls.append({"id": item.get("call_id"), "type": "function", "custom": True,
                          "function": {"name": item.get("name"), "arguments": _custom_arguments(item)}})
        elif kind == "reasoning":
            reasoning.append(item)
            summaries.extend(s.get("text", "") for s in item.get("summary") or [] if isinstance(s, dict))
    message: Json = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        message[REASONING_ITEMS] = reasoning
    if summaries:
        message[REASONING_TEXT] = "\n\n".join(summaries)
    return {
        "id": response.get("id"), "model": response.get("model"), "created": response.get("created_at"),
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(response, bool(calls))}],
        "usage": _chat_usage(response.get("usage")),
    }


def _hub_name(item: Mapping[str, Any]) -> str:
    """A call item's function name in the hub: a namespace's functions are flattened."""
    namespace = item.get("namespace")
    return f"{namespace}{NAMESPACE_SEPARATOR}{item.get('name')}" if namespace else str(item.get("name") or "")


# streams -----------------------------------------------------------------------------------


class ChatToResponses(ChunkTranslator[Json]):
    """Hub chunks -> Responses stream events, each with its `sequence_number`.

    Parallel tool calls are separate output items from the start, and every argument
    fragment goes to the item of its own call (by the call's index).
    """

    def __init__(self, shape: ResponseShape) -> None:
        self._shape = shape
        self._sequence = 0
        self._items: dict[int, Json] = {}  # output index -> the item as it stands
        self._done: set[int] = set()
        self._text_index: int | None = None  # the open message item, while one is open
        self._reasoning_index: int | None = None
        self._calls: dict[int, int] = {}  # hub call index -> output index
        self._arguments: dict[int, str] = {}  # output index -> a call's arguments so far
        self._finish_reason: str | None = None
        self._usage: Json | None = None

    @property
    def usage(self) -> Json | None:
        return self._usage

    @property
    def output(self) -> list[Json]:
        return [self._items[index] for index in sorted(self._items)]

    def _event(self, kind: str, **fields: Any) -> Json:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def start(self) -> list[Json]:
        response = self._shape.build("in_progress", [])
        return [self._event("response.created", response=response),
                self._event("response.in_progress", response=response)]

    def on_usage(self, usage: Json) -> None:
        self._usage = usage

    def on_finish(self, reason: str) -> None:
        self._finish_reason = reason

    def finish(self) -> list[Json]:
        events = self._close_all()
        incomplete = self._finish_reason == "length"
        status = "incomplete" if incomplete else "completed"
        response = self._shape.build(status, self.output, self._usage, incomplete=incomplete)
        events.append(self._event("response.incomplete" if incomplete else "response.completed", response=response))
        return events

    def failed(self, message: str) -> Json:
        error = {"code": "server_error", "message": message}
        response = self._shape.build("failed", self.output, self._usage, error=error)
        return self._event("response.failed", response=response)

    def _add(self, item: Json) -> tuple[int, Json]:
        index = len(self._items)
        self._items[index] = item
        return index, self._event("response.output_item.added", output_index=index, item=dict(item))

    # reasoning ---------------------------------------------------------------------------

    def on_reasoning_text(self, text: str) -> list[Json]:
        events: list[Json] = []
        if self._reasoning_index is None:
            events += self._close_text()
            self._reasoning_index, added = self._add({"type": "reasoning", "id": new_id("rs"), "summary": []})
            events.append(added)
            item_id = self._items[self._reasoning_index]["id"]
            events.append(self._event("response.reasoning_summary_part.added", item_id=item_id,
                                      output_index=self._reasoning_index, summary_index=0,
                                      part={"type": "summary_text", "text": ""}))
            self._items[self._reasoning_index]["summary"] = [{"type": "summary_text", "text": ""}]
        item = self._items[self._reasoning_index]
        item["summary"][0]["text"] += text
        events.append(self._event("response.reasoning_summary_text.delta", item_id=item["id"],
                                  output_index=self._reasoning_index, summary_index=0, delta=text))
        return events

    def on_reasoning_item(self, reasoning: Json) -> list[Json]:
        events: list[Json] = []
        if self._reasoning_index is None:
            events += self._close_text()
            reasoning_id = reasoning.get("id") or new_id("rs")
            self._reasoning_index, added = self._add({"type": "reasoning", "id": reasoning_id, "summary": []})
            events.append(added)
        index = self._reasoning_index
        summary = self._items[index].get("summary") or []
        self._items[index] = {**reasoning, "summary": reasoning.get("summary") or summary}
        events += self._close_reasoning()
        return events

    def _close_reasoning(self) -> list[Json]:
        index = self._reasoning_index
        if index is None:
            return []
        self._reasoning_index = None
        item = self._items[index]
        events: list[Json] = []
        for n, part in enumerate(item.get("summary") or []):
            events.append(self._event("response.reasoning_summary_text.done", item_id=item["id"], output_index=index,
                                      summary_index=n, text=part.get("text", "")))
            events.append(self._event("response.reasoning_summary_part.done", item_id=item["id"], output_index=index,
                                      summary_index=n, part=part))
        self._done.add(index)
        events.append(self._event("response.output_item.done", output_index=index, item=item))
        return events

    # text --------------------------------------------------------------------------------

    def on_text(self, text: str) -> list[Json]:
        events: list[Json] = self._close_reasoning()
        if self._text_index is None:
            item = {**message_item("", new_id("msg"), "in_progress"), "content": []}
            self._text_index, added = self._add(item)
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            item["content"] = [dict(part)]
            events.append(added)
            events.append(self._event("response.content_part.added", item_id=item["id"],
                                      output_index=self._text_index, content_index=0, part=part))
        item = self._items[self._text_index]
        item["content"][0]["text"] += text
        events.append(self._event("response.output_text.delta", item_id=item["id"], output_index=self._text_index,
                                  content_index=0, delta=text, logprobs=[]))
        return events

    def _close_text(self) -> list[Json]:
        index = self._text_index
        if index is None:
            return []
        self._text_index = None
        item = self._items[index]
        item["status"] = "completed"
        part = item["content"][0]
        self._done.add(index)
        return [
            self._event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                        text=part["text"], logprobs=[]),
            self._event("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                        part=part),
            self._event("response.output_item.done", output_index=index, item=item),
        ]

    # tool calls --------------------------------------------------------------------------

    def on_tool_call(self, call: Json) -> list[Json]:
        events: list[Json] = []
        hub_index = call.get("index", 0)
        function = call.get("function") or {}
        if hub_index not in self._calls:
            events += self._close_reasoning() + self._close_text()
            item = self._shape.tools.call_item(call.get("id") or new_id("call"), function.get("name", ""), "",
                                               new_id("fc"), "in_progress")
            index, added = self._add(item)
            self._calls[hub_index] = index
            self._arguments[index] = ""
            events.append(added)
        fragment = function.get("arguments")
        if fragment:
            index = self._calls[hub_index]
            item = self._items[index]
            self._arguments[index] += fragment
            if item["type"] == "function_call":
                item["arguments"] = self._arguments[index]
                events.append(self._event("response.function_call_arguments.delta", item_id=item["id"],
                                          output_index=index, delta=fragment))
        return events

    def _close_calls(self) -> list[Json]:
        events: list[Json] = []
        for index in self._calls.values():
            if index in self._done:
                continue
            item = self._items[index]
            arguments = self._arguments[index]
            item["status"] = "completed"
            if item["type"] == "custom_tool_call":
                item["input"] = custom_input(arguments)
                events.append(self._event("response.custom_tool_call_input.delta", item_id=item["id"],
                                          output_index=index, delta=item["input"]))
                events.append(self._event("response.custom_tool_call_input.done", item_id=item["id"],
                                          output_index=index, input=item["input"]))
            else:
                item["arguments"] = arguments
                events.append(self._event("response.function_call_arguments.done", item_id=item["id"],
                                          output_index=index, name=item["name"], arguments=arguments))
            self._done.add(index)
            events.append(self._event("response.output_item.done", output_index=index, item=item))
        return events

    def _close_all(self) -> list[Json]:
        return self._close_reasoning() + self._close_text() + self._close_calls()


class ResponsesToChat:
    """Copilot's Responses stream events -> Copilot-style chat chunks, for the hub.

    Every argument fragment names its item, so parallel calls stay apart however Copilot
    interleaves them.
    """

    def __init__(self, model: str) -> None:
        self._raw = RawChunks(model)
        self._custom: set[str] = set()
        self.complete = False

    def feed(self, event: Json) -> list[Json]:
        kind = event.get("type")
        if kind == "response.output_text.delta" and event.get("delta"):
            return [self._raw.chunk({"content": event["delta"]})]
        if kind == "response.reasoning_summary_text.delta" and event.get("delta"):
            return [self._raw.chunk({REASONING_TEXT: event["delta"]})]
        if kind == "response.output_item.added":
            return self._item_added(event.get("item") or {})
        if kind == "response.output_item.done":
            item = event.get("item") or {}
            if item.get("type") == "reasoning" and item.get("encrypted_content"):
                return [self._raw.chunk({REASONING_ITEM: item})]
            if item.get("type") == "custom_tool_call" and str(item.get("id")) in self._custom:
                return self._custom_done(item)
            return []
        if kind == "response.function_call_arguments.delta" and event.get("delta"):
            chunk = self._raw.arguments(str(event.get("item_id")), event["delta"])
            return [chunk] if chunk else []
        if kind in ("response.completed", "response.incomplete"):
            self.complete = True
            response = event.get("response") or {}
            reason = _finish_reason(response, self._raw.calls > 0)
            return [self._raw.chunk({}, reason, _chat_usage(response.get("usage")))]
        if kind == "response.failed":
            error = (event.get("response") or {}).get("error") or {}
            message = error.get("message", "response.failed")
            raise UpstreamStreamError(f"Copilot reported a failure mid-stream: {message}")
        if kind == "error":
            raise UpstreamStreamError(f"Copilot reported an error mid-stream: {event.get('message', event)}")
        return []

    def _item_added(self, item: Json) -> list[Json]:
        if item.get("type") == "function_call":
            return [self._raw.start_call(str(item.get("id")), item.get("call_id") or new_id("call"), _hub_name(item))]
        if item.get("type") == "custom_tool_call":
            # its input arrives as free text; the hub wants it as one JSON string argument,
            # which is known whole at `.done`
            self._custom.add(str(item.get("id")))
            call_id = item.get("call_id") or new_id("call")
            return [self._raw.start_call(str(item.get("id")), call_id, item.get("name") or "", custom=True)]
        return []

    def _custom_done(self, item: Json) -> list[Json]:
        chunk = self._raw.arguments(str(item.get("id")), _custom_arguments(item))
        return [chunk] if chunk else []


class ResponsesRequest(SentAsIs):
    """A Responses client's request (its `input` already holding any earlier turns), and its
    answers as response objects."""

    endpoint = ENDPOINT

    def __init__(self, body: Json, default_model: str, *, previous_response_id: str | None = None) -> None:
        self.body = body
        self.model: str | None = body.get("model") or default_model
        self.previous_response_id = previous_response_id
        self.shape = ResponseShape({**body, "previous_response_id": previous_response_id}, self.model)
        self.ignored_tools = []
        self._native = NativeTools({})

    def native_body(self, model: str) -> Json:
        self._native = NativeTools(self.body)
        self.ignored_tools = self._native.ignored
        return self._native.body({**self.body, "model": model})

    def native_answer(self, answer: Any) -> Any:
        return self._native.answer(answer)

    def native_event(self, event: Json) -> Json:
        return self._native.event(event)

    def finished(self, response: Json) -> Json:
        """A response as the client gets it: naming the previous response it asked to continue
        (the input colalamo sent upstream already held that conversation)."""
        if self.previous_response_id is not None and "previous_response_id" in response:
            response = {**response, "previous_response_id": self.previous_response_id}
        return response

    def finished_event(self, event: Json) -> Json:
        response = event.get("response")
        if isinstance(response, dict) and self.previous_response_id is not None:
            return {**event, "response": self.finished(response)}
        return event

    def to_hub(self, default_model: str) -> Json:
        chat, self.shape.tools = request_to_chat(self.body, default_model)
        self.ignored_tools = self.shape.tools.ignored
        return chat

    def from_hub(self, completion: Json) -> Json:
        return answer_from_chat(completion, self.shape)

    def encoder(self) -> ChatToResponses:
        return ChatToResponses(self.shape)
