"""`colalamo claude`, `colalamo codex` and `colalamo env`: the models they pick, the settings
they print, and the launchers run as a user runs them (a `colalamo` process) against the fake,
with a stand-in client: a small script that reports its arguments, its environment and what
colalamo answered it, then exits 3."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import tomllib
from helpers import closed_port

from colalamo._cli.agents.clients import toml_value
from colalamo._cli.agents.launch import exit_status, own_and_client_arguments
from colalamo._cli.agents.models import (
    DEFAULT_CLAUDE_MODEL,
    DEFAULT_CODEX_MODEL,
    DEFAULT_SMALL_MODEL,
    pick_claude_code,
    pick_codex,
    pick_small,
    version_of,
)
from colalamo._cli.agents.server import base_url
from colalamo.testing import FakeCopilot, wait_until
from colalamo.testing.catalogue import default_models

COLALAMO = shutil.which("colalamo") or "colalamo"
KEY = "clm-launcher-test-key"

# The stand-in client. The URL it calls is Claude Code's ANTHROPIC_BASE_URL, or the base_url
# of Codex's `-c model_providers.colalamo.base_url=...`; its key the one each client would send.
STAND_IN = """\
import json, os, signal, sys, urllib.error, urllib.request

argv = sys.argv[1:]
env = dict(os.environ)
url, key = env.get("ANTHROPIC_BASE_URL"), env.get("ANTHROPIC_AUTH_TOKEN")
for arg in argv:
    if arg.startswith("model_providers.colalamo.base_url="):
        url = json.loads(arg.split("=", 1)[1]).removesuffix("/v1")
    if arg.startswith("model_providers.colalamo.env_key="):
        key = env.get(json.loads(arg.split("=", 1)[1]))
request = urllib.request.Request(url + "/v1/models", headers={"Authorization": f"Bearer {key}"} if key else {})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(request, timeout=30) as response:
        status = response.status
except urllib.error.HTTPError as exc:
    status = exc.code
report = {"argv": argv, "env": env, "url": url, "models_status": status}
path = env["STAND_IN_REPORT"]
with open(path + ".tmp", "w") as f:
    json.dump(report, f)
os.replace(path + ".tmp", path)
if env.get("STAND_IN_WAIT"):
    signal.pause()
