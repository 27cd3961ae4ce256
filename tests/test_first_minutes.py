"""What a new user meets in the first five minutes (issue 16), through the real command:
`sys.executable -m colalamo`, so the suite needs no activated venv."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import closed_port

from colalamo._cli.ask import SILENT_PIPE_SECONDS
from colalamo.testing import GITHUB_TOKEN, FakeCopilot, wait_until

COLALAMO = [sys.executable, "-m", "colalamo"]


@pytest.fixture
def env(process_env: dict[str, str]) -> dict[str, str]:
    return process_env


def run(args: list[str], env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COLALAMO, *args], env=env, capture_output=True, text=True, timeout=60, **kwargs)  # type: ignore[call-overload]


def no_traceback(out: subprocess.CompletedProcess[str]) -> bool:
    return "Traceback" not in out.stderr + out.stdout


# -- 1 (and issue 12.5): a port already taken ---------------------------------------------------


def listener(reuse_port: bool) -> socket.socket:
    """A socket listening on a free loopback port; with SO_REUSEPORT, as a colalamo worker binds."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.fixture(params=[False, True], ids=["plain", "reuseport"])
def taken_port(request: pytest.FixtureRequest) -> Iterator[int]:
    if request.param and not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("no SO_REUSEPORT here")
    with listener(request.param) as sock:
        yield sock.getsockname()[1]


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["single", "workers"])
def test_a_taken_port_is_one_line_before_any_login(
    env: dict[str, str], fake: FakeCopilot, token_file: Path, taken_port: int, workers: list[str]
) -> None:
    del env["COLALAMO_GITHUB_TOKEN"]  # no token: colalamo would start the device login first
    out = run(["--port", str(taken_port), *workers], env)

    assert out.returncode == 1
    assert out.stderr == f"colalamo: port {taken_port} is in use (another colalamo?); choose one with --port\n"
    assert not fake.recorded("device_code") and not fake.recorded("token")
    assert not token_file.exists()


# -- 2: `ask` with a prompt and piped text -------------------------------------------------------


def test_ask_sends_the_prompt_then_the_piped_text(env: dict[str, str], fake: FakeCopilot) -> None:
    out = run(["ask", "review", "this"], env, input="diff --git a/x b/x\n+new line\n")

    assert out.returncode == 0, out.stderr
    sent = fake.recorded("chat")[-1].body["messages"][-1]["content"]
    assert sent == "review this\n\ndiff --git a/x b/x\n+new line\n"


def test_ask_with_a_prompt_does_not_wait_for_a_silent_inherited_pipe(env: dict[str, str], fake: FakeCopilot) -> None:
    # cron and CI hand down a stdin that never closes: the prompt alone is sent
    with subprocess.Popen([*COLALAMO, "ask", "hi"], env=env, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        stdout, stderr = _finish_without_closing_stdin(process)
    assert process.returncode == 0, stderr
    assert stdout == "echo: hi\n"
    assert "nothing came on stdin for 2 s, so the prompt goes alone (--stdin waits" in stderr  # not silently


def test_ask_with_stdin_waits_for_a_slow_command_piped_in(env: dict[str, str], fake: FakeCopilot) -> None:
    with subprocess.Popen([*COLALAMO, "ask", "--stdin", "why", "did", "this", "fail?"], env=env,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stdin is not None
        slow_command = threading.Timer(SILENT_PIPE_SECONDS + 0.5, lambda: process.communicate("error: it broke\n"))
        slow_command.start()  # its output comes after the silence a plain pipe would be given up for
        slow_command.join(timeout=60)
        process.wait(timeout=30)
    assert process.returncode == 0
    assert fake.recorded("chat")[-1].body["messages"][-1]["content"] == "why did this fail?\n\nerror: it broke\n"


def _finish_without_closing_stdin(process: subprocess.Popen[str]) -> tuple[str, str]:
    assert process.stdout is not None and process.stderr is not None
    process.wait(timeout=30)
    return process.stdout.read(), process.stderr.read()


def test_ask_with_stdin_closed_is_one_line(env: dict[str, str]) -> None:
    out = run(["ask"], env, stdin=None, pass_fds=(), preexec_fn=lambda: os.close(0))

    assert out.returncode == 1
    assert out.stderr == "colalamo ask: give a prompt, or pipe one in on stdin\n"

    out = run(["ask", "hi"], env, preexec_fn=lambda: os.close(0))
    assert out.returncode == 0, out.stderr
    assert out.stdout == "echo: hi\n"


# -- 3: the fake's own recipe --------------------------------------------------------------------

FAKE = [sys.executable, "-m", "colalamo.testing"]


def test_print_env_prints_and_exits(tmp_path: Path) -> None:
    out = subprocess.run([*FAKE, "--print-env", "--port", "9999"], capture_output=True, text=True, timeout=30)

    assert out.returncode == 0, out.stderr
    assert "export COLALAMO_GITHUB_URL=http://127.0.0.1:9999\n" in out.stdout
    assert "export COLALAMO_GITHUB_TOKEN=" in out.stdout


def test_background_fake_serves_colalamo_from_one_shell(isolated: Path) -> None:
    script = f"""
        set -e
        eval "$({shlex.join(FAKE)} --background)"
        trap 'kill $COLALAMO_FAKE_PID' EXIT
        {shlex.join(COLALAMO)} ask hi
    """
    env = {**os.environ, "COLALAMO_TOKEN_FILE": str(isolated / "token")}
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, env=env)

    assert out.returncode == 0, out.stderr
    assert out.stdout == "echo: hi\n"


@pytest.mark.parametrize("background", [[], ["--background"]], ids=["foreground", "background"])
def test_fake_on_a_taken_port_is_one_line(background: list[str]) -> None:
    with listener(reuse_port=False) as sock:
        port = sock.getsockname()[1]
        out = subprocess.run([*FAKE, "--port", str(port), *background], capture_output=True, text=True, timeout=30)

    assert out.returncode == 1
    assert out.stderr == (
        f"python -m colalamo.testing: cannot serve on 127.0.0.1:{port}: the port is in use; "
        "choose another with --port\n"
    )


# -- 6: typos ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "usage", "error"),
    [
        (["--prot", "8080"], "usage: colalamo ", "colalamo: error: unknown option --prot (did you mean --port?)"),
        (["-p", "8080"], "usage: colalamo ", "colalamo: error: unknown option -p (did you mean --port?)"),
        (["--rate-limit", "5"], "usage: colalamo ",
         "colalamo: error: unknown option --rate-limit (no flag for this setting: set COLALAMO_RATE_LIMIT"
         " in the environment or .env)"),
        (["serv"], "usage: colalamo ", "colalamo: error: unknown command 'serv' (did you mean serve?)"),
        (["ask", "--bogus", "hi"], "usage: colalamo ask ", "colalamo ask: error: unknown option --bogus"),
        (["serve", "--prot", "1"], "usage: colalamo serve ",
         "colalamo serve: error: unknown option --prot (did you mean --port?)"),
        (["--port", "99999"], "usage: colalamo ",
         "colalamo: error: argument --port: must be between 0 and 65535, not 99999"),
    ],
)
def test_typos_are_named_with_the_right_usage(args: list[str], usage: str, error: str) -> None:
    out = subprocess.run([*COLALAMO, *args], capture_output=True, text=True, timeout=30)

    assert out.returncode == 2
    assert out.stderr.startswith(usage)
    assert out.stderr.splitlines()[-1] == error
    assert "COLALAMO_PORT" not in out.stderr


