"""Checks on Responses request bodies."""

from __future__ import annotations

from typing import Any

from ..openai.validation import bad, check_number, check_type, one_of, optional_list

ITEM_TYPES = frozenset({"message", "function_call", "function_call_output", "reasoning"})
ROLES = frozenset({"user", "system", "developer", "assistant"})
TOOL_CHOICES = frozenset({"auto", "none", "required"})
FORMATS = frozenset({"text", "json_object", "json_schema"})


def validate_responses_request(body: dict[str, Any]) -> None:
    _input(body.get("input"))
    check_type(body, "model", str, "a string")
    check_type(body, "instructions", str, "a string")
    check_type(body, "previous_response_id", str, "a string")
    for name in ("stream", "store", "parallel_tool_calls"):
        check_type(body, name, bool, "true or false")
    check_type(body, "metadata", dict, "an object")
    check_number(body, "max_output_tokens", int, 1, None)
    check_number(body, "temperature", float, 0, 2)
    check_number(body, "top_p", float, 0, 1)
    _tools(body.get("tools"))
    choice = body.get("tool_choice")
    if choice is not None and not one_of(choice, TOOL_CHOICES) and not (
        isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str)
    ):
        raise bad("'tool_choice' must be auto, none, required or {\"type\": \"function\", \"name\": ...}", "tool_choice")
    text = body.get("text")
    if text is not None:
        fmt = text.get("format") if isinstance(text, dict) else None
        if fmt is not None and not (isinstance(fmt, dict) and one_of(fmt.get("type"), FORMATS)):
            raise bad("'text.format.type' must be text, json_object or json_schema", "text.format")


def _input(value: Any) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not value:
        raise bad("'input' must be a string or a non-empty list of items", "input")
    for n, item in enumerate(value):
        where = f"input[{n}]"
        if not isinstance(item, dict):
            raise bad(f"'{where}' must be an object", where)
        kind = item.get("type") or ("message" if "role" in item else None)
        if not one_of(kind, ITEM_TYPES):
            raise bad(f"'{where}.type' must be one of {', '.join(sorted(ITEM_TYPES))}", f"{where}.type")
        if kind == "message":
            if not one_of(item.get("role"), ROLES):
                raise bad(f"'{where}.role' must be one of {', '.join(sorted(ROLES))}", f"{where}.role")
            content = item.get("content")
            if not isinstance(content, (str, list)) or (isinstance(content, list) and not all(isinstance(p, dict) for p in content)):
                raise bad(f"'{where}.content' must be a string or a list of parts", f"{where}.content")
        elif kind in ("function_call", "function_call_output"):
            if not isinstance(item.get("call_id"), str):
                raise bad(f"'{where}.call_id' is required", f"{where}.call_id")
            if kind == "function_call" and not isinstance(item.get("name"), str):
                raise bad(f"'{where}.name' is required", f"{where}.name")


def _tools(tools: Any) -> None:
    for n, tool in enumerate(optional_list(tools, "tools")):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise bad(f"'tools[{n}]': only function tools are supported", f"tools[{n}].type")
        if not isinstance(tool.get("name"), str):
            raise bad(f"'tools[{n}].name' is required", f"tools[{n}].name")
        if not isinstance(tool.get("parameters", {}), dict):
            raise bad(f"'tools[{n}].parameters' must be a JSON schema object", f"tools[{n}].parameters")
