"""Anthropic Messages <-> the hub (chat completions): requests, whole answers and streams.

Reasoning crosses as `thinking` blocks: a Responses reasoning item (which Copilot wants back
unchanged) rides in the block's `signature`, which Anthropic clients return as they got it.
Blocks that have no place in the hub (documents) are refused, not dropped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from .._json import MAPPING, dumps, loads
from .._token_estimate import estimate_text_tokens, estimate_tokens
from ..exceptions import (
    BadUpstreamReply,
    InvalidRequest,
    UpstreamStreamError,
)
from .hub import (
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

ENDPOINT = "/v1/messages"
IMAGE_TOKENS = 1600  # Anthropic's cost of a full-size image
DEFAULT_MAX_TOKENS = 8192  # when a chat client names no limit and the model says none

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                  "tool_use": "tool_calls", "refusal": "content_filter", "pause_turn": "stop"}
TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
CHAT_TOOL_CHOICES = {"auto": "auto", "required": "any", "none": "none"}
SIGNATURE_PREFIX = "colalamo.reasoning."  # a reasoning item inside a thinking block's signature
THINKING_EFFORT = ((4096, "low"), (16384, "medium"))  # budget_tokens below -> effort; else high


def new_message_id() -> str:
    return new_id("msg")


# reasoning <-> thinking blocks ---------------------------------------------------------------


def thinking_signature(item: Json) -> str:
    return SIGNATURE_PREFIX + base64.urlsafe_b64encode(dumps(item)).decode()


def reasoning_item_of(block: Mapping[str, Any]) -> Json | None:
    """The reasoning item a thinking block carries, if colalamo put one there."""
    signature = block.get("signature")
    if not isinstance(signature, str) or not signature.startswith(SIGNATURE_PREFIX):
        return None  # Anthropic's own signature: meaningful only to Claude
    try:
        item = loads(base64.urlsafe_b64decode(signature[len(SIGNATURE_PREFIX):]))
    except ValueError:
        return None
    return item if isinstance(item, dict) and item.get("type") == "reasoning" else None


def _effort(thinking: Any) -> str | None:
    if not isinstance(thinking, MAPPING) or thinking.get("type") not in ("enabled", "adaptive"):
        return None
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int):
        return "medium"
    return next((effort for limit, effort in THINKING_EFFORT if budget < limit), "high")


# Anthropic request -> hub ------------------------------------------------------------------


def _image_part(block: Json) -> Json:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    elif source.get("type") == "url":
        url = source.get("url", "")
    else:
        raise InvalidRequest("an image source must be base64 or url", param="messages")
    return {"type": "image_url", "image_url": {"url": url}}


def _tool_result_text(content: Any) -> str:
    return text_of(content) if not isinstance(content, list) else "\n".join(
        b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")


def _user_messages(content: Any) -> list[Json]:
    """One Anthropic user turn: its tool results as tool messages, the rest as a user message."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[Json] = []
    parts: list[Json] = []
    for block in content:
        kind = block.get("type")
        if kind == "tool_result":
            text = _tool_result_text(block.get("content"))
            out.append({
                "role": "tool",
                "tool_call_id": block.get("tool_use_id"),
                "content": f"Error: {text}" if block.get("is_error") else text,
            })
            inner = block.get("content")
            if isinstance(inner, list):
                parts.extend(_image_part(b) for b in inner if isinstance(b, dict) and b.get("type") == "image")
        elif kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            parts.append(_image_part(block))
        else:  # a document, say: the hub has no place for it, and dropping it would answer a
            # question nobody asked
            raise InvalidRequest(
                f"{kind} blocks cannot be sent to this model: Copilot does not serve it through "
                "Anthropic's API, and the API it is reached through has no place for them", param="messages")
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _assistant_message(content: Any) -> Json:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts = [b.get("text", "") for b in content if b.get("type") == "text"]
    calls = [
        {"id": b.get("id"), "type": "function",
         "function": {"name": b.get("name"), "arguments": json.dumps(b.get("input") or {})}}
        for b in content
        if b.get("type") == "tool_use"
    ]
    message: Json = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    reasoning = [item for b in content if b.get("type") == "thinking" if (item := reasoning_item_of(b))]
    if reasoning:
        message[REASONING_ITEMS] = reasoning
    return message


