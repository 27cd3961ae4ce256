"""The fake's OpenAI Responses answers (`POST {api}/responses`), whole and streamed.

Output items come in the order the real models give them: a reasoning item first (reasoning
models), then either tool calls or one message. A stream opens every parallel call first, then
sends call 0's argument fragments, then call 1's, and so on (as Copilot does), and ends with
`response.completed` (or `response.incomplete`) carrying `copilot_usage` beside `response`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

from .answers import REASONING_FAMILY, last_user_text, structured_text, words
from .responses_input import TOOL_OUTPUTS, chat_view, output_text
from .tool_calls import Mode, PlannedCall, Tool, plan_calls

Json = dict[str, Any]


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def reasons(model: Json, body: Json) -> bool:
    """Whether the model thinks before it answers (a reasoning item leads its output)."""
    capabilities = model["capabilities"]
    family_thinks = bool(REASONING_FAMILY.match(capabilities.get("family", "")))
    thinks = family_thinks or "reasoning_effort" in capabilities.get("supports", {})
    return thinks and (body.get("reasoning") or {}).get("effort") != "none"


def _reasoning_settings(body: Json, model: Json) -> Json:
    asked = body.get("reasoning") or {}
    default = "medium" if reasons(model, {}) else None
    return {"effort": asked.get("effort", default), "summary": asked.get("summary")}


def _reasoning_item(body: Json, thought: str, seal: Callable[[str], str]) -> Json:
    item: Json = {"id": _id("rs"), "type": "reasoning", "summary": []}
    if (body.get("reasoning") or {}).get("summary"):
        item["summary"] = [{"type": "summary_text", "text": thought}]
    if "reasoning.encrypted_content" in (body.get("include") or []):
        item["encrypted_content"] = seal(item["id"])
    return item


def _tools(body: Json) -> list[Tool]:
    return [
        Tool(t["name"], t.get("parameters"), custom=t["type"] == "custom")
        for t in body.get("tools") or []
        if t.get("type") in ("function", "custom")
    ]


def _tool_choice(body: Json) -> tuple[Mode, str | None]:
    choice = body.get("tool_choice", "auto")
    if isinstance(choice, dict):
        return "auto", choice.get("name") if choice.get("type") in ("function", "custom") else None
    if choice == "none":
        return "none", None
    return ("any" if choice == "required" else "auto"), None


def _call_item(call: PlannedCall) -> Json:
    if call.tool.custom:
        return {"id": _id("ctc"), "type": "custom_tool_call", "status": "completed", "call_id": _id("call"),
                "name": call.tool.name, "input": call.arguments}
    return {"id": _id("fc"), "type": "function_call", "status": "completed", "call_id": _id("call"),
            "name": call.tool.name, "arguments": json.dumps(call.arguments)}


def _message_item(text: str, status: str) -> Json:
    return {"id": _id("msg"), "type": "message", "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}


def _cut(text: str, limit: Any) -> tuple[str, bool]:
    pieces = words(text)
    if isinstance(limit, int) and len(pieces) > limit:
        return "".join(pieces[:limit]), True
    return text, False


def _output_tokens(items: list[Json]) -> int:
    count = 0
    for item in items:
        if item["type"] == "message":
            count += len(words(item["content"][0]["text"]))
        elif item["type"] in ("function_call", "custom_tool_call"):
            count += len(words(item.get("arguments") or item.get("input") or ""))
    return count


def respond(body: Json, items: list[Json], model: Json, reply_text: str, input_tokens: int,
            seal: Callable[[str], str]) -> Json:
    """The whole Responses object for `body`, whose input (references resolved) is `items`."""
    prompt = last_user_text(chat_view(items))
    hint = prompt or "echo"
    last = next((i for i in reversed(items) if i.get("type") != "reasoning"), {})
    after_tool = last.get("type") in TOOL_OUTPUTS
    output: list[Json] = []
    thought = "The tool answered; I report it to the user." if after_tool else f"The user said: {hint}"
    reasoning_tokens = len(words(thought)) if reasons(model, body) else 0
    if reasoning_tokens:
        output.append(_reasoning_item(body, thought, seal))
    mode, forced = _tool_choice(body)
    calls = [] if after_tool else plan_calls(_tools(body), prompt, hint=hint, mode=mode, forced=forced,
                                             parallel=body.get("parallel_tool_calls") is not False)
    incomplete = False
    if calls:
        output.extend(_call_item(call) for call in calls)
    else:
        if after_tool:
            text = f"echo: the tool said {output_text(last.get('output'))}"
        else:
            text = structured_text((body.get("text") or {}).get("format"), hint) or reply_text
        text, incomplete = _cut(text, body.get("max_output_tokens"))
        output.append(_message_item(text, "incomplete" if incomplete else "completed"))
    output_tokens = _output_tokens(output) + reasoning_tokens
    return {
        "id": _id("resp"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if incomplete else "completed",
        "background": False,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model["version"],
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": _reasoning_settings(body, model),
        "store": body.get("store", True),
        "temperature": 1.0,
        "text": {"format": (body.get("text") or {}).get("format") or {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": input_tokens + output_tokens,
        },
        "user": None,
        "metadata": {},
    }


# streaming ------------------------------------------------------------------------------------


def _fragments(text: str) -> list[str]:
    step = max(1, len(text) // 3)
    return [text[start : start + step] for start in range(0, len(text), step)] or [""]


def _started(item: Json) -> Json:
    """The item as `response.output_item.added` shows it: nothing generated yet."""
    kind = item["type"]
    if kind == "reasoning":
        return {"id": item["id"], "type": "reasoning", "summary": []}
    if kind == "message":
        return {**item, "status": "in_progress", "content": []}
    if kind == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    return {**item, "status": "in_progress", "input": ""}


def _reasoning_events(item: Json, index: int) -> Iterator[Json]:
    where = {"item_id": item["id"], "output_index": index}
    yield {"type": "response.output_item.added", "output_index": index, "item": _started(item)}
    for n, part in enumerate(item["summary"]):
        yield {"type": "response.reasoning_summary_part.added", **where, "summary_index": n,
               "part": {"type": "summary_text", "text": ""}}
        for piece in words(part["text"]):
            yield {"type": "response.reasoning_summary_text.delta", **where, "summary_index": n, "delta": piece}
        yield {"type": "response.reasoning_summary_text.done", **where, "summary_index": n, "text": part["text"]}
        yield {"type": "response.reasoning_summary_part.done", **where, "summary_index": n, "part": part}
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


def _message_events(item: Json, index: int) -> Iterator[Json]:
    where = {"item_id": item["id"], "output_index": index, "content_index": 0}
    part = item["content"][0]
    yield {"type": "response.output_item.added", "output_index": index, "item": _started(item)}
    yield {"type": "response.content_part.added", **where, "part": {**part, "text": ""}}
    for piece in words(part["text"]):
        yield {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
    yield {"type": "response.output_text.done", **where, "text": part["text"], "logprobs": []}
    yield {"type": "response.content_part.done", **where, "part": part}
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


def _call_events(calls: list[tuple[int, Json]]) -> Iterator[Json]:
    """Parallel calls the Copilot way: all open, then each call's fragments in turn, then done."""
    for index, item in calls:
        yield {"type": "response.output_item.added", "output_index": index, "item": _started(item)}
    for index, item in calls:
        custom = item["type"] == "custom_tool_call"
        event = "response.custom_tool_call_input.delta" if custom else "response.function_call_arguments.delta"
        for fragment in _fragments(item["input"] if custom else item["arguments"]):
            yield {"type": event, "item_id": item["id"], "output_index": index, "delta": fragment}
    for index, item in calls:
        if item["type"] == "custom_tool_call":
            yield {"type": "response.custom_tool_call_input.done", "item_id": item["id"], "output_index": index,
                   "input": item["input"]}
        else:
            yield {"type": "response.function_call_arguments.done", "item_id": item["id"], "output_index": index,
                   "name": item["name"], "arguments": item["arguments"]}
        yield {"type": "response.output_item.done", "output_index": index, "item": item}


def _events(whole: Json) -> Iterator[Json]:
    response = {k: v for k, v in whole.items() if k != "copilot_usage"}
    opening = {**response, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    yield {"type": "response.created", "response": opening}
    yield {"type": "response.in_progress", "response": opening}
    calls = [(n, item) for n, item in enumerate(response["output"])
             if item["type"] in ("function_call", "custom_tool_call")]
    for index, item in enumerate(response["output"]):
        if item["type"] == "reasoning":
            yield from _reasoning_events(item, index)
        elif item["type"] == "message":
            yield from _message_events(item, index)
    if calls:
        yield from _call_events(calls)
    final: Json = {"type": f"response.{response['status']}", "response": response}
    if "copilot_usage" in whole:
        final["copilot_usage"] = whole["copilot_usage"]
    yield final


def stream(whole: Json) -> Iterator[Json]:
    """The stream events of a whole response, numbered by `sequence_number`."""
    for number, event in enumerate(_events(whole)):
        yield {**event, "sequence_number": number}
