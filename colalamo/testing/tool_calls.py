"""When the fake model calls a tool, the same for chat completions, Messages and Responses.

A model driving an agent calls a tool when the task asks for it, not whenever tools are
offered: the fake calls the tools the last user message names (as whole words), all of them
at once unless parallel calls are off, or the one `tool_choice` forces. A JSON value right
after the name (`get_weather {"city": "Paris"}`) is the call's input (a tool named inside that
value is not called); otherwise the input is made up from the tool's schema. A plain prompt to
an agent therefore ends in one text reply.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from .schemas import instance_of

Mode = Literal["auto", "none", "any"]
_JSON = json.JSONDecoder()


@dataclass(frozen=True)
class Tool:
    name: str
    schema: Any = None  # JSON schema of a function tool's arguments
    custom: bool = False  # a free-form tool (Responses `custom`): its input is a string


@dataclass(frozen=True)
class PlannedCall:
    tool: Tool
    arguments: Any  # a JSON object for function tools, a string for custom tools


def _mentions(tools: list[Tool], prompt: str) -> list[tuple[Tool, Any]]:
    """The tools the prompt names, in order, each with the JSON value written right after its
    name (None when there is none). A name inside such a value is that call's input, not a
    call of its own."""
    by_name = {t.name: t for t in reversed(tools) if t.name}
    if not by_name:
        return []
    names = sorted(by_name, key=len, reverse=True)
    pattern = re.compile(rf"(?<![\w-])(?:{'|'.join(map(re.escape, names))})(?![\w-])")
    found: dict[str, tuple[Tool, Any]] = {}
    cursor = 0
    while match := pattern.search(prompt, cursor):
        given, cursor = _given_input(prompt, match.end())
        found.setdefault(match.group(), (by_name[match.group()], given))
    return list(found.values())


def _given_input(prompt: str, end: int) -> tuple[Any, int]:
    """The JSON value written right after a tool's name, if there is one, and where it ends."""
    start = end + len(prompt[end:]) - len(prompt[end:].lstrip())
    if prompt[start:start + 1] not in ("{", '"'):
        return None, end
    try:
        return _JSON.raw_decode(prompt, start)
    except ValueError:
        return None, end


def _arguments(tool: Tool, given: Any, hint: str) -> Any:
    if tool.custom:
        if isinstance(given, str):
            return given
        return json.dumps(given) if isinstance(given, dict) else hint
    if isinstance(given, dict):
        return given
    return instance_of(tool.schema, hint)


def plan_calls(
    tools: list[Tool],
    prompt: str,
    *,
    hint: str,
    mode: Mode = "auto",
    forced: str | None = None,
    parallel: bool = True,
) -> list[PlannedCall]:
    """The calls the fake model makes, in order (none: it answers with text).

    `mode` "any" (OpenAI `required`, Anthropic `any`) calls the first tool when none is named;
    `forced` names the one tool to call; made-up arguments use `hint` for strings.
    """
    if mode == "none" or not tools:
        return []
    named = _mentions(tools, prompt)
    if forced is not None:
        given = dict((t.name, g) for t, g in named)
        chosen = [(t, given.get(t.name)) for t in tools if t.name == forced][:1]
    else:
        chosen = named or ([(tools[0], None)] if mode == "any" else [])
    if not parallel:
        chosen = chosen[:1]
    return [PlannedCall(tool, _arguments(tool, given, hint)) for tool, given in chosen]