# -- 5: the start-up curl works as pasted, and a generated key survives a restart ---------------


def started(env: dict[str, str], *args: str) -> str:
    """What `colalamo serve` prints once listening; the process is stopped again."""
    process = subprocess.Popen([*COLALAMO, *args], env=env, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True).start()  # type: ignore[union-attr]
    try:
        wait_until(lambda: "-d '{" in "".join(lines) or process.poll() is not None, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    return "".join(lines)


def test_the_start_up_curl_names_a_configured_key(env: dict[str, str]) -> None:
    shown = started({**env, "COLALAMO_API_KEY": "s3cret"}, "--port", "0")

    assert "-H 'Authorization: Bearer <your COLALAMO_API_KEY>'" in shown
    assert "s3cret" not in shown


def test_a_generated_key_is_kept_and_reused(env: dict[str, str], token_file: Path) -> None:
    first = started(env, "--host", "0.0.0.0", "--port", "0")
    kept = token_file.parent / "api-key"
    key = kept.read_text().strip()

    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert f"kept in {kept} for the next runs" in first
    assert f"-H 'Authorization: Bearer {key}'" in first
    assert f"-H 'Authorization: Bearer {key}'" in started(env, "--host", "0.0.0.0", "--port", "0")


# -- 7: login shows it waits, opens the browser, and knows when it is already done --------------


@pytest.fixture
def browser(tmp_path: Path) -> tuple[Path, Path]:
    """A BROWSER that writes the address it was asked to open to a file."""
    opened = tmp_path / "opened"
    script = tmp_path / "browser"
    script.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    script.chmod(0o755)
    return script, opened


def test_login_shows_it_waits_and_opens_the_browser(
    env: dict[str, str], fake: FakeCopilot, browser: tuple[Path, Path]
) -> None:
    del env["COLALAMO_GITHUB_TOKEN"]
    fake.device_script.extend(["authorization_pending"])
    script, opened = browser
    out = run(["login"], {**env, "BROWSER": str(script)})

    assert out.returncode == 0, out.stderr
    assert re.search(r"waiting for you to approve it on GitHub \(1?\d:\d\d left; Ctrl-C to stop\)", out.stderr)
    assert opened.read_text().strip() == f"{fake.url}/login/device"


def test_login_no_browser_opens_none(env: dict[str, str], browser: tuple[Path, Path]) -> None:
    del env["COLALAMO_GITHUB_TOKEN"]
    script, opened = browser
    out = run(["login", "--no-browser"], {**env, "BROWSER": str(script)})

    assert out.returncode == 0, out.stderr
    assert not opened.exists()


def test_login_when_logged_in_says_as_whom(env: dict[str, str], fake: FakeCopilot) -> None:
    out = run(["login"], env)

    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(
        f"already logged in as {fake.quota['login']} (the GitHub token from COLALAMO_GITHUB_TOKEN)")
    assert "colalamo login --force" in out.stdout
    assert not fake.recorded("device_code")

    out = run(["login", "--force", "--no-browser"], env)
    assert out.returncode == 0, out.stderr
    assert len(fake.recorded("device_code")) == 1


# -- 4: an unreachable GitHub says what to try ----------------------------------------------------


def test_unreachable_github_says_what_to_try(env: dict[str, str]) -> None:
    del env["COLALAMO_GITHUB_TOKEN"]
    out = run(["login"], {**env, "COLALAMO_GITHUB_URL": f"http://127.0.0.1:{closed_port()}"})

    assert out.returncode == 1 and no_traceback(out)
    for advice in ("HTTPS_PROXY", "COLALAMO_GITHUB_TOKEN", "python -m colalamo.testing"):
        assert advice in out.stderr


def test_a_github_url_that_is_no_github_is_a_sentence(env: dict[str, str], fake: FakeCopilot) -> None:
    del env["COLALAMO_GITHUB_TOKEN"]
    out = run(["login"], {**env, "COLALAMO_GITHUB_URL": f"{fake.url}/intercepted"})

    assert out.returncode == 1 and no_traceback(out)
    assert "http_404" not in out.stderr
    assert f"{fake.url}/intercepted/login/device/code was not found (404)" in out.stderr


# -- 11: colalamo doctor ---------------------------------------------------------------------------


def test_doctor_reports_settings_with_their_sources_and_every_check(env: dict[str, str], isolated: Path) -> None:
    (isolated / ".env").write_text("COLALAMO_LOG_LEVEL=warning\n")
    out = run(["--port", "1234", "doctor", "--json"],
              {**env, "COLALAMO_MODEL": "gpt-4o", "HTTPS_PROXY": "http://me:pa55@proxy.example:3128"})

    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] is True
    assert [(c["name"], c["status"]) for c in report["checks"]] == [
        ("GitHub token", "ok"), ("GitHub accepts it", "ok"), ("Copilot token", "ok"), ("Copilot API", "ok"),
        ("quota", "ok"),
    ]
    assert "octocat" in report["checks"][1]["detail"]
    assert "7 models" in report["checks"][3]["detail"]
    settings = report["settings"]
    assert settings["COLALAMO_PORT"] == {"value": "1234", "source": "flag"}
    assert settings["COLALAMO_MODEL"] == {"value": "gpt-4o", "source": "env"}
    assert settings["COLALAMO_LOG_LEVEL"] == {"value": "warning", "source": ".env"}
    assert settings["COLALAMO_HOST"] == {"value": "127.0.0.1", "source": "default"}
    assert report["network"]["HTTPS_PROXY"] == "http://***@proxy.example:3128"
    assert GITHUB_TOKEN not in out.stdout and "pa55" not in out.stdout


