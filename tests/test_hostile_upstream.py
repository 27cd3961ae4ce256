"""A hostile upstream and a flaky GitHub (issue 12): tokens dead on arrival, 429 storms,
redirects, answers of any size, a GitHub that never answers."""

from __future__ import annotations

import asyncio
import json
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from helpers import USER_HELLO, call

from colalamo._auth import login_and_store
from colalamo._upstream.guard import AccountBackoff
from colalamo.exceptions import LoginFailed
from colalamo.testing import FakeCopilot, Fault, gzip_bomb, running_fake, wait_until

CHAT = {"model": "gpt-4.1", "messages": USER_HELLO}
HANG = 3600.0  # seconds: longer than any test; the fake's handler is cancelled when colalamo leaves


def chat(server: str, **changes: Any) -> tuple[int, dict[str, str], Any]:
    return call("POST", f"{server}/v1/chat/completions", {**CHAT, **changes})


def ready(server: str) -> tuple[int, Any]:
    status, _, body = call("GET", f"{server}/ready")
    return status, body


# 1. a Copilot token that arrives already expired -----------------------------------------------


def test_a_token_that_arrives_expired_is_an_error_naming_the_clock_and_exchanges_keep_a_floor(
    start_server, fake: FakeCopilot
) -> None:
    fake.github_clock_offset = -3600  # every token GitHub hands out expired an hour ago
    server = start_server()

    wait_until(lambda: "clock" in ready(server)[1].get("reason", ""), timeout=5)
    wait_until(lambda: fake.exchanges >= 2, timeout=5)  # retried, but after a pause
    times = [r.at for r in fake.recorded("token")]
    assert times[1] - times[0] >= 0.9

    status, _, body = chat(server)  # within the back-off: the same error, no new exchange
    assert status == 502 and "clock" in body["error"]["message"]
    assert fake.exchanges <= 3


# 2. 429s ---------------------------------------------------------------------------------------


def test_fifty_429s_to_requests_sent_together_pause_only_as_long_as_retry_after(server: str, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=429, body='{"error": {"message": "rate limited"}}', headers={"Retry-After": "1"},
                   delay=0.3, times=50)  # all fifty are in flight when the first answer comes

    async def fifty() -> list[int]:
        async with aiohttp.ClientSession() as http:
            async def one() -> int:
                async with http.post(f"{server}/v1/chat/completions", json=CHAT) as response:
                    return response.status
            return await asyncio.gather(*(one() for _ in range(50)))

    assert asyncio.run(fifty()) == [429] * 50
    # those colalamo held back itself never reached the fake: their faults must not linger
    fake.faults["chat"].clear()
    status, headers, body = chat(server)
    if status == 429:  # held back: for the time that remains of one Retry-After, not 2^49 s
        assert body["error"]["code"] == "upstream_backoff"
        # 2: on a loaded machine a straggler may reach Copilot after the first pause ended,
        # and a 429 to it rightly widens the next one, once
        assert int(headers["Retry-After"]) <= 2
    wait_until(lambda: chat(server)[0] == 200, timeout=4, interval=0.1)


def test_retry_after_as_an_http_date_is_followed(server: str, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=429, body="slow down", content_type="text/plain",
                   headers={"Retry-After": formatdate(time.time() + 6, usegmt=True)})
    assert chat(server)[0] == 429

    status, headers, body = chat(server)
    assert status == 429 and body["error"]["code"] == "upstream_backoff"
    assert 4 <= int(headers["Retry-After"]) <= 6


def test_only_429s_to_requests_sent_after_the_pause_widen_it() -> None:
    now = [0.0]
    backoff = AccountBackoff(clock=lambda: now[0], cap=60)
    assert backoff.rate_limited({"Retry-After": "1"}, sent_at=0.0) == 1
    now[0] = 0.5
    for _ in range(20):  # answers to requests sent before the pause: nothing new
        assert backoff.rate_limited({"Retry-After": "1"}, sent_at=0.0) == 0.5
    now[0] = 1.0
    backoff.check()  # the pause is over at the time Copilot asked for
    assert backoff.rate_limited({}, sent_at=1.0) == 2  # sent after it: the pause widens


# 6. redirects ------------------------------------------------------------------------------------


def test_a_redirect_from_copilot_is_a_502_and_never_followed(server: str, fake: FakeCopilot) -> None:
    with running_fake() as elsewhere:
        for stream in (False, True):
            fake.fail_next("chat", status=307, body="", headers={"Location": f"{elsewhere.url}/chat/completions"})
            status, _, body = chat(server, stream=stream)
            assert status == 502
            assert body["error"]["code"] == "upstream_redirect"
            assert "127.0.0.1" in body["error"]["message"]
        assert elsewhere.recorded("chat") == []