sys.exit(3)
"""


@dataclass
class Launcher:
    """Runs `colalamo` with the stand-in client installed as claude and codex."""

    env: dict[str, str]
    report_path: Path

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([COLALAMO, *args], env={**self.env, **env}, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60, check=False)

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen([COLALAMO, *args], env={**self.env, **env}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.report_path.read_text())


@pytest.fixture
def launcher(fake: FakeCopilot, tmp_path: Path) -> Launcher:
    stand_in = tmp_path / "stand-in-client"
    stand_in.write_text(f"#!{sys.executable}\n{STAND_IN}")
    stand_in.chmod(0o755)
    env = {
        **os.environ, **fake.env(),
        "COLALAMO_TOKEN_FILE": str(tmp_path / "home" / "github-token"),
        "COLALAMO_PORT": "0",  # a fresh colalamo on a free port, unless a test names one
        "COLALAMO_CLAUDE_BIN": str(stand_in),
        "COLALAMO_CODEX_BIN": str(stand_in),
        "STAND_IN_REPORT": str(tmp_path / "report.json"),
    }
    return Launcher(env, tmp_path / "report.json")


def listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()
    except ConnectionRefusedError:
        return False
    return True


@pytest.fixture
def not_colalamo() -> Iterator[int]:
    """Something else on a port: an HTTP server that answers 404 to everything."""

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def port_of(url: str) -> str:
    return str(urlsplit(url).port)


# the model picker --------------------------------------------------------------------------


def model(model_id: str, *, endpoints: tuple[str, ...] | None = None, multiplier: float = 0,
          price: float | None = None, kind: str = "chat", preview: bool = False, tools: bool = True,
          state: str = "enabled") -> dict[str, Any]:
    billing: dict[str, Any] = {"is_premium": multiplier > 0, "multiplier": multiplier}
    if price is not None:
        billing["token_prices"] = {"batch_size": 1000000,
                                   "default": {"input_price": price, "output_price": price * 4}}
    found: dict[str, Any] = {"id": model_id, "preview": preview, "billing": billing, "policy": {"state": state},
                             "capabilities": {"type": kind, "supports": {"tool_calls": tools}}}
    if endpoints is not None:
        found["supported_endpoints"] = list(endpoints)
    return found


MESSAGES = ("/v1/messages", "/chat/completions")
RESPONSES_ONLY = ("/responses", "ws:/responses")
#: Shaped like a 2026 Copilot catalogue, in an order that does not give the answers away.
CATALOGUE_2026 = [
    model("gpt-4.1"),
    model("gpt-5-mini", endpoints=("/chat/completions", "/responses"), price=25),
    model("claude-haiku-4.5", endpoints=MESSAGES, multiplier=0.33, price=100),
    model("claude-sonnet-4", endpoints=MESSAGES, multiplier=1, price=300),
    model("claude-opus-4.5", endpoints=MESSAGES, multiplier=3, price=500),
    model("claude-sonnet-4.5", endpoints=MESSAGES, multiplier=1, price=300),
    model("claude-sonnet-5", endpoints=MESSAGES, multiplier=1, price=300, preview=True),
    model("gpt-5.1-codex-mini", endpoints=RESPONSES_ONLY, multiplier=0.33, price=25),
    model("gpt-5.3-codex", endpoints=RESPONSES_ONLY, multiplier=1, price=175),
    model("gpt-5.3-codex-max", endpoints=RESPONSES_ONLY, multiplier=1, price=175),
    model("gpt-5.1-codex", endpoints=RESPONSES_ONLY, multiplier=1, price=175),
    model("gpt-5.4", endpoints=("/responses", "/chat/completions"), multiplier=1, price=250),
    model("text-embedding-3-small", endpoints=("/embeddings",), kind="embeddings"),
]


def test_claude_code_gets_the_newest_released_sonnet_the_newest_opus_and_an_unbilled_small_model() -> None:
    picked = pick_claude_code(CATALOGUE_2026)

    assert (picked.main, picked.opus, picked.small) == ("claude-sonnet-4.5", "claude-opus-4.5", "gpt-4.1")


def test_claude_code_on_the_fakes_catalogue() -> None:
    picked = pick_claude_code(default_models())

    assert (picked.main, picked.opus, picked.small) == ("claude-sonnet-4", "claude-sonnet-4", "gpt-4.1")


def test_claude_code_without_sonnet_takes_opus_and_without_claude_the_first_chat_model() -> None:
    no_sonnet = [m for m in CATALOGUE_2026 if "sonnet" not in m["id"]]
    no_claude = [m for m in CATALOGUE_2026 if not m["id"].startswith("claude")]

    assert pick_claude_code(no_sonnet).main == "claude-opus-4.5"
    assert pick_claude_code(no_claude).main == "gpt-4.1"
    assert pick_claude_code(no_claude).opus == "gpt-4.1"  # the alias still names a real model


def test_the_users_models_win() -> None:
    picked = pick_claude_code(CATALOGUE_2026, main="claude-opus-4.5", small="gpt-5-mini")

    assert (picked.main, picked.small) == ("claude-opus-4.5", "gpt-5-mini")
    assert pick_codex(CATALOGUE_2026, model="gpt-5.4") == "gpt-5.4"


def test_the_small_model_can_call_tools_and_is_the_cheapest_when_every_model_is_billed() -> None:
    billed = [model("a", multiplier=1, price=300), model("b", multiplier=1, price=100),
              model("c", multiplier=0.33, price=50, tools=False)]

    assert pick_small(billed) == "b"
    assert pick_small([model("x", tools=False), model("y")]) == "y"
    assert pick_small([model("embed", kind="embeddings")]) is None


def test_disabled_and_embedding_models_are_never_picked() -> None:
    catalogue = [model("claude-sonnet-9", state="disabled"), model("text-embedding-3-small", kind="embeddings"),
                 model("gpt-4o")]

    picked = pick_claude_code(catalogue)

    assert (picked.main, picked.small) == ("gpt-4o", "gpt-4o")
    assert pick_codex(catalogue) == "gpt-4o"


def test_codex_gets_the_newest_codex_model_on_responses() -> None:
    assert pick_codex(CATALOGUE_2026) == "gpt-5.3-codex"
    assert pick_codex(default_models()) == "gpt-5.3-codex"


def test_codex_without_a_codex_model_takes_a_gpt5_on_responses_else_any_chat_model() -> None:
    no_codex = [m for m in CATALOGUE_2026 if "codex" not in m["id"]]
    no_responses = [model("gpt-4.1"), model("claude-sonnet-4", endpoints=MESSAGES)]

    assert pick_codex(no_codex) == "gpt-5.4"
    assert pick_codex(no_responses) == "gpt-4.1"


def test_an_empty_catalogue_gives_the_documented_defaults() -> None:
    picked = pick_claude_code([])

    assert (picked.main, picked.opus, picked.small) == (DEFAULT_CLAUDE_MODEL, DEFAULT_CLAUDE_MODEL, DEFAULT_SMALL_MODEL)
    assert pick_codex([]) == DEFAULT_CODEX_MODEL


def test_versions_are_read_from_ids_without_dates() -> None:
    assert version_of("gpt-5.3-codex") == (5, 3)
    assert version_of("claude-sonnet-4") < version_of("claude-sonnet-4.5") < version_of("claude-sonnet-5")
    assert version_of("claude-sonnet-4-20250514") == (4,)


# pieces of the launchers ----------------------------------------------------------------------


def test_colalamos_options_end_at_the_first_argument_of_the_client() -> None:
    own = ("--model", "--small-model", "--port")

    assert own_and_client_arguments(["--model", "m", "-p", "hi", "--model", "x"], own) == (
        ["--model", "m"], ["-p", "hi", "--model", "x"])
    assert own_and_client_arguments(["--port=8080", "exec", "--json"], own) == (["--port=8080"], ["exec", "--json"])
    assert own_and_client_arguments(["--", "--help"], own) == ([], ["--help"])
    assert own_and_client_arguments(["-h"], own) == (["-h"], [])


def test_a_client_killed_by_a_signal_exits_as_a_shell_reports_it() -> None:
    assert exit_status(3) == 3
    assert exit_status(-signal.SIGTERM) == 128 + signal.SIGTERM


def test_codex_values_are_toml() -> None:
    assert toml_value(False) == "false"
    assert tomllib.loads(f"x = {toml_value('http://[::1]:4242/v1')}")["x"] == "http://[::1]:4242/v1"


def test_a_server_on_every_address_is_reached_on_loopback() -> None:
    assert base_url("0.0.0.0", 4242) == "http://127.0.0.1:4242"
    assert base_url("::", 4242) == "http://[::1]:4242"
    assert base_url("localhost", 80) == "http://localhost:80"


# the launchers, run as a user runs them ----------------------------------------------------


def test_claude_runs_against_a_colalamo_it_starts_and_stops(launcher: Launcher) -> None:
    done = launcher.run("claude", "-p", "say hi", "--output-format", "json")

    report = launcher.report
    assert done.returncode == 3, done.stderr  # the client's status
    assert report["argv"] == ["-p", "say hi", "--output-format", "json"]
    assert report["models_status"] == 200, "the client could not reach colalamo"
    env = report["env"]
    assert env["ANTHROPIC_BASE_URL"] == report["url"]
    assert (env["ANTHROPIC_MODEL"], env["ANTHROPIC_DEFAULT_HAIKU_MODEL"]) == ("claude-sonnet-4", "gpt-4.1")
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1" and env["DISABLE_AUTOUPDATER"] == "1"
    assert "started for this session" in done.stderr and "model claude-sonnet-4" in done.stderr
    assert not listening(report["url"]), "the colalamo started for the client outlived it"


def test_codex_gets_colalamo_as_a_provider_on_the_command_line(launcher: Launcher, tmp_path: Path) -> None:
    user_config = Path(launcher.env["HOME"]) / ".codex" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text('model = "o3"\n')

    done = launcher.run("codex", "exec", "--json", "say hi")

    report = launcher.report
    assert done.returncode == 3, done.stderr
    overrides = dict(arg.split("=", 1) for arg in report["argv"][1:-3:2])
    assert report["argv"][0:-3:2] == ["-c"] * len(overrides) and report["argv"][-3:] == ["exec", "--json", "say hi"]
    assert tomllib.loads("\n".join(f"{k.replace('.', '_')} = {v}" for k, v in overrides.items())) == {
        "model": "gpt-5.3-codex",
        "model_provider": "colalamo",
        "model_providers_colalamo_name": "colalamo",
        "model_providers_colalamo_base_url": f"{report['url']}/v1",
        "model_providers_colalamo_wire_api": "responses",
        "check_for_update_on_startup": False,
        "analytics_enabled": False,
        "feedback_enabled": False,
    }
    assert report["models_status"] == 200
    assert user_config.read_text() == 'model = "o3"\n', "the user's Codex settings were changed"
    assert not listening(report["url"])


def test_arguments_pass_through_unchanged_after_colalamos_own(launcher: Launcher) -> None:
    done = launcher.run("--log-level", "warning", "claude", "--model", "claude-x", "--small-model", "gpt-4o",
                        "-p", "a b", "--model", "not-colalamos", "--", "-h")

    report = launcher.report
    assert done.returncode == 3, done.stderr
    assert report["argv"] == ["-p", "a b", "--model", "not-colalamos", "--", "-h"]
    assert (report["env"]["ANTHROPIC_MODEL"], report["env"]["ANTHROPIC_SMALL_FAST_MODEL"]) == ("claude-x", "gpt-4o")


def test_a_double_dash_hands_the_client_its_own_options(launcher: Launcher) -> None:
    done = launcher.run("codex", "--", "--help")

    assert done.returncode == 3, done.stderr
    assert launcher.report["argv"][-1:] == ["--help"] and "--" not in launcher.report["argv"]


def test_the_launchers_own_help_does_not_start_anything(launcher: Launcher) -> None:
    done = launcher.run("claude", "--help")

    assert done.returncode == 0 and "npm install -g @anthropic-ai/claude-code" in done.stdout
    assert not launcher.report_path.exists()


def test_an_already_serving_colalamo_is_used_and_left_running(launcher: Launcher, server: str) -> None:
    done = launcher.run("claude", "-p", "hi", COLALAMO_PORT=port_of(server))

    assert done.returncode == 3, done.stderr
    assert launcher.report["url"] == server and launcher.report["models_status"] == 200
    assert "already serving" in done.stderr
    assert listening(server), "the launcher stopped a colalamo it had not started"


def test_the_api_key_reaches_the_client_and_is_never_printed(launcher: Launcher) -> None:
    for client, sent_as in (("claude", "ANTHROPIC_AUTH_TOKEN"), ("codex", "COLALAMO_API_KEY")):
        done = launcher.run(client, "go", COLALAMO_API_KEY=KEY)

        report = launcher.report
        assert done.returncode == 3, done.stderr
        assert report["env"][sent_as] == KEY
        assert report["models_status"] == 200, "the started colalamo refused its own key"
        assert KEY not in done.stdout + done.stderr


def test_claude_code_never_gets_the_users_anthropic_key(launcher: Launcher) -> None:
    launcher.run("claude", ANTHROPIC_API_KEY="sk-ant-the-users-own")

    assert "ANTHROPIC_API_KEY" not in launcher.report["env"]
    assert launcher.report["env"]["ANTHROPIC_AUTH_TOKEN"] == "no-key"


def test_a_colalamo_whose_key_is_not_configured_is_a_clear_error(launcher: Launcher,
                                                                   start_server: Callable[..., str]) -> None:
    guarded = start_server(api_keys=(KEY,))

    done = launcher.run("claude", COLALAMO_PORT=port_of(guarded))

    assert done.returncode == 1
    assert "wants an API key: set COLALAMO_API_KEY" in done.stderr and "Traceback" not in done.stderr
    assert not launcher.report_path.exists()


def test_a_port_taken_by_something_else_is_a_clear_error(launcher: Launcher, not_colalamo: int) -> None:
    done = launcher.run("codex", "exec", "hi", COLALAMO_PORT=str(not_colalamo))

    assert done.returncode == 1
    assert f"127.0.0.1:{not_colalamo} is taken by something that is not colalamo" in done.stderr
    assert "Traceback" not in done.stderr and not launcher.report_path.exists()


@pytest.mark.parametrize(("client", "package"), [("claude", "@anthropic-ai/claude-code"), ("codex", "@openai/codex")])
def test_a_client_not_installed_says_how_to_install_it(launcher: Launcher, tmp_path: Path, client: str,
                                                       package: str) -> None:
    env = {k: v for k, v in launcher.env.items() if not k.endswith("_BIN")}
    empty = tmp_path / "empty-path"
    empty.mkdir()
    # colalamo itself is found by its full path; the client on PATH is not
    done = subprocess.run([COLALAMO, client, "-p", "hi"], env={**env, "PATH": str(empty)},
                          capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 127
    assert f"{client} is not installed" in done.stderr and f"npm install -g {package}" in done.stderr


def test_a_bin_override_that_names_nothing_is_a_clear_error(launcher: Launcher, tmp_path: Path) -> None:
    done = launcher.run("claude", COLALAMO_CLAUDE_BIN=str(tmp_path / "nothing-here"))

    assert done.returncode == 127 and "COLALAMO_CLAUDE_BIN names no program" in done.stderr


def test_sigterm_reaches_the_client_and_the_started_colalamo_stops(launcher: Launcher) -> None:
    process = launcher.start("claude", STAND_IN_WAIT="1")
    try:
        wait_until(lambda: launcher.report_path.exists() or process.poll() is not None, timeout=30)
        url = launcher.report["url"]
        assert listening(url)

        process.send_signal(signal.SIGTERM)

        assert process.wait(timeout=30) == 128 + signal.SIGTERM  # the client died of the signal
        assert not listening(url)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_ctrl_c_is_left_to_the_client(launcher: Launcher) -> None:
    """The terminal sends Ctrl-C to the launcher and the client alike: the launcher keeps
    waiting for the client to decide. Here only the launcher gets it, then SIGTERM: had Ctrl-C
    ended the launcher, its status would be 130, not the client's."""
    process = launcher.start("claude", STAND_IN_WAIT="1")
    try:
        wait_until(lambda: launcher.report_path.exists() or process.poll() is not None, timeout=30)
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGTERM)

        assert process.wait(timeout=30) == 128 + signal.SIGTERM
        assert not listening(launcher.report["url"])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


