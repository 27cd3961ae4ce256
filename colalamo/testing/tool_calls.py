"""When the fake model calls a tool, the same for chat completions, Messages and Responses.

A model driving an agent calls a tool when the task asks for it, not whenever tools are
offered: the fake calls the tools the last user message names (as whole words), all of them
at once unless parallel calls are off, or the one `tool_choice` forces. A JSON value right
after the name (`get_weather {"city": "Paris"}`) is the call's input; otherwise the input is
made up from the tool's schema. A plain prompt to an agent therefore ends in one text reply.
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


def _mention(name: str, prompt: str) -> re.Match[str] | None:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", prompt) if name else None


def _given_input(prompt: str, end: int) -> Any:
    """The JSON value written right after a tool's name, if there is one."""
    rest = prompt[end:]
    stripped = rest.lstrip()
    if stripped[:1] not in ("{", '"'):
        return None
    try:
        value, _ = _JSON.raw_decode(stripped)
    except ValueError:
        return None
    return value


def _arguments(tool: Tool, prompt: str, hint: str) -> Any:
    match = _mention(tool.name, prompt)
    given = _given_input(prompt, match.end()) if match else None
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
    if forced is not None:
        chosen = [t for t in tools if t.name == forced][:1]
    else:
        named = [(m.start(), n, t) for n, t in enumerate(tools) if (m := _mention(t.name, prompt))]
        chosen = [t for _, _, t in sorted(named, key=lambda entry: (entry[0], entry[1]))]
        if not chosen and mode == "any":
            chosen = tools[:1]
    if not parallel:
        chosen = chosen[:1]
    return [PlannedCall(tool, _arguments(tool, prompt, hint)) for tool in chosen]