def test_doctor_fails_when_github_refuses_the_token(env: dict[str, str]) -> None:
    out = run(["doctor"], {**env, "COLALAMO_GITHUB_TOKEN": "gho_revoked_long_ago"})

    assert out.returncode == 1 and no_traceback(out)
    assert re.search(r"failed\s+GitHub accepts it\s+GitHub rejected", out.stdout)
    assert re.search(r"skipped\s+Copilot API", out.stdout)
    assert "gho_revoked_long_ago" not in out.stdout + out.stderr


# -- 10: help that helps ---------------------------------------------------------------------------


def test_every_command_help_has_examples_and_the_top_level_links_the_readme() -> None:
    from colalamo._cli.main import COMMANDS

    top = subprocess.run([*COLALAMO, "--help"], capture_output=True, text=True, timeout=30).stdout
    assert "README: https://pypi.org/project/colalamo/" in top
    for command in COMMANDS:
        out = subprocess.run([*COLALAMO, command, "--help"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0
        assert "example" in out.stdout and f"colalamo {command}" in out.stdout.split("example", 1)[1], command


def test_the_readme_doctor_recipe_runs(isolated: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    shell_blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    block = next(b for b in shell_blocks if "colalamo doctor " in b and "--background" in b)
    commands = "\n".join(line for line in block.splitlines() if not line.startswith("pip install"))
    script = "set -e\ntrap 'kill $COLALAMO_FAKE_PID 2>/dev/null || true' EXIT\n" + commands
    script = script.replace("python -m colalamo.testing", f"{shlex.quote(sys.executable)} -m colalamo.testing")
    script = script.replace("colalamo doctor", f"{shlex.join(COLALAMO)} doctor")
    env = {**os.environ, "COLALAMO_TOKEN_FILE": str(isolated / "token")}
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, env=env)

    assert out.returncode == 0, out.stdout + out.stderr
    assert "all checks passed" in out.stdout
