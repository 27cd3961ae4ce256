"""What every format's checks share: a 400 naming the field, type and range checks, and the
rules for tool names and for a `tool_choice` that forces one tool."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from ..errors import ApiError

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
OPENAI_TOOL_NAME_MAX = 64
ANTHROPIC_TOOL_NAME_MAX = 128  # Claude Code's MCP tools (mcp__<server>__<tool>) can pass 64


def one_of(value: Any, allowed: frozenset[str]) -> bool:
    # Membership on a str only: a list or object here would make `in` raise TypeError.
    return isinstance(value, str) and value in allowed


def bad(message: str, param: str) -> ApiError:
    return ApiError.bad_request(message, param)


def check_number(body: dict[str, Any], name: str, kind: type, low: float | None, high: float | None) -> None:
    value = body.get(name)
    if value is None:
        return
    ok = isinstance(value, int) if kind is int else isinstance(value, (int, float))
    if not ok or isinstance(value, bool):
        raise bad(f"'{name}' must be {'a whole number' if kind is int else 'a number'}", name)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        raise bad(f"'{name}' must be {bounds}, not {value}", name)


def check_type(body: dict[str, Any], name: str, kind: type | tuple[type, ...], described: str) -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise bad(f"'{name}' must be {described}", name)


def optional_list(value: Any, name: str) -> list[Any]:
    """A list field: absent is empty; anything but a list is a 400."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad(f"'{name}' must be a list", name)
    return value


def check_tool_name(name: Any, where: str, longest: int = OPENAI_TOOL_NAME_MAX) -> str:
    """The name of a tool the client runs: letters, digits, _ and -, as both APIs require."""
    if not isinstance(name, str) or not TOOL_NAME.match(name) or len(name) > longest:
        raise bad(f"'{where}' must be 1 to {longest} letters, digits, _ or -", where)
    return name


def check_forced_tool(name: str, names: Collection[str], where: str) -> None:
    """A `tool_choice` that forces one tool must name one of the request's tools (else
    Copilot refuses it, less clearly, after the request has been counted)."""
    if name not in names:
        raise bad(f"'{where}' names {name!r}, which is not among the tools", where)
