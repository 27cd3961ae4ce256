"""What the fake Copilot answers: deterministic replies, tool calls, JSON for a schema,
embeddings, and the per-model refusals real Copilot models make."""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from .responses_input import chat_view
from .schemas import instance_of
from .tool_calls import Mode, PlannedCall, Tool, plan_calls

__all__ = ["instance_of"]  # shared with the Messages and Responses answers

Json = dict[str, Any]
REASONING_FAMILY = re.compile(r"^(o\d|gpt-5)")


#: What coding agents add to a user turn for the model's eyes only (Claude Code's context,
#: skills and agent lists): the fake acts on what the person wrote, as a model would.
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)


def content_text(content: Any) -> str:
    """The text of a message's content (a string, OpenAI parts or Anthropic blocks), without
    the agents' `<system-reminder>` blocks."""
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
                        and not _REMINDER.fullmatch(p.get("text", "").strip()))
    else:
        return ""
    return _REMINDER.sub("", text).strip() if "<system-reminder>" in text else text


def last_user_text(messages: Any) -> str:
    """The text of the last user message (OpenAI parts or Anthropic blocks)."""
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, (str, list)):
                return content_text(content)
    return ""


def image_urls(messages: Any) -> list[str]:
    """The images of the messages, as URLs (Anthropic's base64 sources as data URLs)."""
    urls = []
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                image = part.get("image_url")
                urls.append(image.get("url", "") if isinstance(image, dict) else str(image))
            elif isinstance(part, dict) and part.get("type") == "image":
                source = part.get("source") or {}
                urls.append(source.get("url") or f"data:{source.get('media_type')};base64,{source.get('data', '')}")
    return urls


def conversation(body: Json) -> Any:
    """The messages of a chat or Messages body; a Responses body's `input`, seen as messages."""
    return body.get("messages") if "messages" in body else chat_view(body.get("input"))


def echo_reply(body: Json) -> str:
    """The default answer: the last user message, repeated, so tests see what crossed.

    Images are echoed too (`[image: <start of the URL>]`). Works for the bodies of all three
    inference endpoints.
    """
    messages = conversation(body)
    text = f"echo: {last_user_text(messages)}"
    for url in image_urls(messages):
        text += f" [image: {url[:40]}]"
    return text


def words(text: str) -> list[str]:
    """Split text into stream pieces, keeping the spaces, so joining them restores it."""
    pieces = re.findall(r"\S*\s*", text)
    return [p for p in pieces if p] or [""]


def count_tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value)
    return max(1, len(text.split()))


@dataclass
class Choice:
    text: str | None = None
    tool_calls: list[Json] = field(default_factory=list)
    finish_reason: str = "stop"


def _chat_tool_choice(body: Json) -> tuple[Mode, str | None]:
    choice = body.get("tool_choice", "auto")
    if isinstance(choice, dict):
        return "auto", (choice.get("function") or {}).get("name")
    if choice == "none":
        return "none", None
    return ("any" if choice == "required" else "auto"), None


def _tool_calls(body: Json, hint: str) -> list[Json]:
    if _last_role(body) == "tool":  # a tool's result came back: the model answers with text
        return []
    tools = [
        Tool(t["function"].get("name", ""), t["function"].get("parameters"))
        for t in body.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("function"), dict)
    ]
    mode, forced = _chat_tool_choice(body)
    planned = plan_calls(tools, last_user_text(body.get("messages")), hint=hint, mode=mode, forced=forced,
                         parallel=body.get("parallel_tool_calls") is not False)
    return [_chat_call(call) for call in planned]


def _chat_call(call: PlannedCall) -> Json:
    return {
        "id": f"call_{secrets.token_hex(8)}",
        "type": "function",
        "function": {"name": call.tool.name, "arguments": json.dumps(call.arguments)},
    }


def _last_role(body: Json) -> str | None:
    messages = body.get("messages") or [{}]
    return messages[-1].get("role") if isinstance(messages[-1], dict) else None


def _tool_result_text(body: Json) -> str:
    results = [m.get("content") for m in body["messages"] if isinstance(m, dict) and m.get("role") == "tool"]
    return f"echo: the tool said {results[-1]}"


def structured_text(response_format: Any, hint: str) -> str | None:
    """JSON for chat's `response_format` or Responses' `text.format` (schema nested or not)."""
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        nested = response_format.get("json_schema")
        schema = (nested or {}).get("schema") if isinstance(nested, dict) else response_format.get("schema")
        return json.dumps(instance_of(schema, hint))
    if response_format.get("type") == "json_object":
        return json.dumps({"echo": hint})
    return None


def _limit(text: str, body: Json) -> tuple[str, str]:
    """Apply `stop` and the token limit; return the text and its finish reason."""
    stops = body.get("stop")
    for stop in [stops] if isinstance(stops, str) else stops or []:
        if stop and stop in text:
            text = text[: text.index(stop)]
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    pieces = words(text)
    if isinstance(limit, int) and len(pieces) > limit:
        return "".join(pieces[:limit]), "length"
    return text, "stop"


def answer(body: Json, reply_text: str) -> list[Choice]:
    """The choices the fake gives for a chat request (n of them)."""
    hint = last_user_text(body.get("messages")) or "echo"
    n = body.get("n") or 1
    choices = []
    for _ in range(n):
        calls = _tool_calls(body, hint)
        if calls:
            choices.append(Choice(tool_calls=calls, finish_reason="tool_calls"))
            continue
        if _last_role(body) == "tool":
            text = _tool_result_text(body)
        else:
            text = structured_text(body.get("response_format"), hint) or reply_text
        text, finish = _limit(text, body)
        choices.append(Choice(text=text, finish_reason=finish))
    return choices


def refusal(body: Json, model: Json) -> tuple[str, str] | None:
    """(message, param) when this model refuses the request, as the real ones do."""
    capabilities = model["capabilities"]
    supports = capabilities.get("supports", {})
    reasoning = bool(REASONING_FAMILY.match(capabilities.get("family", "")))
    roles = {m.get("role") for m in body.get("messages", []) if isinstance(m, dict)}
    if reasoning:
        for name in ("max_tokens", "temperature", "top_p"):
            if name in body and not (name == "temperature" and body[name] == 1):
                hint = " Use 'max_completion_tokens' instead." if name == "max_tokens" else ""
                return f"Unsupported parameter: '{name}' is not supported with this model.{hint}", name
        if (body.get("n") or 1) > 1:
            return "Unsupported parameter: 'n' is not supported with this model.", "n"
        if "system" in roles and capabilities.get("family", "").startswith("o"):  # o-series only; GPT-5 takes it
            return "Unsupported value: 'messages[0].role' does not support 'system' with this model.", "messages"
        if capabilities.get("family", "").startswith("gpt-5") and body.get("reasoning_effort") and body.get("tools"):
            return (f"Function tools with reasoning_effort are not supported for {model['id']} in "
                    "/v1/chat/completions. Please use /v1/responses instead."), "reasoning_effort"
    elif "developer" in roles and model.get("vendor") == "Anthropic":
        return "Unsupported value: role 'developer'.", "messages"
    if image_urls(body.get("messages")) and not supports.get("vision"):
        return "This model does not support image inputs.", "messages"
    return None


def embedding(value: Any, dimensions: int) -> list[float]:
    """A deterministic unit vector for one input (a string or a list of token ids)."""
    seed = json.dumps(value).encode()
    raw: list[float] = []
    counter = 0
    while len(raw) < dimensions:
        digest = hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        raw.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    vector = raw[:dimensions]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]
