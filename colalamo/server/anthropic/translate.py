"""Anthropic Messages <-> OpenAI chat completions, for models Copilot serves only through chat.

Thinking blocks cannot cross this way (chat completions has no place for them); models that
Copilot serves on `/v1/messages` are forwarded natively instead and keep them.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ..errors import ApiError

Json = dict[str, Any]

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex[:24]}"


def _text_of(content: Any) -> str:
    """The text of a `tool_result`'s content (a string, or text blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _image_part(block: Json) -> Json:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    elif source.get("type") == "url":
        url = source.get("url", "")
    else:
        raise ApiError.bad_request("an image source must be base64 or url", "messages")
    return {"type": "image_url", "image_url": {"url": url}}


def _user_messages(content: Any) -> list[Json]:
    """One Anthropic user turn: its tool results as tool messages, the rest as a user message."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[Json] = []
    parts: list[Json] = []
    for block in content:
        kind = block.get("type")
        if kind == "tool_result":
            text = _text_of(block.get("content"))
            out.append({
                "role": "tool",
                "tool_call_id": block.get("tool_use_id"),
                "content": f"Error: {text}" if block.get("is_error") else text,
            })
            parts.extend(_image_part(b) for b in block.get("content") or [] if isinstance(b, dict) and b.get("type") == "image")
        elif kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            parts.append(_image_part(block))
        else:  # a document, say: chat completions has no place for it, and dropping it would
            # answer a question nobody asked
            raise ApiError.bad_request(
                f"{kind} blocks cannot be sent to this model: Copilot serves it through chat "
                "completions, which have no place for them", "messages")
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
    return message


def to_chat_request(body: Json) -> Json:
    """An Anthropic Messages request as an OpenAI chat-completions request."""
    messages: list[Json] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": _text_of(system)})
    for message in body["messages"]:
        if message["role"] == "user":
            messages.extend(_user_messages(message["content"]))
        else:
            messages.append(_assistant_message(message["content"]))
    chat: Json = {"model": body["model"], "messages": messages, "max_tokens": body["max_tokens"]}
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            chat[name] = body[name]
    if body.get("stop_sequences"):
        chat["stop"] = body["stop_sequences"]
    if body.get("tools"):
        chat["tools"] = [
            {"type": "function", "function": {
                "name": t["name"], "description": t.get("description", ""),
                "parameters": t.get("input_schema") or {"type": "object", "properties": {}},
            }}
            for t in body["tools"]
        ]
    _tool_choice(body.get("tool_choice"), chat)
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


def tool_input(arguments: str) -> Json:
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        raise ApiError(502, "the model's tool call arguments are not valid JSON", code="bad_upstream_reply") from None
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def to_message(completion: Json, model: str) -> Json:
    """An OpenAI chat completion as an Anthropic message."""
    choice = completion["choices"][0]
    message = choice.get("message") or {}
    content: list[Json] = []
    if message.get("content"):
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        content.append({
            "type": "tool_use",
            "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
            "name": call["function"]["name"],
            "input": tool_input(call["function"].get("arguments", "")),
        })
    usage = completion.get("usage") or {}
    return {
        "id": new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASONS.get(choice.get("finish_reason") or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": {
            "input_tokens": int(usage.get("prompt_tokens") or 0),
            "output_tokens": int(usage.get("completion_tokens") or 0),
        },
    }
