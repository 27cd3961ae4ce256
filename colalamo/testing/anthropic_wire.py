"""The fake's native Anthropic Messages endpoint (`{api}/v1/messages`), for the models whose
`supported_endpoints` list it: answers with thinking blocks, tool use and Anthropic's stream
(parallel `tool_use` blocks one after the other), `copilot_usage` in the last `message_delta`."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

from .answers import content_text as _text
from .answers import count_tokens, words
from .tool_calls import Mode, Tool, plan_calls

Json = dict[str, Any]


def _last_user(body: Json) -> Json:
    return next((m for m in reversed(body["messages"]) if m.get("role") == "user"), {"content": ""})


def _tool_choice(body: Json) -> tuple[Mode, str | None, bool]:
    """Anthropic's `tool_choice` as (mode, forced tool, parallel calls allowed)."""
    choice = body.get("tool_choice") or {"type": "auto"}
    kind = choice.get("type")
    mode: Mode = "none" if kind == "none" else "any" if kind == "any" else "auto"
    return mode, choice.get("name") if kind == "tool" else None, not choice.get("disable_parallel_tool_use")


def rejected_tools(body: Json) -> list[str]:
    """The tools Copilot refuses: server tools (any `type` but `custom`) and tools asking for
    `eager_input_streaming`."""
    return [
        str(tool.get("name") or tool.get("type"))
        for tool in body.get("tools") or []
        if isinstance(tool, dict) and (tool.get("type") not in (None, "custom") or "eager_input_streaming" in tool)
    ]


def blocks(body: Json, reply_text: str) -> tuple[list[Json], str, str | None]:
    """The content blocks, stop reason and stop sequence of the fake's answer."""
    said = _last_user(body)["content"]
    results = [b for b in said if b.get("type") == "tool_result"] if isinstance(said, list) else []
    hint = _text(said) or "echo"
    out: list[Json] = []
    if (body.get("thinking") or {}).get("type") == "enabled":
        signature = f"sig_{secrets.token_hex(8)}"
        out.append({"type": "thinking", "thinking": f"The user said {hint}.", "signature": signature})
    if not results:
        mode, forced, parallel = _tool_choice(body)
        calls = plan_calls([Tool(t.get("name", ""), t.get("input_schema")) for t in body.get("tools") or []],
                           _text(said), hint=hint, mode=mode, forced=forced, parallel=parallel)
        if calls:
            out.extend({"type": "tool_use", "id": f"toolu_{secrets.token_hex(12)}", "name": call.tool.name,
                        "input": call.arguments} for call in calls)
            return out, "tool_use", None
    text = f"echo: the tool said {_text(results[-1].get('content'))}" if results else reply_text
    for stop in body.get("stop_sequences") or []:
        if stop in text:
            out.append({"type": "text", "text": text[: text.index(stop)]})
            return out, "stop_sequence", stop
    pieces = words(text)
    if len(pieces) > body["max_tokens"]:
        out.append({"type": "text", "text": "".join(pieces[: body["max_tokens"]])})
        return out, "max_tokens", None
    out.append({"type": "text", "text": text})
    return out, "end_turn", None


def message(body: Json, model: Json, reply_text: str) -> Json:
    content, stop_reason, stop_sequence = blocks(body, reply_text)
    output_tokens = sum(len(words(json.dumps(b))) for b in content)
    return {
        "id": f"msg_{secrets.token_hex(12)}",
        "type": "message",
        "role": "assistant",
        "model": model["version"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {"input_tokens": count_tokens(body["messages"]), "output_tokens": output_tokens},
    }


def stream(whole: Json) -> Iterator[Json]:
    """The events of a whole message; its `copilot_usage` rides in the last `message_delta`."""
    opening = {k: v for k, v in whole.items() if k != "copilot_usage"}
    yield {"type": "message_start", "message": {**opening, "content": [], "stop_reason": None, "stop_sequence": None,
                                                 "usage": {**whole["usage"], "output_tokens": 1}}}
    yield {"type": "ping"}
    for index, block in enumerate(whole["content"]):
        kind = block["type"]
        empty = {"type": kind, **({"text": ""} if kind == "text" else {}),
                 **({"thinking": "", "signature": ""} if kind == "thinking" else {}),
                 **({"id": block.get("id"), "name": block.get("name"), "input": {}} if kind == "tool_use" else {})}
        yield {"type": "content_block_start", "index": index, "content_block": empty}
        if kind == "text":
            for piece in words(block["text"]):
                yield {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}
        elif kind == "thinking":
            yield {"type": "content_block_delta", "index": index,
                   "delta": {"type": "thinking_delta", "thinking": block["thinking"]}}
            yield {"type": "content_block_delta", "index": index,
                   "delta": {"type": "signature_delta", "signature": block["signature"]}}
        else:
            arguments = json.dumps(block["input"])
            step = max(1, len(arguments) // 3)
            for start in range(0, len(arguments), step):
                yield {"type": "content_block_delta", "index": index,
                       "delta": {"type": "input_json_delta", "partial_json": arguments[start : start + step]}}
        yield {"type": "content_block_stop", "index": index}
    stopped = {"stop_reason": whole["stop_reason"], "stop_sequence": whole["stop_sequence"]}
    delta: Json = {"type": "message_delta", "delta": stopped,
                   "usage": {"output_tokens": whole["usage"]["output_tokens"]}}
    if "copilot_usage" in whole:
        delta["copilot_usage"] = whole["copilot_usage"]
    yield delta
    yield {"type": "message_stop"}