# colalamo env --------------------------------------------------------------------------------


def shell_env(snippet: str) -> dict[str, str]:
    """What a shell's environment is after `eval "$(colalamo env ...)"`."""
    done = subprocess.run(["bash", "-c", 'eval "$SNIPPET" && env -0'],
                          env={"PATH": os.environ["PATH"], "SNIPPET": snippet, "COLALAMO_API_KEY": "from-the-shell",
                               "ANTHROPIC_API_KEY": "sk-ant-users"},
                          capture_output=True, text=True, timeout=30, check=True)
    return dict(item.split("=", 1) for item in done.stdout.split("\0") if item)


def test_env_claude_points_claude_code_at_the_running_colalamo(launcher: Launcher, server: str) -> None:
    done = launcher.run("env", "claude", COLALAMO_PORT=port_of(server))

    env = shell_env(done.stdout)
    assert done.returncode == 0, done.stderr
    assert env["ANTHROPIC_BASE_URL"] == server
    assert (env["ANTHROPIC_MODEL"], env["ANTHROPIC_DEFAULT_HAIKU_MODEL"]) == ("claude-sonnet-4", "gpt-4.1")
    assert env["ANTHROPIC_AUTH_TOKEN"] == "no-key" and "ANTHROPIC_API_KEY" not in env
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"


