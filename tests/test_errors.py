"""Every failure reaches the client as a clear error in OpenAI's format, with the right status."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
from helpers import QUICK, USER_HELLO, call, closed_port, sse_events

from colalamo.testing import FakeCopilot, wait_until


def test_unknown_route_is_a_json_404(server: str) -> None:
    status, headers, body = call("GET", f"{server}/v1/nothing-here")

    assert status == 404
    assert headers["Content-Type"].startswith("application/json")
    assert body["error"]["type"] == "not_found_error"


def test_no_file_is_ever_served(server: str, isolated: Path) -> None:
    (isolated / ".copilot-token").write_text("gho_secret_in_the_working_directory")
    for path in ("/.copilot-token", "/../.copilot-token", "/static/.copilot-token"):
        status, _, body = call("GET", f"{server}{path}")
        assert status == 404
        assert "gho_secret" not in json.dumps(body)
    status, _, body = call("GET", f"{server}/")  # colalamo's own description, no directory listing
    assert status == 200 and body["name"] == "colalamo"
    assert "gho_secret" not in json.dumps(body) and ".copilot-token" not in json.dumps(body)


def test_head_and_get_of_the_root_answer_200_without_a_key(start_server: Any) -> None:
    server = start_server(api_keys=("k",))

    async def main() -> tuple[int, int]:
        async with aiohttp.ClientSession() as http:
            async with http.head(f"{server}/") as head, http.get(f"{server}/?beta=true") as get:
                return head.status, get.status

    assert asyncio.run(main()) == (200, 200)


def test_wrong_method_is_a_json_405(server: str) -> None:
    status, _, body = call("GET", f"{server}/v1/chat/completions")

    assert status == 405
    assert body["error"]["code"] == "method_not_allowed"


def test_unsupported_model_passes_copilots_error_through(client: openai.OpenAI) -> None:
    # The fake labels this JSON error text/plain, as Copilot does; it must still be read.
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-9000", messages=USER_HELLO)

    assert raised.value.code == "model_not_supported"
    assert raised.value.param == "model"
    assert raised.value.body["message"] == "The requested model is not supported."


def test_upstream_429_keeps_its_retry_after(client: openai.OpenAI, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=429, body='{"error": {"message": "rate limited"}}', headers={"Retry-After": "17"})

    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    assert raised.value.response.headers["retry-after"] == "17"
    assert raised.value.body["message"] == "rate limited"
    assert raised.value.type == "rate_limit_error"


def test_upstream_5xx_with_a_non_json_body(client: openai.OpenAI, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=503, body="<html>upstream is sad</html>", content_type="text/html")

    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    assert raised.value.status_code == 503
    assert "upstream is sad" in raised.value.message


def test_upstream_5xx_before_a_stream_is_a_plain_error(client: openai.OpenAI, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=500)

    with pytest.raises(openai.InternalServerError):
        list(client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, stream=True))


def test_unreachable_upstream_is_502(start_server) -> None:
    server = start_server(copilot_api_url=f"http://127.0.0.1:{closed_port()}", pacing=QUICK)  # retries included
    with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    assert raised.value.status_code == 502
    assert raised.value.code == "upstream_unreachable"


def test_hung_upstream_is_504_within_the_read_timeout(start_server, fake: FakeCopilot) -> None:
    server = start_server(read_timeout=0.5)
    fake.fail_next("chat", delay=30)
    started = time.monotonic()
    with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    assert raised.value.status_code == 504
    assert raised.value.code == "upstream_timeout"
    assert time.monotonic() - started < 10


def test_stream_cut_mid_way_raises_in_the_client_never_looks_complete(
    client: openai.OpenAI, fake: FakeCopilot
) -> None:
    fake.reply = lambda body: "one two three four five six"
    fake.cut_stream_after = 2
    received = []

    with pytest.raises(openai.APIError) as raised:
        for chunk in client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, stream=True):
            received.append(chunk.choices[0].delta.content or "")

    assert "".join(received) == "one two "
    assert "mid-stream" in raised.value.message


def test_stream_cut_mid_way_on_the_wire(server: str, fake: FakeCopilot) -> None:
    fake.cut_stream_after = 1
    body = json.dumps({"model": "gpt-4.1", "messages": USER_HELLO, "stream": True})

    async def main() -> str:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server}/v1/chat/completions", data=body) as response:
                return await response.text()

    events = sse_events(asyncio.run(main()))
    assert "[DONE]" not in events
    error = json.loads(events[-1])["error"]
    assert error["code"] == "upstream_stream_error" and error["message"]


def test_garbled_stream_line_becomes_an_error_event(client: openai.OpenAI, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=200, content_type="text/event-stream",
                   body='data: {"choices": [{"index": 0, "delta": {"content": "hi"}}], "id": "x"}\n\ndata: {oops\n\n')

    with pytest.raises(openai.APIError) as raised:
        list(client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, stream=True))
    assert "garbled" in raised.value.message


def test_client_disconnect_cancels_the_upstream_stream(server: str, fake: FakeCopilot) -> None:
    fake.reply = lambda body: "word " * 200
    fake.piece_delay = 0.05
    body = json.dumps({"model": "gpt-4.1", "messages": USER_HELLO, "stream": True})

    async def read_a_little_then_leave() -> None:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server}/v1/chat/completions", data=body) as response:
                await response.content.readline()

    asyncio.run(read_a_little_then_leave())
    wait_until(lambda: fake.aborted_streams == 1, timeout=5)
