"""OpenAI Responses <-> chat completions."""

from __future__ import annotations

import time
import uuid
from typing import Any

from ..errors import ApiError
from ..openai.validation import bad

Json = dict[str, Any]
TEXT_PARTS = frozenset({"input_text", "output_text", "text", "refusal"})


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


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
            raise bad(f"'{where}.content[{n}]' of type {kind!r} is not supported (only text and image URLs)", f"{where}.content")
    return out


def input_messages(value: Any) -> list[Json]:
    """The `input` of a Responses request as chat messages."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    messages: list[Json] = []
    for n, item in enumerate(value):
        where = f"input[{n}]"
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            content = _content(item.get("content", ""), where)
            if item["role"] == "assistant" and isinstance(content, list):
                content = "".join(p.get("text", "") for p in content)
            messages.append({"role": item["role"], "content": content})
        elif kind == "function_call":
            call = {"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": item.get("arguments", "")}}
            last = messages[-1] if messages else None
            if last and last["role"] == "assistant" and last.get("tool_calls") is not None:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output", "")
            if isinstance(output, list):
                output = "".join(p.get("text", "") for p in output if isinstance(p, dict))
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": output})
        elif kind == "reasoning":
            continue
        else:
            raise bad(f"'{where}.type' {kind!r} is not supported", f"{where}.type")
    return messages


def to_chat_request(body: Json, history: list[Json], default_model: str) -> Json:
    messages = list(history) + input_messages(body["input"])
    if body.get("instructions"):
        messages.insert(0, {"role": "system", "content": body["instructions"]})
    chat: Json = {"model": body.get("model") or default_model, "messages": messages}
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    for name in ("temperature", "top_p", "parallel_tool_calls"):
        if body.get(name) is not None:
            chat[name] = body[name]
    if body.get("tools"):
        chat["tools"] = [
            {"type": "function", "function": {
                "name": t["name"], "description": t.get("description") or "",
                "parameters": t.get("parameters") or {"type": "object", "properties": {}},
            }}
            for t in body["tools"]
        ]
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif choice is not None:
        chat["tool_choice"] = choice
    text_format = ((body.get("text") or {}).get("format") or {})
    if text_format.get("type") == "json_schema":
        chat["response_format"] = {"type": "json_schema", "json_schema": {
            "name": text_format.get("name", "output"), "schema": text_format.get("schema", {}),
            "strict": text_format.get("strict", False)}}
    elif text_format.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    return chat


def message_item(text: str, item_id: str, status: str = "completed") -> Json:
    return {
        "type": "message", "id": item_id, "status": status, "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def call_item(call: Json, item_id: str, status: str = "completed") -> Json:
    return {
        "type": "function_call", "id": item_id, "call_id": call["id"], "status": status,
        "name": call["function"]["name"], "arguments": call["function"].get("arguments") or "",
    }


def usage(chat_usage: Json | None) -> Json:
    chat_usage = chat_usage or {}
    prompt, completion = int(chat_usage.get("prompt_tokens") or 0), int(chat_usage.get("completion_tokens") or 0)
    return {
        "input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


class ResponseShape:
    """The fields of one response that do not depend on its answer."""

    def __init__(self, body: Json, model: str) -> None:
        self.id = new_id("resp")
        self.created_at = int(time.time())
        self.body = body
        self.model = model

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
            "temperature": body.get("temperature"),
            "top_p": body.get("top_p"),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "text": body.get("text") or {"format": {"type": "text"}},
            "truncation": "disabled",
            "metadata": body.get("metadata") or {},
            "store": body.get("store", True),
            "usage": usage(chat_usage) if status != "in_progress" else None,
        }


def from_completion(completion: Json, shape: ResponseShape) -> tuple[Json, Json]:
    """The response object, and the assistant message to remember for the conversation."""
    choice = completion["choices"][0]
    message = choice.get("message") or {}
    output: list[Json] = []
    if message.get("content"):
        output.append(message_item(message["content"], new_id("msg")))
    for call in message.get("tool_calls") or []:
        output.append(call_item(call, new_id("fc")))
    incomplete = choice.get("finish_reason") == "length"
    response = shape.build("incomplete" if incomplete else "completed", output, completion.get("usage"), incomplete=incomplete)
    remembered = {"role": "assistant", "content": message.get("content")}
    if message.get("tool_calls"):
        remembered["tool_calls"] = message["tool_calls"]
    return response, remembered


def previous_not_found(response_id: str) -> ApiError:
    return ApiError(404, f"Previous response with id '{response_id}' not found.",
                    param="previous_response_id", code="previous_response_not_found")
