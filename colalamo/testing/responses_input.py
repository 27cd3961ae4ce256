"""What the fake's `/responses` accepts, as Copilot does, and how it reads the conversation.

Copilot refuses `service_tier`, `namespace` tools and tool types it does not know; reasoning
items must come back with the `encrypted_content` the API issued, unaltered; `item_reference`
only resolves items of an earlier response that was stored (`store` not false).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
TOOL_TYPES = ("function", "custom", "web_search")
MESSAGE_ROLES = ("user", "developer", "system", "assistant")
PART_TYPES = ("input_text", "output_text", "input_image", "refusal")
ITEM_TYPES = (
    "message", "function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output",
    "reasoning", "item_reference", "compaction", "web_search_call",
)
TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output")
BAD_ENCRYPTED_CONTENT = "Encrypted content could not be decrypted or parsed."


@dataclass(frozen=True)
class Refusal:
    """A 400 the way Copilot words it."""

    message: str
    code: str = "invalid_request_body"
    param: str | None = None


@dataclass(frozen=True)
class Conversation:
    items: list[Json]  # the input items, references resolved
    reasoning_items: int  # valid reasoning items that came back


def _item_type(item: Json) -> Any:
    return item.get("type") or ("message" if "role" in item else None)


def _message_refusal(item: Json, where: str) -> Refusal | None:
    if item.get("role") not in MESSAGE_ROLES:
        return Refusal(f"Invalid value: {item.get('role')!r}. Supported values are: {', '.join(MESSAGE_ROLES)}.",
                       param=f"{where}.role")
    content = item.get("content")
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return Refusal(f"{where}.content must be a string or a list of content parts", param=f"{where}.content")
    for n, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in PART_TYPES:
            kind = part.get("type") if isinstance(part, dict) else part
            return Refusal(f"Invalid content part type {kind!r} at {where}.content[{n}]", param=f"{where}.content[{n}]")
    return None


def _tools_refusal(tools: Any) -> Refusal | None:
    if tools is None:
        return None
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        return Refusal("tools must be a list of tool objects", param="tools")
    rejected = [f"{t.get('type')}" + (f" ({t['name']})" if t.get("name") else "")
                for t in tools if t.get("type") not in TOOL_TYPES]
    if rejected:
        return Refusal(f"unsupported tool type(s): {', '.join(rejected)}", param="tools")
    nameless = [n for n, t in enumerate(tools) if t["type"] in ("function", "custom") and not t.get("name")]
    if nameless:
        return Refusal(f"Missing required parameter: 'tools[{nameless[0]}].name'.", param=f"tools[{nameless[0]}].name")
    return None


def request_refusal(body: Any) -> Refusal | None:
    """Why Copilot refuses this body outright (before looking at the model), or None."""
    if not isinstance(body, dict):
        return Refusal("the request body must be a JSON object")
    if not isinstance(body.get("model"), str):
        return Refusal("Missing required parameter: 'model'.", param="model")
    if not isinstance(body.get("input"), (str, list)):
        return Refusal("'input' must be a string or a list of input items", param="input")
    return None


def body_refusal(body: Json) -> Refusal | None:
    """Why Copilot refuses the fields of a body addressed to a model that takes `/responses`."""
    if "service_tier" in body:
        return Refusal("service_tier is not supported", code="unsupported_value", param="service_tier")
    if (refused := _tools_refusal(body.get("tools"))) is not None:
        return refused
    items = body["input"] if isinstance(body["input"], list) else []
    for n, item in enumerate(items):
        kind = _item_type(item) if isinstance(item, dict) else None
        if kind not in ITEM_TYPES:
            return Refusal(f"Invalid input item type {kind!r} at input[{n}]", param=f"input[{n}]")
        if kind == "message" and (refused := _message_refusal(item, f"input[{n}]")) is not None:
            return refused
        if kind in (*TOOL_OUTPUTS, "function_call", "custom_tool_call") and not item.get("call_id"):
            return Refusal(f"Missing required parameter: 'input[{n}].call_id'.", param=f"input[{n}].call_id")
    return None


def _not_found(item_id: Any) -> Refusal:
    return Refusal(f"Item with id '{item_id}' not found. Items are not persisted when `store` is set to false. "
                   "Try again with `store` set to true, or remove this item from your input.", param="input")


def resolve(body: Json, stored: Mapping[str, Json], opens: Callable[[Json], bool]) -> Conversation | Refusal:
    """The input items with references resolved and reasoning verified.

    `stored` holds the output items of stored responses by id; `opens(item)` says whether a
    reasoning item's `encrypted_content` is one the fake issued, unaltered.
    """
    raw = body["input"]
    if isinstance(raw, str):
        return Conversation([{"type": "message", "role": "user", "content": raw}], 0)
    items: list[Json] = []
    reasoning = 0
    for item in raw:
        kind = _item_type(item)
        if kind == "item_reference":
            if item.get("id") not in stored:
                return _not_found(item.get("id"))
            item = stored[item["id"]]
            kind = item["type"]
        elif kind == "reasoning" and "encrypted_content" in item:
            if not opens(item):
                return Refusal(BAD_ENCRYPTED_CONTENT, code="invalid_encrypted_content")
        elif kind == "reasoning" and item.get("id") not in stored:
            return _not_found(item.get("id"))
        reasoning += kind == "reasoning"
        items.append(item)
    return Conversation(items, reasoning)


def output_text(output: Any) -> str:
    if isinstance(output, list):  # a tool's output may be content parts
        return " ".join(p.get("text", "") for p in output if isinstance(p, dict))
    return output if isinstance(output, str) else str(output)


def _chat_content(content: Any) -> Any:
    if not isinstance(content, list):
        return content
    parts = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "input_image":
            url = part.get("image_url") or part.get("file_id") or ""
            parts.append({"type": "image_url", "image_url": {"url": url}})
        elif "text" in part:
            parts.append({"type": "text", "text": part["text"]})
    return parts


def chat_view(input_value: Any) -> list[Json]:
    """A Responses `input` seen as chat messages (the fake's answers read those)."""
    if isinstance(input_value, str):
        return [{"role": "user", "content": input_value}]
    messages: list[Json] = []
    for item in input_value if isinstance(input_value, list) else []:
        kind = _item_type(item) if isinstance(item, dict) else None
        if kind == "message":
            messages.append({"role": item.get("role"), "content": _chat_content(item.get("content"))})
        elif kind in TOOL_OUTPUTS:
            output = output_text(item.get("output"))
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": output})
        elif kind in ("function_call", "custom_tool_call"):
            messages.append({"role": "assistant", "content": None, "tool_calls": [{"id": item.get("call_id")}]})
    return messages
