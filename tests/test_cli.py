"""The `colalamo` command, run as a subprocess against the fake."""

from __future__ import annotations

import re
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from helpers import USER_HELLO

from colalamo import __version__
from colalamo.testing import GITHUB_TOKEN, FakeCopilot

COLALAMO = shutil.which("colalamo") or "colalamo"


@pytest.fixture
def env(process_env: dict[str, str]) -> dict[str, str]:
    return {**process_env, "COLALAMO_LOG_LEVEL": "debug"}


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COLALAMO, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("command", [[COLALAMO], [sys.executable, "-m", "colalamo"]])
def test_version(command: list[str]) -> None:
    out = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout.strip() == f"colalamo {__version__}"


def test_help_shows_examples() -> None:
    out = subprocess.run([COLALAMO, "--help"], capture_output=True, text=True, timeout=60)
    assert "examples:" in out.stdout and 'colalamo ask "why is the sky blue?"' in out.stdout


def test_ask_streams_the_answer(env: dict[str, str], fake: FakeCopilot) -> None:
    out = run(["ask", "--model", "gpt-4o", "why", "is", "the", "sky", "blue?"], env)

    assert out.returncode == 0, out.stderr
    assert out.stdout == "echo: why is the sky blue?\n"
    assert fake.recorded("chat")[-1].body["stream"] is True
    assert fake.recorded("chat")[-1].body["model"] == "gpt-4o"


def test_ask_reads_the_prompt_from_stdin(env: dict[str, str]) -> None:
    out = run(["ask", "--system", "be brief"], env, stdin="piped question")

    assert out.returncode == 0, out.stderr
    assert out.stdout == "echo: piped question\n"


def test_ask_reports_an_upstream_error_without_a_traceback(env: dict[str, str], fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=429, body="rate limited", content_type="text/plain")
    out = run(["ask", "hi"], env)

    assert out.returncode == 1
    assert out.stderr.splitlines()[-1] == "colalamo: rate limited"
    assert "Traceback" not in out.stderr


def test_models_prints_a_table(env: dict[str, str]) -> None:
    out = run(["models"], env)

    assert out.returncode == 0, out.stderr
    header, *rows = out.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "VENDOR", "TYPE", "CONTEXT", "PREMIUM"]
    assert any(row.startswith("claude-sonnet-4 ") and row.endswith("x1.0") for row in rows)
    assert any(row.startswith("gpt-4.1 ") and "128,000" in row for row in rows)


def test_bad_setting_is_a_clear_error(env: dict[str, str]) -> None:
    out = run(["models"], {**env, "COLALAMO_PORT": "eighty"})

    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == "colalamo: bad setting: COLALAMO_PORT must be a whole number, not 'eighty'"


def test_rejected_token_says_to_log_in(env: dict[str, str]) -> None:
    out = run(["serve", "--port", "0"], {**env, "COLALAMO_GITHUB_TOKEN": "gho_revoked_long_ago"})

    assert out.returncode == 1
    assert "run `colalamo login`" in out.stderr
    assert "Traceback" not in out.stderr
    assert "gho_revoked_long_ago" not in out.stderr + out.stdout


def test_login_and_logout(env: dict[str, str], fake: FakeCopilot, token_file: Path) -> None:
    del env["COLALAMO_GITHUB_TOKEN"]
    fake.device_script.extend(["authorization_pending", "authorization_pending"])

    out = run(["login"], env)

    assert out.returncode == 0, out.stderr
    assert f'browse to {fake.url}/login/device and enter this code "FAKE-C0DE" to authenticate' in out.stderr
    assert "Copilot access: ok" in out.stdout
    assert token_file.read_text().strip() in fake.github_tokens
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600

    out = run(["logout"], env)
    assert out.returncode == 0
    assert not token_file.exists()
    assert "removed" in out.stdout


def test_login_denied(env: dict[str, str], fake: FakeCopilot, token_file: Path) -> None:
    del env["COLALAMO_GITHUB_TOKEN"]
    fake.device_script.append("access_denied")

    out = run(["login"], env)

    assert out.returncode == 1
    assert "refused on GitHub" in out.stderr
    assert not token_file.exists()


def _read_until(process: subprocess.Popen[str], pattern: str, timeout: float = 30) -> re.Match[str]:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            line = process.stdout.readline()
            if not line:
                break
            seen += line
            if match := re.search(pattern, line):
                return match
    raise AssertionError(f"{pattern!r} not printed; got {seen!r}")


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [COLALAMO, "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        match = _read_until(process, r"colalamo is listening on 127\.0\.0\.1:(\d+)")
        yield process, f"http://127.0.0.1:{match.group(1)}"
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_default_command_serves_until_sigterm(served: tuple[subprocess.Popen[str], str]) -> None:
    process, url = served
    with openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0) as client:
        reply = client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
    assert reply.choices[0].message.content == "echo: hello there"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr
    assert GITHUB_TOKEN not in stderr
