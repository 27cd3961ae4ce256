"""Hostile and clumsy clients (issue 12): clients that leave, malformed HTTP, forged log lines,
deep JSON, undecodable keys, connections that never finish their head, descriptor exhaustion,
and the temporary files a kill -9 leaves behind."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import resource
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web
from helpers import COLALAMO, USER_HELLO, call

from colalamo.config import Settings
from colalamo.testing import FakeCopilot, wait_until, wait_until_async

CHAT = "/v1/chat/completions"


def raw_request(path: str, body: bytes, headers: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def exchange(url: str, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes to the server at `url`; everything it answers until it closes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            if b"\r\n\r\n" in received and _whole(received):
                break
        return received


def _whole(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    match = re.search(rb"content-length: (\d+)", head, flags=re.I)
    return match is not None and len(body) >= int(match.group(1))


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "colalamo.access"]


# 8. a client that leaves is the client's doing: 499, one access line, no traceback ----------

@pytest.mark.parametrize("stream", [False, True])
def test_a_client_that_leaves_is_a_499_not_a_500(server: str, fake: FakeCopilot, stream: bool,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    if stream:
        fake.reply = lambda body: "word " * 500
        fake.piece_delay = 0.02
    else:
        fake.fail_next("chat", delay=30)  # Copilot thinks for a long time
    body = json.dumps({"messages": USER_HELLO, "stream": stream}).encode()
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw_request(CHAT, body, "X-Request-Id: leaving-1\r\n"))
        if stream:
            received = b""
            while b"data: " not in received:
                received += sock.recv(4096)
        else:
            wait_until(lambda: len(fake.recorded("chat")) == 1)

    wait_until(lambda: 'status="499"' in call("GET", f"{server}/metrics")[2])
    assert 'status="500"' not in call("GET", f"{server}/metrics")[2]
    wait_until(lambda: any("request_id=leaving-1" in line for line in access_lines(caplog)))
    line = next(line for line in access_lines(caplog) if "request_id=leaving-1" in line)
    assert " status=499 " in line
    assert len([x for x in access_lines(caplog) if "leaving-1" in x]) == 1
    assert not [r for r in caplog.records if r.exc_info or "unexpected" in r.getMessage()]


def test_a_reset_during_prepare_is_no_unexpected_error(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """The client leaves before the answer's head is written; aiohttp does not cancel the
    handler in time (the race this pins), so prepare() meets a closed connection."""
    from colalamo._server.access_log import ACCESS_LOG, AccessLogger
    from colalamo._server.app import create_app
    from colalamo._server.metrics import METRICS

    caplog.set_level(logging.INFO)

    async def answer_after_the_client_left(request: web.Request) -> web.StreamResponse:
        await wait_until_async(lambda: request.transport is None, timeout=5)
        response = web.StreamResponse()
        await response.prepare(request)
        return response

    app = create_app(settings)
    app.router.add_post("/v1/late", answer_after_the_client_left)

    async def scenario() -> str:
        runner = web.AppRunner(app, handler_cancellation=False, access_log_class=AccessLogger, access_log=ACCESS_LOG)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", runner.addresses[0][1])
            writer.write(b"POST /v1/late HTTP/1.1\r\nHost: x\r\nX-Request-Id: late-1\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            await wait_until_async(lambda: any("late-1" in line for line in access_lines(caplog)), timeout=5)
            return app[METRICS].registry.get_sample_value(
                "colalamo_requests_total", {"route": "/v1/late", "model": "", "status": "499"}) or 0
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == 1
    assert [" status=499 " in line for line in access_lines(caplog) if "late-1" in line] == [True]
    assert not [r for r in caplog.records if r.exc_info or "unexpected" in r.getMessage()]


# 11. deep JSON: a 400 at parse time, in the route's format -----------------------------------

def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("levels", [300, 1000])
@pytest.mark.parametrize("path", [CHAT, "/v1/messages", "/v1/responses"])
def test_deep_json_is_a_400_in_the_routes_format(server: str, fake: FakeCopilot, levels: int, path: str) -> None:
    from helpers import call

    schema = {"type": "object", "properties": {"a": {"type": "array", "default": "DEEP"}}}
    tool = {"type": "function", "name": "f", "input_schema": schema, "parameters": schema,
            "function": {"name": "f", "parameters": schema}}
    request = {"model": "gpt-4.1", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}],
               "input": "x", "tools": [tool]}
    # the nesting goes in as text: json.dumps itself stops at the recursion limit
    raw = json.dumps(request).replace('"DEEP"', _deep(levels))
    status, _, body = call("POST", f"{server}{path}", data=raw)
    assert status == 400, body
    error = body["error"]
    assert error["type"] == "invalid_request_error" and "deeper than" in error["message"]
    if path == "/v1/messages":
        assert body["type"] == "error"
    assert fake.recorded("chat") == fake.recorded("messages") == fake.recorded("responses") == []


# 12. a key that is not UTF-8 is a wrong key ----------------------------------------------------

def test_a_key_that_is_not_utf8_is_a_401(start_server, fake: FakeCopilot) -> None:
    url = start_server(api_keys=("right-key",))
    body = json.dumps({"messages": USER_HELLO}).encode()
    for header in (b"Authorization: Bearer \xff\xfe\xc3\r\n", b"x-api-key: \xed\xa0\x80k\r\n"):
        answer = exchange(url, raw_request(CHAT, body).replace(b"Host: x\r\n", b"Host: x\r\n" + header))
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 401"), answer[:300]
        assert json.loads(payload)["error"]["code"] == "invalid_api_key"
    assert fake.recorded("chat") == []


# 9 and 10: the text log cannot be forged, and malformed HTTP is one short line ------------------

def test_control_characters_cannot_forge_log_lines(serve_process) -> None:
    served = serve_process()
    forged = "FORGED status=200 path=/admin"
    model = f"gpt-4.1\n{forged}\r\x1b[2J"
    exchange(served.url, raw_request(CHAT, json.dumps({"model": model, "messages": USER_HELLO}).encode()))
    exchange(served.url, f"GET /v1/models%0a{forged.replace(' ', '%20')}%0d HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    served.stop()
    log = served.log

    lines = log.splitlines()
    assert not [line for line in lines if line.startswith("FORGED")]
    assert "\x1b" not in log and "\r" not in log
    access = [line for line in lines if "colalamo.access" in line and "FORGED" in line]
    assert len(access) == 2, log
    for line in access:  # a value cannot add a field: the forged one stays inside its quotes
        fields = shlex.split(line.split("colalamo.access: ", 1)[1])
        assert len([field for field in fields if field.startswith("status=")]) == 1, line
    assert any("\\x0aFORGED" in line for line in access)


@pytest.mark.parametrize("request_bytes", [
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",  # 37-odd bytes of bad HTTP
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n",  # TLS spoken to plain HTTP
    b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/9.9\r\n\x00\r\n\r\n",  # bad after good
])
def test_a_malformed_request_is_one_short_line(serve_process, request_bytes: bytes) -> None:
    served = serve_process()
    # the server listens before its first Copilot token: let that line come first
    wait_until(lambda: "got a Copilot token" in "".join(served.stderr), timeout=10)
    before = len(served.stderr)
    answer = exchange(served.url, request_bytes)
    assert b" 400 Bad Request" in answer
    served.stop()
    log = served.log

    new = [line for line in log.splitlines()[before:] if "shutting down" not in line and "GET /health" not in line
           and "path=/health" not in line]
    assert "Traceback" not in log and "AssertionError" not in log
    assert len(new) <= 1, new
    assert all(len(line) < 400 for line in new)


# 3. connections that never finish their head; descriptors ------------------------------------

@pytest.mark.parametrize("sent", [b"", b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ",
                                  b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"])
def test_a_connection_without_a_whole_head_is_closed(start_server, sent: bytes) -> None:
    url = start_server(idle_timeout=0.2)
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(sent)  # nothing, half a head, or a whole request kept alive afterwards
        while sock.recv(65536):  # until the server closes it
            pass
    assert time.monotonic() - started < 5


def test_idle_connections_cannot_take_every_descriptor(serve_process) -> None:
    """Under a descriptor limit of 400, 600 connections that send nothing: the oldest idle ones
    make room, and a real request is still answered at once."""
    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (400, 400))

    served = serve_process(preexec=low_limit, COLALAMO_IDLE_TIMEOUT="300")
    host, port = served.url.removeprefix("http://").split(":")
    idle = []
    try:
        for _ in range(600):
            idle.append(socket.create_connection((host, int(port)), timeout=10))
        answer = exchange(served.url, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert served.process.poll() is None
    finally:
        for sock in idle:
            sock.close()
    served.stop()
    log = served.log
    assert "out of system resource" not in log and "Traceback" not in log


def test_descriptor_exhaustion_is_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    """asyncio reports every failed accept(); colalamo lets one short line through."""
    from colalamo._server.runner import _quiet_accept_errors

    _quiet_accept_errors()
    loop = asyncio.new_event_loop()
    try:
        for _ in range(100):
            loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                         "exception": OSError(24, "Too many open files")})
    finally:
        loop.close()
    reported = [r for r in caplog.records if r.name == "asyncio"]
    assert len(reported) == 1
    assert reported[0].exc_info is None and "Too many open files" in reported[0].getMessage()


# 14. temporary files a kill -9 left ----------------------------------------------------------

def test_orphan_temporary_files_are_removed_at_start_and_by_logout(serve_process, token_file: Path,
                                                                   process_env: dict[str, str]) -> None:
    token_file.parent.mkdir(parents=True, exist_ok=True)
    folder = token_file.parent
    orphans = [folder / f".{token_file.name}.k9x2ab.tmp", folder / ".colalamo-state.json.q1w2e3.tmp"]
    for orphan in orphans:
        orphan.write_text("gho_half_written")
        os.utime(orphan, (time.time() - 3600, time.time() - 3600))
    unrelated = token_file.parent / "notes.tmp"
    unrelated.write_text("mine")

    served = serve_process()
    wait_until(lambda: not any(orphan.exists() for orphan in orphans))
    assert unrelated.exists()
    served.stop()

    fresh = token_file.parent / f".{token_file.name}.fresh1.tmp"
    fresh.write_text("gho_half_written")
    out = subprocess.run([COLALAMO, "logout"], env=process_env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert not fresh.exists() and unrelated.exists()


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("POSIX descriptors and signals")
