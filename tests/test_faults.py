"""Faults: what a client sees when the upstream, the network or the token file misbehave."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import threading
from pathlib import Path

import openai
import pytest
from helpers import USER_HELLO, closed_port

from colalamo._loop_thread import LoopThread
from colalamo.testing import FakeCopilot, wait_until, wait_until_async

COLALAMO = shutil.which("colalamo") or "colalamo"


def test_connection_refused_is_retried_until_copilot_is_back(
    start_server, fake: FakeCopilot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="colalamo._upstream.client")
    port = closed_port()
    fake.endpoints_api = f"http://127.0.0.1:{port}"  # the account's API host is down, for now
    server = start_server()
    api = FakeCopilot(shares_tokens_with=fake)
    loop = LoopThread("late-copilot")
    replies: list[str] = []

    def ask() -> None:
        with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:
            answer = client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
            replies.append(answer.choices[0].message.content)

    asker = threading.Thread(target=ask)
    asker.start()
    try:
        wait_until(lambda: "cannot connect to Copilot" in caplog.text, timeout=10)
        loop.run(api.start(port=port))  # back, while colalamo is still trying
        asker.join(timeout=30)
        assert replies == ["echo: hello there"]
        assert len(api.recorded("chat")) == 1
    finally:
        loop.run(api.stop())
        loop.stop()


def test_a_connection_dropped_after_sending_is_not_retried(client: openai.OpenAI, fake: FakeCopilot) -> None:
    fake.fail_next("chat", drop=True)
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    assert raised.value.status_code == 502
    assert len(fake.recorded("chat")) == 1  # Copilot may have processed it: the SDK decides


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path.write_bytes(b"\x00\xffgarbage"),
         "does not hold a GitHub token; delete it and run `colalamo login`"),
        (lambda path: path.mkdir(), "cannot read the token file"),
        (lambda path: path.write_text("two words"), "does not hold a GitHub token"),
    ],
)
def test_a_bad_token_file_is_a_clear_message(fake: FakeCopilot, tmp_path: Path, make, message: str) -> None:
    token_file = tmp_path / "github-token"
    make(token_file)
    env = {**os.environ, **fake.env(), "COLALAMO_TOKEN_FILE": str(token_file)}
    del env["COLALAMO_GITHUB_TOKEN"]

    out = subprocess.run([COLALAMO, "models"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert message in out.stderr and "Traceback" not in out.stderr


def test_an_empty_token_file_starts_the_login(fake: FakeCopilot, tmp_path: Path) -> None:
    token_file = tmp_path / "github-token"
    token_file.write_text("")
    env = {**os.environ, **fake.env(), "COLALAMO_TOKEN_FILE": str(token_file), "COLALAMO_LOG_LEVEL": "debug"}
    del env["COLALAMO_GITHUB_TOKEN"]

    out = subprocess.run([COLALAMO, "models"], env=env, capture_output=True, text=True, timeout=60)
    assert "is empty; ignoring it" in out.stderr
    assert 'enter this code "FAKE-C0DE"' in out.stderr
    assert out.returncode == 0, out.stderr
    assert token_file.read_text().strip() in fake.github_tokens


@pytest.mark.parametrize("raw", [b'{"messages": [{"role": "user", "content": "x"}], "temperature": NaN}',
                                 b'{"messages": [{"role": "user", "content": "x"}], "top_p": Infinity}',
                                 b"[" * 100_000 + b"]" * 100_000])
def test_not_quite_json_is_a_400(server: str, fake: FakeCopilot, raw: bytes) -> None:

    from helpers import call

    status, _, body = call("POST", f"{server}/v1/chat/completions", data=raw)
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    assert fake.recorded("chat") == []


def test_a_client_that_closes_once_it_has_the_whole_stream_is_no_error(settings) -> None:
    """openai-python, under load, closes right after the last event, before the chunked
    body's ending is written: the answer was whole, so the server must not fail it (it once
    answered 500 and logged an unexpected error). The source below waits until the client has
    gone, so the ending always meets a closed connection."""
    from aiohttp import web

    from colalamo._server.anthropic.messages import ANTHROPIC_STREAM
    from colalamo._server.app_keys import SETTINGS
    from colalamo._server.metrics import METRICS, Metrics
    from colalamo._server.relay import relay

    outcome: list[object] = []

    class Answer:
        def __init__(self, request: web.Request) -> None:
            self._request = request

        async def batches(self):
            yield [{"type": "message_stop"}]
            await wait_until_async(lambda: self._request.transport is None, timeout=5)  # the client has gone

        async def __aenter__(self) -> Answer:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            response = await relay(request, Answer(request), ANTHROPIC_STREAM)
        except BaseException as exc:
            outcome.append(exc)
            raise
        outcome.append(response.status)
        return response

    async def scenario() -> None:
        app = web.Application()
        app[SETTINGS] = settings
        app[METRICS] = Metrics(app)
        app.router.add_post("/stream", handler)
        # colalamo cancels a handler whose client left, but the race this test pins is the
        # moment before that: the client has gone, the handler still runs and writes the end
        runner = web.AppRunner(app, handler_cancellation=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            received = b""
            while b"message_stop" not in received:
                received += await asyncio.wait_for(reader.read(4096), timeout=5)
            writer.close()
            await writer.wait_closed()
            await wait_until_async(lambda: bool(outcome), timeout=5)
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
    assert outcome == [200]