def test_env_with_a_key_refers_to_it_and_never_contains_it(
    launcher: Launcher, start_server: Callable[..., str]
) -> None:
    guarded = start_server(api_keys=(KEY,))

    outputs = {client: launcher.run("env", client, COLALAMO_PORT=port_of(guarded), COLALAMO_API_KEY=KEY)
               for client in ("claude", "codex", "opencode", "aider")}

    for client, done in outputs.items():
        assert done.returncode == 0, done.stderr
        assert KEY not in done.stdout + done.stderr, client
    assert shell_env(outputs["claude"].stdout)["ANTHROPIC_AUTH_TOKEN"] == "from-the-shell"
    assert shell_env(outputs["aider"].stdout)["OPENAI_API_KEY"] == "from-the-shell"
    assert tomllib.loads(outputs["codex"].stdout)["model_providers"]["colalamo"]["env_key"] == "COLALAMO_API_KEY"
    opencode_provider = json.loads(outputs["opencode"].stdout)["provider"]["colalamo"]
    assert opencode_provider["options"]["apiKey"] == "{env:COLALAMO_API_KEY}"
    # the catalogue was read with the key: the fake's models, not the defaults
    assert shell_env(outputs["claude"].stdout)["ANTHROPIC_MODEL"] == "claude-sonnet-4"


