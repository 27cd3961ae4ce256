"""The fake's native Anthropic Messages endpoint (`{api}/v1/messages`), for the models whose
`supported_endpoints` list it: answers with thinking blocks, tool use and Anthropic's stream."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

from .answers import count_tokens, instance_of, words

Json = dict[str, Any]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text")


def _last_user(body: Json) -> Json:
    return next((m for m in reversed(body["messages"]) if m.get("role") == "user"), {"content": ""})


def blocks(body: Json, reply_text: str) -> tuple[list[Json], str, str | None]:
    """The content blocks, stop reason and stop sequence of the fake's answer."""
    last = _last_user(body)
    results = [b for b in last["content"] if b.get("type") == "tool_result"] if isinstance(last["content"], list) else []
    hint = _text(last["content"]) or "echo"
    out: list[Json] = []
    if (body.get("thinking") or {}).get("type") == "enabled":
        out.append({"type": "thinking", "thinking": f"The user said {hint}.", "signature": f"sig_{secrets.token_hex(8)}"})
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or {"type": "auto"}
    if tools and not results and choice.get("type") != "none":
        if choice.get("type") == "tool":
            tools = [t for t in tools if t["name"] == choice.get("name")]
        for tool in tools[:1] if choice.get("disable_parallel_tool_use") else tools:
            out.append({"type": "tool_use", "id": f"toolu_{secrets.token_hex(12)}", "name": tool["name"],
                        "input": instance_of(tool.get("input_schema"), hint)})
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
    return {
        "id": f"msg_{secrets.token_hex(12)}",
        "type": "message",
        "role": "assistant",
        "model": model["version"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {"input_tokens": count_tokens(body["messages"]), "output_tokens": sum(len(words(json.dumps(b))) for b in content)},
    }


def stream(body: Json, model: Json, reply_text: str) -> Iterator[Json]:
    whole = message(body, model, reply_text)
    yield {"type": "message_start", "message": {**whole, "content": [], "stop_reason": None, "stop_sequence": None,
                                                 "usage": {**whole["usage"], "output_tokens": 1}}}
    yield {"type": "ping"}
    for index, block in enumerate(whole["content"]):
        kind = block["type"]
        empty = {"type": kind, **({"text": ""} if kind == "text" else {}), **({"thinking": "", "signature": ""} if kind == "thinking" else {}),
                 **({"id": block.get("id"), "name": block.get("name"), "input": {}} if kind == "tool_use" else {})}
        yield {"type": "content_block_start", "index": index, "content_block": empty}
        if kind == "text":
            for piece in words(block["text"]):
                yield {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}
        elif kind == "thinking":
            yield {"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": block["thinking"]}}
            yield {"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": block["signature"]}}
        else:
            arguments = json.dumps(block["input"])
            step = max(1, len(arguments) // 3)
            for start in range(0, len(arguments), step):
                yield {"type": "content_block_delta", "index": index,
                       "delta": {"type": "input_json_delta", "partial_json": arguments[start : start + step]}}
        yield {"type": "content_block_stop", "index": index}
    yield {"type": "message_delta", "delta": {"stop_reason": whole["stop_reason"], "stop_sequence": whole["stop_sequence"]},
           "usage": {"output_tokens": whole["usage"]["output_tokens"]}}
    yield {"type": "message_stop"}