def _system_text(system: Any) -> str:
    return system if isinstance(system, str) else "\n".join(
        b.get("text", "") for b in system or [] if isinstance(b, dict) and b.get("type") == "text")


def client_tools(tools: Any) -> tuple[list[Json], list[str]]:
    """The tools the client runs itself, and the names of the others (Anthropic's server
    tools: web search, web fetch, code execution...), which Copilot refuses: left out."""
    kept: list[Json] = []
    ignored: list[str] = []
    for tool in tools or []:
        if tool.get("type") in (None, "custom"):
            kept.append(tool)
        else:
            ignored.append(str(tool.get("name") or tool.get("type")))
    return kept, ignored


def with_system_turns_folded(body: Json) -> Json:
    """`body` with the `system` turns some clients put among the messages (Claude Code on a
    non-Claude model) moved to the end of the system prompt, where Anthropic's API wants them."""
    turns = [m for m in body["messages"] if m.get("role") == "system"]
    if not turns:
        return body
    system = body.get("system") or []
    blocks = [{"type": "text", "text": system}] if isinstance(system, str) else list(system)
    blocks += [{"type": "text", "text": _system_text(m.get("content"))} for m in turns]
    return {**body, "system": blocks, "messages": [m for m in body["messages"] if m.get("role") != "system"]}


def request_to_chat(body: Json) -> Json:
    """An Anthropic Messages request as a hub (chat-completions) request.

    A `system` turn inside `messages` (Claude Code puts one there) joins the system prompt.
    """
    system_parts = [_system_text(body.get("system"))] if body.get("system") else []
    messages: list[Json] = []
    for message in body["messages"]:
        role = message["role"]
        if role == "user":
            messages.extend(_user_messages(message["content"]))
        elif role == "assistant":
            messages.append(_assistant_message(message["content"]))
        else:
            system_parts.append(_system_text(message["content"]))
    if system_parts:
        messages.insert(0, {"role": "system", "content": "\n\n".join(p for p in system_parts if p)})
    chat: Json = {"model": body["model"], "messages": messages, "max_tokens": body["max_tokens"]}
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            chat[name] = body[name]
    if body.get("stop_sequences"):
        chat["stop"] = body["stop_sequences"]
    tools, _ = client_tools(body.get("tools"))
    if tools:
        chat["tools"] = [
            {"type": "function", "function": {
                "name": t["name"], "description": t.get("description", ""),
                "parameters": t.get("input_schema") or {"type": "object", "properties": {}},
            }}
            for t in tools
        ]
        _tool_choice(body.get("tool_choice"), chat)
    effort = _effort(body.get("thinking"))
    if effort:
        chat["reasoning_effort"] = effort
    return chat


def _tool_choice(choice: Any, chat: Json) -> None:
    if not isinstance(choice, dict):
        return
    kind = choice.get("type")
    if kind == "tool":
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif kind in TOOL_CHOICES:
        chat["tool_choice"] = TOOL_CHOICES[kind]
    if choice.get("disable_parallel_tool_use") and chat.get("tools"):
        chat["parallel_tool_calls"] = False


# hub request -> Anthropic ------------------------------------------------------------------


def _image_block(part: Json) -> Json:
    image = part.get("image_url")
    url = image.get("url", "") if isinstance(image, dict) else str(image or "")
    if url.startswith("data:") and ";base64," in url:
        media_type, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _blocks(content: Any) -> list[Json]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[Json] = []
    for part in content or []:
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            blocks.append(_image_block(part))
    return blocks


def _append(messages: list[Json], role: str, blocks: list[Json]) -> None:
    """Anthropic wants user and assistant turns to alternate: same-role turns are joined."""
    if not blocks:
        return
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})


