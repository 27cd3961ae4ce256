"""Checks on Responses request bodies."""

from __future__ import annotations

from typing import Any

from ..._translate.responses import NAMESPACE_SEPARATOR
from .common import (
    bad,
    check_forced_tool,
    check_number,
    check_tool_name,
    check_type,
    one_of,
    optional_list,
)

ITEM_TYPES = frozenset({"message", "function_call", "function_call_output", "custom_tool_call",
                        "custom_tool_call_output", "reasoning", "item_reference", "web_search_call", "compaction"})
CALL_ITEMS = frozenset({"function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output"})
NAMED_TOOLS = frozenset({"function", "custom", "namespace"})
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
    functions = _tools(body.get("tools"))
    choice = body.get("tool_choice")
    if choice is not None and not one_of(choice, TOOL_CHOICES):
        if not (isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str)):
            raise bad("'tool_choice' must be auto, none, required or {\"type\": \"function\", \"name\": ...}",
                      "tool_choice")
        check_forced_tool(choice["name"], functions, "tool_choice.name")
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
            is_parts = isinstance(content, list) and all(isinstance(p, dict) for p in content)
            if not (isinstance(content, str) or is_parts):
                raise bad(f"'{where}.content' must be a string or a list of parts", f"{where}.content")
        elif kind in CALL_ITEMS:
            if not isinstance(item.get("call_id"), str):
                raise bad(f"'{where}.call_id' is required", f"{where}.call_id")
            if kind in ("function_call", "custom_tool_call") and not isinstance(item.get("name"), str):
                raise bad(f"'{where}.name' is required", f"{where}.name")
        elif kind == "item_reference" and not isinstance(item.get("id"), str):
            raise bad(f"'{where}.id' is required", f"{where}.id")


def _tools(tools: Any, where: str = "tools") -> set[str]:
    """Function, custom and namespace tools are checked; hosted tools (`web_search`, ...)
    only need a type: they go to Copilot where the model takes them, else are left out.
    Returns the names a forced `tool_choice` may name (a namespace's functions by their own
    name and by the flat name they go upstream with)."""
    names = set()
    for n, tool in enumerate(optional_list(tools, where)):
        here = f"{where}[{n}]"
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise bad(f"'{here}' must be an object with a type", f"{here}.type")
        kind = tool["type"]
        if kind in NAMED_TOOLS:
            names.add(check_tool_name(tool.get("name"), f"{here}.name"))
        if kind == "function" and not isinstance(tool.get("parameters") or {}, dict):
            raise bad(f"'{here}.parameters' must be a JSON schema object", f"{here}.parameters")
        if kind == "namespace":
            if not isinstance(tool.get("tools"), list) or not all(
                    isinstance(t, dict) and t.get("type", "function") == "function" for t in tool["tools"]):
                raise bad(f"'{here}.tools' must be a list of function tools", f"{here}.tools")
            inner = _tools([{"type": "function", **t} for t in tool["tools"]], f"{here}.tools")
            names |= inner | {f"{tool['name']}{NAMESPACE_SEPARATOR}{name}" for name in inner}
    return names
