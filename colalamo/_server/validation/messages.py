"""Checks on Anthropic Messages bodies: a bad field is a 400 in Anthropic's format."""

from __future__ import annotations

from typing import Any

from .common import (
    ANTHROPIC_TOOL_NAME_MAX,
    bad,
    check_forced_tool,
    check_number,
    check_tool_name,
    check_type,
    one_of,
    optional_list,
)

BLOCKS = frozenset({"text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking", "document"})
ROLES = frozenset({"user", "assistant", "system"})  # system: Claude Code puts one among them
TOOL_CHOICES = frozenset({"auto", "any", "tool", "none"})


def validate_messages_request(body: dict[str, Any], *, counting: bool = False) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise bad("'model' is required and must be a string", "model")
    if not counting:
        if body.get("max_tokens") is None:
            raise bad("'max_tokens' is required", "max_tokens")
        check_number(body, "max_tokens", int, 1, None)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad("'messages' must be a non-empty list", "messages")
    for n, message in enumerate(messages):
        _message(message, f"messages.{n}")
    _system(body.get("system"))
    check_number(body, "temperature", float, 0, 1)
    check_number(body, "top_p", float, 0, 1)
    check_number(body, "top_k", int, 0, None)
    check_type(body, "stream", bool, "true or false")
    check_type(body, "metadata", dict, "an object")
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        raise bad("'stop_sequences' must be a list of strings", "stop_sequences")
    client_tools = _tools(body.get("tools"))
    _tool_choice(body.get("tool_choice"), client_tools)


def _message(message: Any, where: str) -> None:
    if not isinstance(message, dict) or not one_of(message.get("role"), ROLES):
        raise bad(f"'{where}.role' must be user, assistant or system", f"{where}.role")
    content = message.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise bad(f"'{where}.content' must be a string or a list of content blocks", f"{where}.content")
    for n, block in enumerate(content):
        at = f"{where}.content.{n}"
        kind = block.get("type") if isinstance(block, dict) else None
        if not one_of(kind, BLOCKS):
            raise bad(f"'{at}.type' must be one of {', '.join(sorted(BLOCKS))}", f"{at}.type")
        if kind == "text" and not isinstance(block.get("text"), str):
            raise bad(f"'{at}.text' must be a string", f"{at}.text")
        source = block.get("source")
        source_type = source.get("type") if isinstance(source, dict) else None
        if kind == "image" and not one_of(source_type, frozenset({"base64", "url"})):
            raise bad(f"'{at}.source' must be a base64 or url image source", f"{at}.source")
        if kind == "tool_use" and not (isinstance(block.get("id"), str) and isinstance(block.get("name"), str)):
            raise bad(f"'{at}' needs an id and a name", at)
        if kind == "tool_result" and not isinstance(block.get("tool_use_id"), str):
            raise bad(f"'{at}.tool_use_id' is required", f"{at}.tool_use_id")


def _system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list) or not all(isinstance(b, dict) and b.get("type") == "text" for b in system):
        raise bad("'system' must be a string or a list of text blocks", "system")


def _tools(tools: Any) -> set[str]:
    """The names of the tools the client runs (server tools are left out upstream)."""
    names = set()
    for n, tool in enumerate(optional_list(tools, "tools")):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise bad(f"'tools.{n}.name' is required", f"tools.{n}.name")
        if tool.get("type") not in (None, "custom"):
            continue  # a server tool: left out (the response's X-Colalamo-Ignored-Tools names it)
        names.add(check_tool_name(tool["name"], f"tools.{n}.name", ANTHROPIC_TOOL_NAME_MAX))
        if not isinstance(tool.get("input_schema"), dict):
            raise bad(f"'tools.{n}.input_schema' must be a JSON schema object", f"tools.{n}.input_schema")
    return names


def _tool_choice(choice: Any, client_tools: set[str]) -> None:
    if choice is None:
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if not one_of(kind, TOOL_CHOICES):
        raise bad("'tool_choice.type' must be auto, any, tool or none", "tool_choice")
    if kind == "tool":
        if not isinstance(choice.get("name"), str):
            raise bad("'tool_choice.name' is required when its type is tool", "tool_choice.name")
        # a server tool (web search...) is among `tools` but never reaches Copilot: it cannot be forced
        check_forced_tool(choice["name"], client_tools, "tool_choice.name")
