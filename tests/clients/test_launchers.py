"""`colalamo claude` and `colalamo codex` with the real clients: the launcher finds or starts
colalamo (here against the fake), picks the models from its catalogue, points the client at
it, runs the client headless and hands back its exit status. And `colalamo env`: what it prints
is what opencode and aider run with."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from agents import Clients, Finished
from recorder import Recorder

from colalamo.testing import FakeCopilot

pytestmark = pytest.mark.clients


def launcher(clients: Clients, fake: FakeCopilot, tmp_path: Path, *args: str, port: int = 0) -> Finished:
    """`colalamo ARGS` in the clients' clean environment, its colalamo pointed at the fake
    (through COLALAMO_* variables, as a user's shell would set them)."""
    env = clients.env(
        **fake.env(),
        COLALAMO_TOKEN_FILE=str(tmp_path / "github-token"),
        COLALAMO_PORT=str(port),  # 0: the launcher starts a colalamo on a free port
        COLALAMO_CLAUDE_BIN=clients.bin("claude"),
        COLALAMO_CODEX_BIN=clients.bin("codex"),
    )
    return clients.run([sys.executable, "-m", "colalamo", *args], env, timeout=180)


def upstream_models(fake: FakeCopilot, route: str) -> list[str]:
    return [r.body.get("model") for r in fake.requests if r.route == route and isinstance(r.body, dict)]


def codex_messages(finished: Finished) -> list[str]:
    events = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    return [e["item"]["text"] for e in events
            if e.get("type") == "item.completed" and e["item"].get("type") == "agent_message"]


def test_colalamo_claude_runs_claude_code_on_a_colalamo_it_starts(clients: Clients, fake: FakeCopilot,
                                                                  tmp_path: Path) -> None:
    finished = launcher(clients, fake, tmp_path, "claude", "-p", "say hi", "--output-format", "json")

    assert finished.returncode == 0, finished.explain()
    result: dict[str, Any] = json.loads(finished.stdout)
    assert not result["is_error"], result
    assert result["result"].startswith("echo: ") and result["result"].endswith("say hi"), result
    assert "started for this session" in finished.stderr, finished.explain()
    # the main model answered on Copilot's native Messages route
    assert "claude-sonnet-4" in upstream_models(fake, "messages"), fake.requests


def test_colalamo_claude_hands_back_claude_codes_exit_status(clients: Clients, fake: FakeCopilot,
                                                             tmp_path: Path) -> None:
    finished = launcher(clients, fake, tmp_path, "claude", "--no-such-option-anywhere")

    assert finished.returncode not in (0, 127), finished.explain()
    assert "no-such-option-anywhere" in finished.stderr, finished.explain()


def test_colalamo_codex_runs_codex_on_a_colalamo_it_starts(clients: Clients, fake: FakeCopilot, tmp_path: Path) -> None:
    finished = launcher(clients, fake, tmp_path, "codex", "exec", "--skip-git-repo-check", "--json", "say hi")

    assert finished.returncode == 0, finished.explain()
    assert codex_messages(finished) == ["echo: say hi"], finished.explain()
    assert upstream_models(fake, "responses") == ["gpt-5.3-codex"], fake.requests
    assert not (clients.home / ".codex" / "config.toml").exists(), "the launcher wrote Codex's own settings"


def test_colalamo_codex_uses_the_colalamo_already_serving(clients: Clients, fake: FakeCopilot, colalamo: Recorder,
                                                           tmp_path: Path) -> None:
    port = urlsplit(colalamo.url).port
    assert port is not None
    finished = launcher(clients, fake, tmp_path, "codex", "--model", "gpt-4.1", "exec", "--skip-git-repo-check",
                        "--json", "say hi", port=port)

    assert finished.returncode == 0, finished.explain()
    assert "already serving" in finished.stderr, finished.explain()
    posts = colalamo.posts("/v1/responses")
    assert [p.body.get("model") for p in posts] == ["gpt-4.1"], [p.body for p in posts]
    assert codex_messages(finished) == ["echo: say hi"], finished.explain()


def env_snippet(clients: Clients, fake: FakeCopilot, tmp_path: Path, colalamo: Recorder, client: str) -> str:
    finished = launcher(clients, fake, tmp_path, "env", client, port=urlsplit(colalamo.url).port or 0)
    assert finished.returncode == 0, finished.explain()
    return finished.stdout


def test_colalamo_env_opencode_is_a_config_opencode_runs_with(clients: Clients, fake: FakeCopilot,
                                                               colalamo: Recorder, tmp_path: Path) -> None:
    directory = clients.home / ".config" / "opencode"
    directory.mkdir(parents=True)
    (directory / "opencode.json").write_text(env_snippet(clients, fake, tmp_path, colalamo, "opencode"))
    env = clients.env(OPENCODE_DISABLE_AUTOUPDATE="1", OPENCODE_DISABLE_MODELS_FETCH="1",
                      OPENCODE_DISABLE_DEFAULT_PLUGINS="1", OPENCODE_DISABLE_LSP_DOWNLOAD="1", SHELL="/bin/bash")

    finished = clients.run([clients.bin("opencode"), "run", "--format", "json", "say hi"], env, timeout=120)

    events = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    assert finished.returncode == 0, finished.explain()
    assert [e["part"]["text"] for e in events if e.get("type") == "text"] == ['echo: "say hi"'], events
    assert "claude-sonnet-4" in [p.body.get("model") for p in colalamo.posts("/v1/chat/completions")]


def test_colalamo_env_aider_is_what_aider_runs_with(clients: Clients, fake: FakeCopilot, colalamo: Recorder,
                                                     tmp_path: Path) -> None:
    snippet = env_snippet(clients, fake, tmp_path, colalamo, "aider")
    aider = [clients.aider, "--no-git", "--yes-always", "--no-show-model-warnings", "--no-pretty",
             "--no-fancy-input", "--map-tokens", "0", "--message", "say hi"]
    script = f'eval "$SNIPPET" && exec {shlex.join(aider)}'

    finished = clients.run(["bash", "-c", script], clients.env(SNIPPET=snippet), timeout=120)

    assert finished.returncode == 0, finished.explain()
    assert "echo: say hi" in finished.stdout, finished.explain()
    assert [p.body.get("model") for p in colalamo.posts("/v1/chat/completions")] == ["claude-sonnet-4"]