def test_env_codex_is_a_config_toml_for_a_responses_model(launcher: Launcher, server: str) -> None:
    done = launcher.run("env", "codex", COLALAMO_PORT=port_of(server))

    config = tomllib.loads(done.stdout)
    assert config["model"] == "gpt-5.3-codex" and config["model_provider"] == "colalamo"
    assert config["model_providers"]["colalamo"] == {"name": "colalamo", "base_url": f"{server}/v1",
                                                     "wire_api": "responses"}
    assert config["check_for_update_on_startup"] is False and config["analytics"] == {"enabled": False}


def test_env_opencode_lists_the_catalogues_chat_models(launcher: Launcher, server: str) -> None:
    done = launcher.run("env", "opencode", COLALAMO_PORT=port_of(server))

    config = json.loads(done.stdout)
    provider = config["provider"]["colalamo"]
    assert provider["npm"] == "@ai-sdk/openai-compatible" and provider["options"] == {"baseURL": f"{server}/v1"}
    assert set(provider["models"]) == {m["id"] for m in default_models()} - {"text-embedding-3-small"}
    assert provider["models"]["gpt-4.1"]["limit"] == {"context": 128000, "output": 16384}
    assert (config["model"], config["small_model"]) == ("colalamo/claude-sonnet-4", "colalamo/gpt-4.1")