def _tool_use(call: Json) -> Json:
    function = call.get("function") or {}
    try:
        arguments = json.loads(function.get("arguments") or "{}")
    except ValueError:
        arguments = {}
    return {"type": "tool_use", "id": call.get("id") or new_id("toolu"), "name": function.get("name", ""),
            "input": arguments if isinstance(arguments, dict) else {"value": arguments}}


def request_from_chat(chat: Json, info: Mapping[str, Any] | None) -> Json:
    """A hub request as an Anthropic Messages request (for a model served only there)."""
    if chat.get("response_format") and chat["response_format"].get("type") != "text":
        raise InvalidRequest(f"the model {chat['model']!r} is served through Anthropic's API, which "
                             "has no response_format", param="response_format")
    system: list[str] = []
    messages: list[Json] = []
    for message in chat["messages"]:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(text_of(message.get("content")))
        elif role == "user":
            _append(messages, "user", _blocks(message.get("content")))
        elif role == "tool":
            _append(messages, "user", [{"type": "tool_result", "tool_use_id": message.get("tool_call_id"),
                                        "content": text_of(message.get("content"))}])
        elif role == "assistant":
            blocks = [{"type": "thinking", "thinking": "", "signature": thinking_signature(item)}
                      for item in message.get(REASONING_ITEMS) or []]
            blocks += _blocks(message.get("content"))
            blocks += [_tool_use(call) for call in message.get("tool_calls") or []]
            _append(messages, "assistant", blocks)
    limit = ((info or {}).get("capabilities") or {}).get("limits", {}).get("max_output_tokens")
    body: Json = {
        "model": chat["model"], "messages": messages,
        "max_tokens": chat.get("max_tokens") or chat.get("max_completion_tokens") or limit or DEFAULT_MAX_TOKENS,
    }
    if system:
        body["system"] = "\n\n".join(system)
    for name in ("temperature", "top_p"):
        if chat.get(name) is not None:
            body[name] = chat[name]
    stop = chat.get("stop")
    if stop:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else stop
    if chat.get("tools"):
        body["tools"] = [{"name": t["function"]["name"], "description": t["function"].get("description", ""),
                          "input_schema": t["function"].get("parameters") or {"type": "object", "properties": {}}}
                         for t in chat["tools"]]
        choice = chat.get("tool_choice")
        if isinstance(choice, dict):
            body["tool_choice"] = {"type": "tool", "name": (choice.get("function") or {}).get("name")}
        elif choice in CHAT_TOOL_CHOICES:
            body["tool_choice"] = {"type": CHAT_TOOL_CHOICES[choice]}
        if chat.get("parallel_tool_calls") is False:
            body.setdefault("tool_choice", {"type": "auto"})["disable_parallel_tool_use"] = True
    return body


# whole answers -----------------------------------------------------------------------------


def tool_input(arguments: str) -> Json:
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        raise BadUpstreamReply("the model's tool call arguments are not valid JSON") from None
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def answer_from_chat(completion: Json, body: Json) -> Json:
    """A hub chat completion as the Anthropic message answering `body`."""
    choice = completion["choices"][0]
    message = choice.get("message") or {}
    content: list[Json] = []
    for item in message.get(REASONING_ITEMS) or []:
        content.append({"type": "thinking", "thinking": message.get(REASONING_TEXT) or "",
                        "signature": thinking_signature(item)})
    if message.get("content"):
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        content.append({
            "type": "tool_use",
            "id": call.get("id") or new_id("toolu"),
            "name": call["function"]["name"],
            "input": tool_input(call["function"].get("arguments", "")),
        })
    prompt, completion_tokens, _, _ = usage_numbers(completion.get("usage"))
    answer: Json = {
        "id": new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": STOP_REASONS.get(choice.get("finish_reason") or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": completion_tokens},
    }
    return answer


