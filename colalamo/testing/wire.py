"""The fake's answers in Copilot's wire format, quirks included."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

from .answers import Choice, Json, words

PROMPT_FILTER = [
    {
        "prompt_index": 0,
        "content_filter_results": {
            category: {"filtered": False, "severity": "safe"}
            for category in ("hate", "self_harm", "sexual", "violence")
        },
    }
]
CONTENT_FILTER = {"hate": {"filtered": False, "severity": "safe"}}


def _logprobs(pieces: list[str]) -> Json:
    return {
        "content": [
            {"token": p, "logprob": -0.25, "bytes": list(p.encode()), "top_logprobs": []} for p in pieces
        ]
    }


def split_tool_choices(choices: list[Choice], model: Json) -> bool:
    """Claude, through Copilot, puts its tool calls in a choice of their own, after a text one."""
    return model.get("vendor") == "Anthropic" and any(c.tool_calls for c in choices)


def completion(
    choices: list[Choice], model: Json, usage: Json, *, logprobs: bool, copilot_usage: Json | None = None
) -> Json:
    out: list[Json] = []
    for choice in choices:
        if split_tool_choices([choice], model):
            names = ", ".join(c["function"]["name"] for c in choice.tool_calls)
            announcement = {"role": "assistant", "content": f"Calling {names}."}
            calling = {"role": "assistant", "tool_calls": choice.tool_calls}
            out.append({"message": announcement, "finish_reason": "tool_calls"})
            out.append({"message": calling, "finish_reason": "tool_calls"})
            continue
        message: Json = {"role": "assistant", "content": choice.text}
        if choice.tool_calls:
            message["tool_calls"] = choice.tool_calls
        entry: Json = {"message": message, "finish_reason": choice.finish_reason}
        if logprobs and choice.text is not None:
            entry["logprobs"] = _logprobs(words(choice.text))
        out.append(entry)
    for index, entry in enumerate(out):
        entry["index"] = index
        entry["content_filter_results"] = CONTENT_FILTER
    return {  # no "object": Copilot leaves it out
        "choices": out,
        "created": int(time.time()),
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "model": model["version"],
        "prompt_filter_results": PROMPT_FILTER,
        "system_fingerprint": "fp_fake",
        "usage": usage,
        **({"copilot_usage": copilot_usage} if copilot_usage is not None else {}),
    }


def stream(choices: list[Choice], model: Json, usage: Json, *, logprobs: bool,
           copilot_usage: Json | None = None) -> Iterator[Json | str]:
    """The SSE payloads of a streamed answer, in order; the last one is "[DONE]"."""
    common = {"created": int(time.time()), "id": f"chatcmpl-{secrets.token_hex(12)}", "model": model["version"]}
    yield {"choices": [], "created": 0, "id": "", "prompt_filter_results": PROMPT_FILTER}
    split = split_tool_choices(choices, model)
    for index, choice in enumerate(choices):
        text = choice.text
        if split and choice.tool_calls:
            text = "Calling " + ", ".join(c["function"]["name"] for c in choice.tool_calls) + "."
        for n, piece in enumerate(words(text) if text is not None else []):
            entry: Json = {"content_filter_results": CONTENT_FILTER, "delta": {"content": piece}}
            if n == 0:
                entry["delta"]["role"] = "assistant"
            if n == 0 or index > 0:
                entry["index"] = index  # later chunks of the first choice leave `index` out
            if logprobs:
                entry["logprobs"] = _logprobs([piece])
            yield {"choices": [entry], **common}
        if choice.tool_calls:
            yield from _tool_call_chunks(choice.tool_calls, index + 1 if split else index, common)
        last = index == len(choices) - 1
        ending = {"finish_reason": choice.finish_reason, "index": index, "delta": {"content": None}}
        finish = {"choices": [ending], **common}
        if last:
            finish["usage"] = usage  # usage rides in the finish chunk, whatever stream_options said
            if copilot_usage is not None:
                finish["copilot_usage"] = copilot_usage
        yield finish
    yield "[DONE]"


def _tool_call_chunks(calls: list[Json], choice_index: int, common: Json) -> Iterator[Json]:
    # Parallel calls start together, in one delta; their arguments follow in fragments.
    starts = [
        {"index": k, "id": c["id"], "type": "function", "function": {"name": c["function"]["name"], "arguments": ""}}
        for k, c in enumerate(calls)
    ]
    delta = {"role": "assistant", "content": None, "tool_calls": starts}
    yield {"choices": [{"index": choice_index, "delta": delta}], **common}
    for k, call in enumerate(calls):
        arguments = call["function"]["arguments"]
        step = max(1, len(arguments) // 3)
        for start in range(0, len(arguments), step):
            fragment = {"index": k, "function": {"arguments": arguments[start : start + step]}}
            yield {"choices": [{"index": choice_index, "delta": {"tool_calls": [fragment]}}], **common}