def test_a_redirect_from_github_is_not_followed(server: str, fake: FakeCopilot) -> None:
    with running_fake() as elsewhere:
        fake.expire_copilot_tokens()
        fake.fail_next("token", status=307, body="", headers={"Location": f"{elsewhere.url}/copilot_internal/v2/token"})
        status, _, body = chat(server)
        assert status == 502 and "307" in body["error"]["message"]
        assert elsewhere.exchanges == 0  # the GitHub token never went elsewhere


# 7. answers of any size ----------------------------------------------------------------------------


def test_a_gzip_bomb_is_a_502_not_inflated_whole(server: str, fake: FakeCopilot) -> None:
    fake.fail_next("chat", gzip_bomb(64))  # 64 KiB on the wire, 64 MiB inflated
    status, _, body = chat(server)
    assert status == 502
    assert body["error"]["code"] == "upstream_answer_too_large"
    assert "32 MiB" in body["error"]["message"]


@pytest.mark.parametrize("endless", ["line", "lines"])
def test_an_event_that_never_ends_is_an_error_event(server: str, fake: FakeCopilot, endless: str) -> None:
    fake.fail_next("chat", Fault(status=200, endless_sse=endless))
    status, _, text = chat(server, stream=True)
    assert status == 200  # the stream had begun
    assert "larger than 32 MiB" in text
    assert "[DONE]" not in text


# 15. error bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [True, False])
def test_a_huge_upstream_error_is_cut_to_a_few_kb_and_marked(server: str, fake: FakeCopilot, as_json: bool) -> None:
    said = "x" * 5_000_000
    if as_json:
        fake.fail_next("chat", status=500, body=json.dumps({"error": {"message": said}}))
    else:
        fake.fail_next("chat", status=500, body=said, content_type="text/plain")
    status, _, body = chat(server)
    assert status == 500
    message = body["error"]["message"]
    assert len(message) < 5000
    assert "xxxx" in message and message.endswith("[... cut by colalamo: the upstream message was longer]")


# 13, 16. a GitHub that never answers ------------------------------------------------------------------


def test_a_hanging_github_does_not_keep_the_server_from_serving(start_server, fake: FakeCopilot) -> None:
    fake.fail_next("token", delay=HANG)
    began = time.monotonic()
    server = start_server(token_wait=0.2, read_timeout=3)
    assert time.monotonic() - began < 2  # bound, not waiting for GitHub

    assert call("GET", f"{server}/health")[0] == 200
    status, body = ready(server)
    assert status == 503 and "waiting for GitHub" in body["reason"]
    status, headers, body = chat(server)
    assert status == 503 and body["error"]["code"] == "copilot_token_unavailable"
    assert "HTTPS_PROXY" in body["error"]["message"] and "Retry-After" in headers
    status, _, body = call("POST", f"{server}/v1/messages", {**CHAT, "max_tokens": 10})
    assert status == 503 and body["type"] == "error"  # in the route's own format


def test_github_calls_have_their_own_short_timeout_naming_what_to_check(start_server, fake: FakeCopilot) -> None:
    fake.fail_next("token", delay=HANG)
    server = start_server(github_timeout=0.3, token_wait=2)

    wait_until(lambda: "did not answer" in ready(server)[1]["reason"], timeout=3)
    reason = ready(server)[1]["reason"]
    assert "HTTPS_PROXY" in reason and "COLALAMO_GITHUB_TOKEN" in reason and "python -m colalamo.testing" in reason
    wait_until(lambda: chat(server)[0] == 200, timeout=5, interval=0.1)  # GitHub is back: so is colalamo


def test_a_login_against_a_github_that_never_answers_ends_saying_what_to_check(
    fake: FakeCopilot, token_file: Path
) -> None:
    fake.fail_next("device_code", delay=HANG)
    settings = fake.settings(token_file=token_file, github_token=None, github_timeout=0.3)

    async def login() -> None:
        async with aiohttp.ClientSession() as http:
            await login_and_store(http, settings, on_code=lambda code: None)

    began = time.monotonic()
    with pytest.raises(LoginFailed) as raised:
        asyncio.run(login())
    assert time.monotonic() - began < 2
    assert "did not answer" in raised.value.message and "HTTPS_PROXY" in raised.value.message