def answer_to_chat(message: Any) -> Json:
    """Copilot's Anthropic message as a (Copilot-style) chat completion, for the hub."""
    if not isinstance(message, dict) or message.get("type") != "message":
        raise BadUpstreamReply("Copilot's /v1/messages answer is not a message")
    texts, thoughts, calls = [], [], []
    for block in message.get("content") or []:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "thinking":
            thoughts.append(block.get("thinking") or "")
        elif kind == "tool_use":
            calls.append({"id": block.get("id"), "type": "function",
                          "function": {"name": block.get("name"), "arguments": json.dumps(block.get("input") or {})}})
    reply: Json = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        reply["tool_calls"] = calls
    if thoughts:
        reply[REASONING_TEXT] = "".join(thoughts)
    usage = message.get("usage") or {}
    return {
        "id": message.get("id"), "model": message.get("model"),
        "choices": [{"index": 0, "message": reply,
                     "finish_reason": FINISH_REASONS.get(message.get("stop_reason") or "end_turn", "stop")}],
        "usage": chat_usage(usage.get("input_tokens"), usage.get("output_tokens"),
                            usage.get("cache_read_input_tokens")),
    }


# streams -----------------------------------------------------------------------------------

Event = Json  # an Anthropic stream event; its "type" is the SSE event name


class ChatToMessages(ChunkTranslator[Event]):
    """Hub chunks -> Anthropic stream events.

    Anthropic streams one content block at a time; Copilot starts parallel tool calls
    together and then streams each one's arguments in turn. So a call's block opens when its
    first argument arrives (or when the answer ends), and every fragment goes to the block of
    its own call, by the call's index.
    """

    def __init__(self, body: Json) -> None:
        self._model = body["model"]
        self._input_tokens = count_input_tokens(body)
        self._index = -1
        self._open: str | None = None  # "text", "thinking" or "tool_use"
        self._open_call: int | None = None
        self._calls: dict[int, Json] = {}  # hub index -> {"id", "name", "block", "pending"}
        self._stop_reason = "end_turn"
        self._output_tokens = 0

    @property
    def usage(self) -> dict[str, int]:
        return {"input_tokens": self._input_tokens, "output_tokens": self._output_tokens}

    def start(self) -> list[Event]:
        message: Json = {
            "id": new_message_id(), "type": "message", "role": "assistant", "model": self._model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": self._input_tokens, "output_tokens": 0},
        }
        return [{"type": "message_start", "message": message}, {"type": "ping"}]

    def on_usage(self, usage: Json) -> None:
        prompt, completion, _, _ = usage_numbers(usage)
        self._input_tokens = prompt or self._input_tokens
        self._output_tokens = completion

    def on_finish(self, reason: str) -> None:
        self._stop_reason = STOP_REASONS.get(reason, "end_turn")

    def failed(self, message: str) -> Event | None:
        return None  # the relay ends an Anthropic stream with its error event

    def finish(self) -> list[Event]:
        events = self._close()
        for index, call in self._calls.items():  # calls that never got an argument
            if call["block"] is None:
                events += self._open_call_block(index)
                events += self._close()
        events.append({
            "type": "message_delta",
            "delta": {"stop_reason": self._stop_reason, "stop_sequence": None},
            "usage": {"input_tokens": self._input_tokens, "output_tokens": self._output_tokens},
        })
        events.append({"type": "message_stop"})
        return events

    def _open_block(self, kind: str, block: Json) -> list[Event]:
        events = self._close()
        self._index += 1
        self._open = kind
        events.append({"type": "content_block_start", "index": self._index, "content_block": block})
        return events

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        self._open, self._open_call = None, None
        return [{"type": "content_block_stop", "index": self._index}]

    def _delta(self, delta: Json, index: int | None = None) -> Event:
        return {"type": "content_block_delta", "index": self._index if index is None else index, "delta": delta}

    def on_reasoning_text(self, text: str) -> list[Event]:
        events = [] if self._open == "thinking" else self._open_block(
            "thinking", {"type": "thinking", "thinking": "", "signature": ""})
        return [*events, self._delta({"type": "thinking_delta", "thinking": text})]

    def on_reasoning_item(self, item: Json) -> list[Event]:
        events = [] if self._open == "thinking" else self._open_block(
            "thinking", {"type": "thinking", "thinking": "", "signature": ""})
        events.append(self._delta({"type": "signature_delta", "signature": thinking_signature(item)}))
        return events + self._close()

    def on_text(self, text: str) -> list[Event]:
        events = [] if self._open == "text" else self._open_block("text", {"type": "text", "text": ""})
        return [*events, self._delta({"type": "text_delta", "text": text})]

    def on_tool_call(self, call: Json) -> list[Event]:
        index = call.get("index", 0)
        function = call.get("function") or {}
        if index not in self._calls:
            call_id = call.get("id") or new_id("toolu")
            self._calls[index] = {"id": call_id, "name": function.get("name", ""), "block": None}
        fragment = function.get("arguments")
        if not fragment:
            return []
        state = self._calls[index]
        events: list[Event] = []
        if state["block"] is None:
            events += self._open_call_block(index)
        elif self._open_call != index:  # a call whose block was closed: its own index still
            return [self._delta({"type": "input_json_delta", "partial_json": fragment}, state["block"])]
        events.append(self._delta({"type": "input_json_delta", "partial_json": fragment}))
        return events

    def _open_call_block(self, index: int) -> list[Event]:
        state = self._calls[index]
        block = {"type": "tool_use", "id": state["id"], "name": state["name"], "input": {}}
        events = self._open_block("tool_use", block)
        state["block"], self._open_call = self._index, index
        return events


