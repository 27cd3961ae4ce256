"""`POST /v1/completions`: the legacy text-completion API, answered through chat.

Each prompt becomes one chat request with the prompt as the user message (so a list of k
prompts costs k Copilot requests); the answers come back in the `text_completion` shape.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from aiohttp import web

from ..._upstream.client import CopilotClient
from ..._upstream.event_stream import EventStream
from ..answers import json_answer
from ..app_keys import CORE
from ..observe import note_model, note_usage
from ..relay import relay
from ..request_body import read_json_object
from ..validation.chat import check_sampling
from ..validation.common import bad, check_type
from .chat import OPENAI_STREAM, include_usage

UNSUPPORTED = ("suffix", "best_of", "logprobs", "logit_bias")
NOT_FOR_CHAT = ("prompt", "echo", "suffix", "best_of", "logprobs", "logit_bias", "user")


def validate_completions_request(body: dict[str, Any]) -> list[str]:
    """Check the body; return its prompts."""
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        prompts = [prompt]
    elif isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        prompts = prompt
    elif prompt is None:
        raise bad("'prompt' is required", "prompt")
    else:
        raise bad("'prompt' must be a string or a list of strings (token prompts are not supported)", "prompt")
    for name in UNSUPPORTED:
        if body.get(name) not in (None, 1 if name == "best_of" else None):
            raise bad(f"'{name}' is not supported by colalamo's /v1/completions", name)
    check_type(body, "echo", bool, "true or false")
    check_sampling(body)
    return prompts


def _chat_body(body: dict[str, Any], prompt: str) -> dict[str, Any]:
    chat = {k: v for k, v in body.items() if k not in NOT_FOR_CHAT}
    chat["messages"] = [{"role": "user", "content": prompt}]
    return chat


class _Shape:
    """Builds `text_completion` objects that share one id and creation time."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.id = f"cmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.n = body.get("n") or 1
        self.echo = bool(body.get("echo"))

    def envelope(self, model: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": "text_completion", "created": self.created, "model": model, "choices": choices}

    def choice(self, text: str, index: int, finish_reason: str | None) -> dict[str, Any]:
        return {"text": text, "index": index, "logprobs": None, "finish_reason": finish_reason}


def _sum_usage(usages: list[dict[str, Any] | None]) -> dict[str, int] | None:
    present = [u for u in usages if u]
    if not present:
        return None
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {k: sum(int(u.get(k) or 0) for u in present) for k in keys}


async def completions(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request)
    prompts = validate_completions_request(body)
    copilot = request.app[CORE].copilot
    note_model(request, body.get("model") or copilot.default_model)
    shape = _Shape(body)
    if body.get("stream"):
        return await relay(request, _stream(copilot, body, prompts, shape), OPENAI_STREAM)
    answers = await asyncio.gather(*(copilot.chat_completion(_chat_body(body, p)) for p in prompts))
    choices = [
        shape.choice(
            (prompt if shape.echo else "") + (c["message"].get("content") or ""),
            p * shape.n + c["index"],
            c.get("finish_reason"),
        )
        for p, (prompt, answer) in enumerate(zip(prompts, answers, strict=True))
        for c in answer["choices"]
    ]
    result = shape.envelope(answers[0]["model"], choices)
    result["usage"] = _sum_usage([a.get("usage") for a in answers])
    note_usage(request, result["usage"])
    return json_answer(result)


@asynccontextmanager
async def _stream(
    copilot: CopilotClient, body: dict[str, Any], prompts: list[str], shape: _Shape
) -> AsyncIterator[_TextStream]:
    async with AsyncExitStack() as streams:
        # The first prompt's stream is opened here, so that a refusal is a plain error response.
        first = await streams.enter_async_context(
            copilot.stream_chat_completion(_chat_body(body, prompts[0]), include_usage=True)
        )
        yield _TextStream(copilot, body, prompts, shape, first, streams)


class _TextStream:
    """The chat streams of each prompt in turn, as `text_completion` chunks."""

    def __init__(self, copilot: CopilotClient, body: dict[str, Any], prompts: list[str], shape: _Shape,
                 first: EventStream, streams: AsyncExitStack) -> None:
        self._copilot, self._body, self._prompts, self._shape = copilot, body, prompts, shape
        self._first, self._streams = first, streams
        self.usage: dict[str, int] | None = None

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        shape, usages = self._shape, []
        model = self._body.get("model") or self._copilot.default_model
        for p, prompt in enumerate(self._prompts):
            chunks = self._first if p == 0 else await self._streams.enter_async_context(
                self._copilot.stream_chat_completion(_chat_body(self._body, prompt), include_usage=True)
            )
            if shape.echo:
                yield [shape.envelope(model, [shape.choice(prompt, p * shape.n + c, None)]) for c in range(shape.n)]
            async for batch in chunks.batches():
                out = []
                for chunk in batch:
                    if not chunk["choices"]:
                        usages.append(chunk.get("usage"))
                        continue
                    model = chunk["model"]
                    choice = chunk["choices"][0]
                    text = choice["delta"].get("content") or ""
                    if text or choice["finish_reason"]:
                        index = p * shape.n + choice["index"]
                        out.append(shape.envelope(model, [shape.choice(text, index, choice["finish_reason"])]))
                if out:
                    yield out
        self.usage = _sum_usage(usages)
        if include_usage(self._body):
            final = shape.envelope(model, [])
            final["usage"] = self.usage
            yield [final]
