"""Running it for real: keys, CORS, body limit, health, readiness, metrics, request ids,
the concurrency queue, proxies and custom CAs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import anthropic
import openai
import pytest
import trustme
from aiohttp import web
from helpers import QUICK, USER_HELLO
from multidict import CIMultiDict

from colalamo import Copilot
from colalamo._loop_thread import LoopThread
from colalamo.testing import FakeCopilot, running_fake, wait_until, wait_until_async

KEY, OTHER_KEY = "k-first-0123456789", "k-second-0123456789"


def call(method: str, url: str, *, body: object = None, headers: dict | None = None, data: bytes | None = None):
    async def main() -> tuple[int, CIMultiDict[str], str]:
        async with aiohttp.ClientSession() as http:
            payload = data if data is not None else (json.dumps(body) if body is not None else None)
            async with http.request(method, url, data=payload, headers=headers or {}) as response:
                return response.status, response.headers.copy(), await response.text()

    return asyncio.run(main())


# keys ----------------------------------------------------------------------------------------


@pytest.fixture
def keyed(start_server) -> str:
    return start_server(api_keys=(KEY, OTHER_KEY))


@pytest.mark.parametrize("header", [{"Authorization": f"Bearer {KEY}"}, {"x-api-key": KEY},
                                    {"Authorization": f"Bearer {OTHER_KEY}"}])
def test_a_valid_key_is_accepted(keyed: str, header: dict) -> None:
    status, _, _ = call("POST", f"{keyed}/v1/chat/completions", body={"messages": USER_HELLO}, headers=header)
    assert status == 200


@pytest.mark.parametrize("header", [{}, {"Authorization": "Bearer wrong"}, {"x-api-key": "wrong"},
                                    {"Authorization": KEY}])
def test_a_missing_or_wrong_key_is_401_in_openai_format(keyed: str, fake: FakeCopilot, header: dict) -> None:
    status, _, text = call("POST", f"{keyed}/v1/chat/completions", body={"messages": USER_HELLO}, headers=header)

    assert status == 401
    assert json.loads(text)["error"]["type"] == "authentication_error"
    assert KEY not in text
    assert fake.recorded("chat") == []


def test_sdks_send_their_keys_the_way_colalamo_reads_them(keyed: str) -> None:
    with openai.OpenAI(base_url=f"{keyed}/v1", api_key=KEY, max_retries=0) as client:
        assert client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO).choices[0].message.content
    with anthropic.Anthropic(base_url=keyed, api_key=OTHER_KEY, max_retries=0) as client:  # x-api-key
        assert client.messages.create(model="gpt-4.1", max_tokens=10, messages=USER_HELLO).content
    with anthropic.Anthropic(base_url=keyed, api_key="wrong", max_retries=0) as client:
        with pytest.raises(anthropic.AuthenticationError) as raised:
            client.messages.create(model="gpt-4.1", max_tokens=10, messages=USER_HELLO)
        assert raised.value.body["error"]["type"] == "authentication_error"


def test_ask_refuses_without_a_key_in_its_own_shape(keyed: str) -> None:
    status, _, text = call("POST", f"{keyed}/ask", body={"messages": USER_HELLO})
    assert status == 401 and json.loads(text)["reason"] == "Unauthorized"


def test_probes_need_no_key_but_metrics_do(keyed: str) -> None:
    assert call("GET", f"{keyed}/health")[0] == 200
    assert call("GET", f"{keyed}/ready")[0] == 200
    assert call("GET", f"{keyed}/metrics")[0] == 401
    assert call("GET", f"{keyed}/metrics", headers={"x-api-key": KEY})[0] == 200


def test_keys_are_never_logged(keyed: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    call("POST", f"{keyed}/v1/chat/completions", body={"messages": USER_HELLO}, headers={"x-api-key": KEY})
    call("POST", f"{keyed}/v1/chat/completions", body={"messages": USER_HELLO}, headers={"x-api-key": "guess-1234"})
    assert KEY not in caplog.text and "guess-1234" not in caplog.text


# CORS, body size ----------------------------------------------------------------------------

PREFLIGHT = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


def test_cors_is_off_by_default(server: str) -> None:
    status, headers, _ = call("OPTIONS", f"{server}/v1/chat/completions", headers=PREFLIGHT)
    assert "Access-Control-Allow-Origin" not in headers and status >= 400


def test_cors_preflight_and_request_for_listed_origins(start_server) -> None:
    server = start_server(cors_origins=("https://app.example",), api_keys=(KEY,))

    status, headers, _ = call("OPTIONS", f"{server}/v1/chat/completions", headers=PREFLIGHT)
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in headers["Access-Control-Allow-Methods"]

    status, headers, _ = call("POST", f"{server}/v1/chat/completions", body={"messages": USER_HELLO},
                              headers={"Origin": "https://app.example", "x-api-key": KEY})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://app.example"

    status, headers, _ = call("OPTIONS", f"{server}/v1/chat/completions", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers


def test_a_body_over_the_limit_is_413_json(start_server, fake: FakeCopilot) -> None:
    server = start_server(max_body_mb=0.01)
    big = json.dumps({"messages": [{"role": "user", "content": "x" * 20_000}]}).encode()

    status, _, text = call("POST", f"{server}/v1/chat/completions", data=big)
    assert status == 413
    assert json.loads(text)["error"]["code"] == "request_too_large"
    assert fake.recorded("chat") == []


# health, readiness ----------------------------------------------------------------------------


def test_health_and_ready(server: str) -> None:
    assert json.loads(call("GET", f"{server}/health")[2]) == {"status": "ok", "pid": os.getpid()}  # in-process server
    status, _, text = call("GET", f"{server}/ready")
    assert status == 200 and json.loads(text)["token_expires_in"] > 1000


def test_ready_turns_503_while_refreshes_fail_and_back(start_server, fake: FakeCopilot) -> None:
    fake.token_ttl, fake.refresh_in = 30.0, 0.5
    server = start_server(pacing=QUICK)  # refreshes, and retries after failures, a fifth as far apart
    fake.fail_next("token", times=10_000, status=503, body="down", content_type="text/plain")

    def ready_status() -> int:
        return call("GET", f"{server}/ready")[0]

    wait_until(lambda: ready_status() == 503, timeout=10)
    _, _, text = call("GET", f"{server}/ready")
    assert "refresh failed" in json.loads(text)["reason"]
    assert call("GET", f"{server}/health")[0] == 200  # still serving
    assert call("POST", f"{server}/v1/chat/completions", body={"messages": USER_HELLO})[0] == 200

    fake.faults["token"].clear()
    wait_until(lambda: ready_status() == 200, timeout=10)


# metrics, request ids, logs ----------------------------------------------------------------------


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_streams_errors_and_tokens(server: str, fake: FakeCopilot) -> None:
    with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
        list(client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, stream=True))
        fake.fail_next("chat", status=429, body="slow", content_type="text/plain")
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    route = "/v1/chat/completions"

    def timed_requests() -> float:
        return _metric(call("GET", f"{server}/metrics")[2], "colalamo_request_duration_seconds_count", route=route)

    # a stream is counted once its handler returns, which may be just after the client read [DONE]
    wait_until(lambda: timed_requests() == 3)
    text = call("GET", f"{server}/metrics")[2]
    assert _metric(text, "colalamo_requests_total", route=route, model="gpt-4.1", status="200") == 2
    assert _metric(text, "colalamo_requests_total", route=route, status="429") == 1
    assert _metric(text, "colalamo_upstream_errors_total", status="429") == 1
    assert _metric(text, "colalamo_request_duration_seconds_count", route=route) == 3
    assert _metric(text, "colalamo_time_to_first_token_seconds_count", route=route) == 1
    assert _metric(text, "colalamo_streams_in_flight") == 0
    assert _metric(text, "colalamo_token_refreshes_total") == 1
    assert _metric(text, "colalamo_token_refresh_failures_total") == 0
    assert 1000 < _metric(text, "colalamo_token_seconds_to_expiry") <= 1800


def test_unknown_model_names_do_not_become_labels(server: str) -> None:
    call("POST", f"{server}/v1/chat/completions", body={"model": "no-such-model-abc", "messages": USER_HELLO})
    text = call("GET", f"{server}/metrics")[2]
    assert "no-such-model-abc" not in text
    assert _metric(text, "colalamo_requests_total", model="other", status="400") == 1


def test_request_id_round_trip_and_access_log(server: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="colalamo.access")
    _, headers, _ = call("POST", f"{server}/v1/chat/completions", body={"messages": USER_HELLO},
                         headers={"X-Request-Id": "trace-42"})
    _, stream_headers, _ = call("POST", f"{server}/v1/chat/completions", body={"messages": USER_HELLO, "stream": True})
    _, bad_headers, _ = call("GET", f"{server}/health", headers={"X-Request-Id": "bad id\twith spaces"})

    assert headers["X-Request-Id"] == "trace-42"
    assert len(stream_headers["X-Request-Id"]) == 32  # made up, and sent before the stream
    assert bad_headers["X-Request-Id"] != "bad id\twith spaces"
    wait_until(lambda: "request_id=trace-42" in caplog.text, timeout=5)  # logged after the answer
    line = next(r.getMessage() for r in caplog.records if "request_id=trace-42" in r.getMessage())
    assert "method=POST path=/v1/chat/completions model=gpt-4.1 status=200" in line
    assert "prompt_tokens=" in line and "completion_tokens=3" in line and "duration_ms=" in line
    assert "hello there" not in caplog.text  # no message content by default


# the concurrency queue ----------------------------------------------------------------------------


def test_requests_beyond_the_limit_queue_then_get_429(start_server, fake: FakeCopilot) -> None:
    server = start_server(max_concurrency=1, max_queue=1, queue_timeout=30)
    fake.reply = lambda body: "slow " * 10
    fake.piece_delay = 0.05

    async def main() -> list[tuple[int, str, str | None]]:
        async with aiohttp.ClientSession() as http:
            async def stream() -> tuple[int, str, str | None]:
                async with http.post(f"{server}/v1/chat/completions",
                                     json={"messages": USER_HELLO, "stream": True}) as response:
                    return response.status, await response.text(), response.headers.get("Retry-After")

            async def queued() -> bool:
                async with http.get(f"{server}/metrics") as response:
                    return _metric(await response.text(), "colalamo_requests_queued") == 1

            first = asyncio.create_task(stream())
            await wait_until_async(lambda: len(fake.recorded("chat")) == 1)  # it holds the only slot
            second = asyncio.create_task(stream())
            await wait_until_async(queued)  # it waits in the queue, which is now full
            third = await stream()
            return [await first, await second, third]

    (s1, t1, _), (s2, t2, _), (s3, t3, retry) = asyncio.run(main())
    assert s1 == s2 == 200 and t1.endswith("data: [DONE]\n\n") and t2.endswith("data: [DONE]\n\n")
    assert s3 == 429 and retry == "1" and json.loads(t3)["error"]["code"] == "server_busy"


def test_a_request_that_waits_too_long_gets_429(start_server, fake: FakeCopilot) -> None:
    server = start_server(max_concurrency=1, max_queue=5, queue_timeout=0.2)
    fake.reply = lambda body: "slow " * 20
    fake.piece_delay = 0.05

    async def main() -> list[int]:
        async with aiohttp.ClientSession() as http:
            async def stream() -> int:
                streamed = {"messages": USER_HELLO, "stream": True}
                async with http.post(f"{server}/v1/chat/completions", json=streamed) as r:
                    await r.read()
                    return r.status

            first = asyncio.create_task(stream())
            await wait_until_async(lambda: len(fake.recorded("chat")) == 1)  # it holds the only slot
            return [await stream(), await first]

    assert asyncio.run(main()) == [429, 200]


# corporate networks: proxies and custom CAs -----------------------------------------------------


@pytest.fixture
def forward_proxy() -> Iterator[tuple[str, list[str]]]:
    """A plain HTTP forward proxy on loopback that records the URLs it carried."""
    seen: list[str] = []

    async def forward(request: web.Request) -> web.StreamResponse:
        seen.append(str(request.url))
        async with aiohttp.ClientSession() as http:
            body = await request.read()
            async with http.request(request.method, request.url, headers=request.headers, data=body) as upstream:
                return web.Response(status=upstream.status, body=await upstream.read(),
                                    headers={"Content-Type": upstream.headers.get("Content-Type", "application/json")})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    loop = LoopThread("proxy")
    runner = web.AppRunner(app)
    loop.run(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run(site.start())
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        loop.run(runner.cleanup())
        loop.stop()


@pytest.mark.parametrize("bypass", [False, True])
def test_http_proxy_and_no_proxy_are_honoured(
    fake: FakeCopilot, token_file: Path, forward_proxy, monkeypatch: pytest.MonkeyPatch, bypass: bool
) -> None:
    proxy, seen = forward_proxy
    via_name = fake.url.replace("127.0.0.1", "localhost")  # the name goes through the proxy
    fake.endpoints_api = via_name
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1" + (",localhost" if bypass else ""))

    with Copilot(fake.settings(token_file=token_file, github_api_url=via_name)) as copilot:
        assert copilot.ask(USER_HELLO)["text"]["reply"] == "echo: hello there"

    if bypass:
        assert seen == []
    else:
        assert any("/copilot_internal/v2/token" in url for url in seen)
        assert any(url.endswith("/chat/completions") for url in seen)


def test_a_custom_ca_bundle_is_trusted(tmp_path: Path, token_file: Path) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    bundle = tmp_path / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))

    with running_fake(ssl_context=server_context) as fake:
        assert fake.url.startswith("https://")
        with Copilot(fake.settings(token_file=token_file, ca_bundle=bundle)) as copilot:
            assert copilot.ask(USER_HELLO)["status"] == 200
        with Copilot(fake.settings(token_file=token_file)) as copilot:
            refused = copilot.ask(USER_HELLO)
    assert refused["status"] == 502
    assert "certificate" in refused["text"]["text"].lower()