class MessagesToChat:
    """Copilot's Anthropic stream events -> Copilot-style chat chunks, for the hub."""

    def __init__(self, model: str) -> None:
        self._raw = RawChunks(model)
        self._prompt_tokens = 0
        self._cached = 0
        self.complete = False

    def feed(self, event: Json) -> list[Json]:
        kind = event.get("type")
        if kind == "message_start":
            usage = (event.get("message") or {}).get("usage") or {}
            self._prompt_tokens = int(usage.get("input_tokens") or 0)
            self._cached = int(usage.get("cache_read_input_tokens") or 0)
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                key = str(event.get("index"))
                return [self._raw.start_call(key, block.get("id") or new_id("toolu"), block.get("name") or "")]
        elif kind == "content_block_delta":
            return self._delta(str(event.get("index")), event.get("delta") or {})
        elif kind == "message_delta":
            reason = FINISH_REASONS.get((event.get("delta") or {}).get("stop_reason") or "end_turn", "stop")
            output = (event.get("usage") or {}).get("output_tokens")
            return [self._raw.chunk({}, reason, chat_usage(self._prompt_tokens, output, self._cached))]
        elif kind == "message_stop":
            self.complete = True
        elif kind == "error":
            error = event.get("error") or {}
            raise UpstreamStreamError(f"Copilot reported an error mid-stream: {error.get('message', error)}")
        return []

    def _delta(self, key: str, delta: Json) -> list[Json]:
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [self._raw.chunk({"content": delta["text"]})]
        if kind == "thinking_delta" and delta.get("thinking"):
            return [self._raw.chunk({REASONING_TEXT: delta["thinking"]})]
        if kind == "input_json_delta" and delta.get("partial_json"):
            chunk = self._raw.arguments(key, delta["partial_json"])
            return [chunk] if chunk else []
        return []


# the input-token estimate ------------------------------------------------------------------


def count_input_tokens(body: Json) -> int:
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


class MessagesRequest(SentAsIs):
    """An Anthropic client's request, and its answers in Anthropic's format."""

    endpoint = ENDPOINT

    def __init__(self, body: Json, *, beta: str | None = None) -> None:
        self.body = body
        self.model: str | None = body["model"]
        self.beta = beta  # the client's anthropic-beta header, for the native endpoint
        self._tools, self.ignored_tools = client_tools(body.get("tools"))

    def native_body(self, model: str) -> Json:
        body = with_system_turns_folded({**self.body, "model": model})
        if self.ignored_tools:
            body["tools"] = self._tools
            if not self._tools:
                body.pop("tools")
                body.pop("tool_choice", None)
        return body

    def to_hub(self, default_model: str) -> Json:
        return request_to_chat(self.body)

    def from_hub(self, completion: Json) -> Json:
        return answer_from_chat(completion, self.body)

    def encoder(self) -> ChatToMessages:
        return ChatToMessages(self.body)