def test_env_aider_sets_its_openai_base_and_model(launcher: Launcher, server: str) -> None:
    done = launcher.run("env", "aider", "--model", "gpt-4.1", COLALAMO_PORT=port_of(server))

    env = shell_env(done.stdout)
    assert (env["OPENAI_API_BASE"], env["AIDER_MODEL"]) == (f"{server}/v1", "openai/gpt-4.1")
    assert env["AIDER_ANALYTICS"] == "false" and env["AIDER_CHECK_UPDATE"] == "false"
    assert f"--openai-api-base {server}/v1" in done.stdout and "--model openai/gpt-4.1" in done.stdout


def test_env_without_a_running_colalamo_prints_the_defaults(launcher: Launcher) -> None:
    port = closed_port()

    done = launcher.run("env", "claude", COLALAMO_PORT=str(port))

    env = shell_env(done.stdout)
    assert done.returncode == 0
    assert env["ANTHROPIC_BASE_URL"] == f"http://127.0.0.1:{port}"
    assert (env["ANTHROPIC_MODEL"], env["ANTHROPIC_SMALL_FAST_MODEL"]) == (DEFAULT_CLAUDE_MODEL, DEFAULT_SMALL_MODEL)
    assert "no colalamo answers" in done.stderr


def test_env_names_the_clients_it_knows(launcher: Launcher) -> None:
    done = launcher.run("env", "cursor")

    assert done.returncode == 2 and "invalid choice" in done.stderr
