"""`Server-Timing: colalamo;dur=<ms>` on every answer: the time colalamo spent itself, without
the time Copilot took. Real server, the fake upstream, a plain HTTP client."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import aiohttp
import pytest
from helpers import USER_HELLO

from colalamo.testing import FakeCopilot
from colalamo.testing.fake import Fault

TIMING = re.compile(r"^colalamo;dur=(\d+(?:\.\d+)?)$")
SLOW = 0.6  # seconds the fake waits before it answers, in the slow-upstream tests

CHUNK = {"id": "chatcmpl-slow", "created": 1, "model": "gpt-4.1",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "late"}, "finish_reason": "stop"}]}
REPLY = {"id": "chatcmpl-slow", "created": 1, "model": "gpt-4.1",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "late"}, "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}


def fetch(method: str, url: str, body: Any = None) -> tuple[int, dict[str, str], str, float]:
    """Status, headers, body and the client's own measure of the whole exchange, in ms."""

    async def main() -> tuple[int, dict[str, str], str, float]:
        async with aiohttp.ClientSession() as http:
            started = time.perf_counter()
            async with http.request(method, url, json=body) as response:
                text = await response.text()
            return response.status, dict(response.headers), text, (time.perf_counter() - started) * 1000

    return asyncio.run(main())


def colalamo_ms(headers: dict[str, str]) -> float:
    match = TIMING.match(headers.get("Server-Timing", ""))
    assert match, f"no parseable Server-Timing header: {headers.get('Server-Timing')!r}"
    return float(match.group(1))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_answers_carry_colalamo_own_time(server: str, stream: bool) -> None:
    status, headers, text, total = fetch("POST", f"{server}/v1/chat/completions",
                                         {"messages": USER_HELLO, "stream": stream})
    assert status == 200 and "echo: " in text
    assert 0 <= colalamo_ms(headers) < total


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_copilot_time_is_not_counted_as_colalamo(server: str, fake: FakeCopilot, stream: bool) -> None:
    # The fake waits SLOW seconds before it answers (headers and body alike): the exchange
    # takes longer than that, colalamo's own share stays far below it.
    if stream:
        fake.fail_next("chat", Fault(status=200, content_type="text/event-stream", delay=SLOW,
                                     body=f"data: {json.dumps(CHUNK)}\n\ndata: [DONE]\n\n"))
    else:
        fake.fail_next("chat", Fault(status=200, body=json.dumps(REPLY), delay=SLOW))
    status, headers, text, total = fetch("POST", f"{server}/v1/chat/completions",
                                         {"messages": USER_HELLO, "stream": stream})
    assert status == 200 and "late" in text
    assert total >= SLOW * 1000
    assert colalamo_ms(headers) < SLOW * 1000 / 2


def test_other_surfaces_and_errors_carry_it_too(server: str) -> None:
    claude = {"model": "claude-sonnet-4", "max_tokens": 50, "messages": USER_HELLO, "stream": True}
    for method, path, body in (("POST", "/v1/messages", claude),
                               ("POST", "/v1/responses", {"model": "gpt-4.1", "input": "hello there"}),
                               ("GET", "/health", None),
                               ("GET", "/v1/no-such-route", None),
                               ("POST", "/v1/chat/completions", {"messages": "not a list"})):
        status, headers, _, total = fetch(method, f"{server}{path}", body)
        assert 0 <= colalamo_ms(headers) < total, (path, status)
