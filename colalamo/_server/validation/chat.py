"""Checks on OpenAI chat-completions bodies (also `/ask`'s, and what legacy completions share)."""

from __future__ import annotations

from typing import Any

from .common import (
    bad,
    check_forced_tool,
    check_number,
    check_tool_name,
    check_type,
    one_of,
    optional_list,
)

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "refusal"})
RESPONSE_FORMATS = frozenset({"text", "json_object", "json_schema"})
TOOL_CHOICES = frozenset({"none", "auto", "required"})

# name -> (kind, low, high); None for an open end
NUMBERS: dict[str, tuple[type, float | None, float | None]] = {
    "n": (int, 1, 128),
    "temperature": (float, 0, 2),
    "top_p": (float, 0, 1),
    "max_tokens": (int, 1, None),
    "max_completion_tokens": (int, 1, None),
    "presence_penalty": (float, -2, 2),
    "frequency_penalty": (float, -2, 2),
    "seed": (int, None, None),
    "top_logprobs": (int, 0, 20),
}
BOOLEANS = ("stream", "logprobs", "parallel_tool_calls")


def check_sampling(body: dict[str, Any]) -> None:
    """The parameters chat and legacy completions share: model, flags, numbers, stop."""
    check_type(body, "model", str, "a string")
    # Only the fields present are looked at: a body sets few of them, and each check is a call.
    for name in BOOLEANS:
        if name in body:
            check_type(body, name, bool, "true or false")
    if not NUMBERS.keys().isdisjoint(body):  # many bodies set none: one look, in C
        for name, (kind, low, high) in NUMBERS.items():
            if name in body:
                check_number(body, name, kind, low, high)
    check_stop(body.get("stop"))


def validate_chat_request(body: dict[str, Any]) -> None:
    _messages(body.get("messages"))
    check_sampling(body)
    _stream_options(body.get("stream_options"))
    names = _tools(body.get("tools"))
    _tool_choice(body.get("tool_choice"), names)
    _response_format(body.get("response_format"))


def _messages(messages: Any) -> None:
    if messages is None:
        raise bad("'messages' is required", "messages")
    if not isinstance(messages, list) or not messages:
        raise bad("'messages' must be a non-empty list of messages", "messages")
    for n, message in enumerate(messages):
        _message(message, f"messages[{n}]")


def _message(message: Any, where: str) -> None:
    if not isinstance(message, dict):
        raise bad(f"'{where}' must be an object", where)
    role = message.get("role")
    if not one_of(role, ROLES):
        raise bad(f"'{where}.role' must be one of {', '.join(sorted(ROLES))}, not {role!r}", f"{where}.role")
    content = message.get("content")
    if content is None:
        if role not in ("assistant", "function"):
            raise bad(f"'{where}.content' is required for a {role} message", f"{where}.content")
    elif isinstance(content, list):
        for n, part in enumerate(content):
            _part(part, f"{where}.content[{n}]")
    elif not isinstance(content, str):
        raise bad(f"'{where}.content' must be a string or a list of content parts", f"{where}.content")
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise bad(f"'{where}.tool_call_id' is required for a tool message", f"{where}.tool_call_id")
    calls = message.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise bad(f"'{where}.tool_calls' must be a list", f"{where}.tool_calls")
        for n, call in enumerate(calls):
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                raise bad(f"'{where}.tool_calls[{n}]' must have a function with a name", f"{where}.tool_calls[{n}]")


def _part(part: Any, where: str) -> None:
    kind = part.get("type") if isinstance(part, dict) else None
    if not one_of(kind, PART_TYPES):
        raise bad(f"'{where}.type' must be one of {', '.join(sorted(PART_TYPES))}", f"{where}.type")
    if kind == "text" and not isinstance(part.get("text"), str):
        raise bad(f"'{where}.text' must be a string", f"{where}.text")
    if kind == "image_url":
        image = part.get("image_url")
        if not isinstance(image, dict) or not isinstance(image.get("url"), str):
            raise bad(f"'{where}.image_url' must be an object with a 'url'", f"{where}.image_url")


def _stream_options(options: Any) -> None:
    if options is None:
        return
    if not isinstance(options, dict):
        raise bad("'stream_options' must be an object", "stream_options")
    check_type(options, "include_usage", bool, "true or false")


def check_stop(stop: Any) -> None:
    if stop is None or isinstance(stop, str):
        return
    if not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) for s in stop):
        raise bad("'stop' must be a string or a list of up to 4 strings", "stop")


def _tools(tools: Any) -> set[str]:
    names = set()
    for n, tool in enumerate(optional_list(tools, "tools")):
        where = f"tools[{n}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise bad(f"'{where}.type' must be 'function'", f"{where}.type")
        function = tool.get("function")
        if not isinstance(function, dict):
            raise bad(f"'{where}.function' must be an object", f"{where}.function")
        name = check_tool_name(function.get("name"), f"{where}.function.name")
        if not isinstance(function.get("parameters", {}), dict):
            raise bad(f"'{where}.function.parameters' must be a JSON schema object", f"{where}.function.parameters")
        names.add(name)
    return names


def _tool_choice(choice: Any, names: set[str]) -> None:
    if choice is None or one_of(choice, TOOL_CHOICES):
        return
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str):
        raise bad("'tool_choice' must be none, auto, required or "
                  "{\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice")
    check_forced_tool(name, names, "tool_choice")


def _response_format(response_format: Any) -> None:
    if response_format is None:
        return
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if not one_of(kind, RESPONSE_FORMATS):
        raise bad("'response_format.type' must be text, json_object or json_schema", "response_format")
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise bad("'response_format.json_schema' must be an object with a 'name'", "response_format.json_schema")
        check_type(spec, "schema", dict, "a JSON schema object")
