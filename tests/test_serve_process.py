"""`colalamo serve` as a process: generated keys, --no-auth, JSON logs, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time

import aiohttp
import psutil
import pytest
from helpers import COLALAMO, USER_HELLO, Served, call, closed_port

from colalamo.testing import GITHUB_TOKEN, FakeCopilot, wait_until


def test_all_interfaces_without_a_key_gets_a_generated_one(serve_process) -> None:
    served = serve_process("--host", "0.0.0.0")
    key = re.search(r"^\s+(clm-\S+)$", "".join(served.stdout), flags=re.M).group(1)

    chat = f"{served.url}/v1/chat/completions"
    assert call("POST", chat, {"messages": USER_HELLO})[0] == 401
    assert call("POST", chat, {"messages": USER_HELLO}, headers={"Authorization": f"Bearer {key}"})[0] == 200
    assert f"Authorization: Bearer {key}" in "".join(served.stdout)  # the curl example uses it
    assert key not in "".join(served.stderr)  # printed once, never logged
    assert served.stop() == 0


def test_no_auth_is_explicit_and_warned_about(serve_process) -> None:
    served = serve_process("--host", "0.0.0.0", "--no-auth")

    assert call("POST", f"{served.url}/v1/chat/completions", {"messages": USER_HELLO})[0] == 200
    assert served.stop() == 0
    assert "no API key (--no-auth)" in "".join(served.stderr)


def test_loopback_needs_no_key(serve_process) -> None:
    served = serve_process()
    assert call("POST", f"{served.url}/v1/chat/completions", {"messages": USER_HELLO})[0] == 200
    assert "clm-" not in "".join(served.stdout)
    assert served.stop() == 0


def test_json_logs_and_no_content_or_secret_in_them(serve_process) -> None:
    served = serve_process("--log-format", "json", "--log-level", "debug")
    call("POST", f"{served.url}/v1/chat/completions", {"messages": [{"role": "user", "content": "PRIVATE-WORDS"}]},
         headers={"X-Request-Id": "json-1"})
    assert served.stop() == 0

    lines = [json.loads(line) for line in served.stderr if line.strip()]
    access = next(line for line in lines if line.get("request_id") == "json-1")
    assert access["event"] == "access" and access["status"] == 200 and access["model"] == "gpt-4.1"
    assert access["completion_tokens"] == 2
    logged = "".join(served.stderr)
    assert "PRIVATE-WORDS" not in logged and GITHUB_TOKEN not in logged and "tid=" not in logged


def test_log_bodies_masks_tokens(serve_process) -> None:
    served = serve_process("--log-bodies")
    call("POST", f"{served.url}/v1/chat/completions",
         {"messages": [{"role": "user", "content": "my token is gho_abcdefghijklmnop1234"}]})
    assert served.stop() == 0

    logged = "".join(served.stderr)
    assert "my token is gho_***" in logged
    assert "gho_abcdefghijklmnop1234" not in logged


def test_sigterm_lets_a_slow_stream_finish(serve_process, fake: FakeCopilot) -> None:
    fake.reply = lambda body: "slow " * 20
    fake.piece_delay = 0.05  # about a second of streaming
    served = serve_process()
    received: list[bytes] = []

    async def stream_while_stopping() -> int:
        async with aiohttp.ClientSession() as http:
            streamed = {"messages": USER_HELLO, "stream": True}
            async with http.post(f"{served.url}/v1/chat/completions", json=streamed) as response:
                first = await response.content.readline()
                received.append(first)
                served.process.send_signal(signal.SIGTERM)  # mid-stream
                received.append(await response.content.read())
                return response.status

    assert asyncio.run(stream_while_stopping()) == 200
    assert served.process.wait(timeout=30) == 0
    body = b"".join(received).decode()
    assert body.endswith("data: [DONE]\n\n")
    assert body.count('"content":"slow "') == 20
    with pytest.raises(aiohttp.ClientConnectionError):
        call("POST", f"{served.url}/health", {})


@pytest.mark.parametrize(("path", "body", "error_event"), [
    ("/v1/chat/completions", {"messages": USER_HELLO, "stream": True}, 'data: {"error":'),
    ("/v1/messages", {"model": "claude-sonnet-4", "max_tokens": 100, "messages": USER_HELLO, "stream": True},
     "event: error\ndata: {"),
])
def test_grace_period_bounds_the_wait_and_cut_streams_are_told(serve_process, fake: FakeCopilot, path: str, body: dict,
                                                               error_event: str) -> None:
    """Streams still running when the grace ends get an error event in their route's format and
    a proper end of body (once cut silently, and the process took twice the grace to exit)."""
    fake.reply = lambda body: "slow " * 100
    fake.piece_delay = 0.2  # twenty seconds of streaming: longer than the grace
    grace = 0.5
    served = serve_process(COLALAMO_SHUTDOWN_GRACE=str(grace))
    timing: dict[str, float] = {}

    async def stream_while_stopping() -> str:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{served.url}{path}", json=body) as response:
                first = await response.content.readline()
                served.process.send_signal(signal.SIGTERM)
                timing["signal"] = time.monotonic()
                return (first + await response.content.read()).decode()  # a clean end: no payload error

    text = asyncio.run(stream_while_stopping())
    assert served.process.wait(timeout=30) == 0
    assert time.monotonic() - timing["signal"] < grace + 1  # the grace, plus a second at most
    assert error_event in text and "colalamo is shutting down" in text
    assert "[DONE]" not in text and "message_stop" not in text  # no client takes it for whole
    wait_until(lambda: fake.aborted_streams == 1, timeout=5)  # the upstream request was let go


def test_workers_share_one_port_each_with_its_own_token(fake: FakeCopilot, process_env: dict[str, str]) -> None:
    port = closed_port()
    served = Served(["serve", "--port", str(port), "--workers", "2"], process_env)
    try:
        wait_until(lambda: "(2 worker processes)" in "".join(served.stdout), timeout=10)

        async def pids() -> set[int]:
            seen = set()
            for _ in range(40):  # a new connection each time: the kernel picks a worker
                async with aiohttp.ClientSession() as http, http.get(f"{served.url}/health") as response:
                    seen.add((await response.json())["pid"])
            return seen

        workers = asyncio.run(pids())
        assert len(workers) == 2 and served.process.pid not in workers
        assert call("POST", f"{served.url}/v1/chat/completions", {"messages": USER_HELLO})[0] == 200
        assert fake.exchanges == 2  # one token lifecycle per worker
    finally:
        assert served.stop() == 0
    for pid in workers:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_workers_need_a_fixed_port(process_env: dict[str, str]) -> None:
    out = subprocess.run([COLALAMO, "serve", "--port", "0", "--workers", "2"], env=process_env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--workers needs a fixed port" in out.stderr


def test_the_port_is_bound_before_the_first_token_arrives(serve_process, fake: FakeCopilot) -> None:
    """A GitHub that never answers the token exchange must not keep the port unbound: the
    server listens first, answers /health, and /ready says what it waits for."""
    fake.fail_next("token", delay=3600)
    began = time.monotonic()
    served = serve_process(COLALAMO_TOKEN_WAIT="60", COLALAMO_GITHUB_TIMEOUT="60")

    assert time.monotonic() - began < 20  # listening long before the token wait would end
    async def probe() -> tuple[int, int, str]:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{served.url}/health") as health, http.get(f"{served.url}/ready") as ready:
                return health.status, ready.status, await ready.text()
    health, ready, reason = asyncio.run(probe())
    assert health == 200 and ready == 503 and "waiting for GitHub" in reason
    assert served.stop() == 0


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_server_runs_on_the_event_loop_chosen(serve_process, loop: str) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop")  # the `fast` extra
    served = serve_process(COLALAMO_EVENT_LOOP=loop, COLALAMO_LOG_LEVEL="debug")

    assert call("POST", f"{served.url}/v1/chat/completions", {"messages": USER_HELLO, "stream": True})[0] == 200
    assert call("POST", f"{served.url}/v1/chat/completions", {"messages": USER_HELLO})[0] == 200
    assert f"serving on the {loop} event loop" in "".join(served.stderr)
    assert served.stop() == 0


def test_uvloop_asked_for_but_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from colalamo._event_loop import loop_factory
    from colalamo.exceptions import ConfigError

    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if the `fast` extra were not installed
    assert loop_factory("auto") is None and loop_factory("asyncio") is None
    with pytest.raises(ConfigError, match="colalamo\\[fast\\]"):
        loop_factory("uvloop")
