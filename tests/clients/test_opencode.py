"""opencode (`opencode run --format json`), headless, with colalamo as its provider: an
OpenAI-compatible one (chat completions), one on `@ai-sdk/anthropic` (`/v1/messages`) and one on
`@ai-sdk/openai` (`/v1/responses`). opencode always streams, and titles each session with a
second call to the same model.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import CLIENT_KEY, Clients, Finished, tool_results_sent
from recorder import Recorder

from colalamo.testing import FakeCopilot

pytestmark = pytest.mark.clients

#: (the AI SDK provider package opencode loads (bundled in its binary), model, colalamo's API)
PROVIDERS = [
    ("@ai-sdk/openai-compatible", "gpt-4.1", "chat"),
    ("@ai-sdk/anthropic", "claude-sonnet-4", "messages"),
    ("@ai-sdk/openai", "gpt-5.4", "responses"),
]
IDS = [api for _, _, api in PROVIDERS]
PATHS = {"chat": "/v1/chat/completions", "messages": "/v1/messages", "responses": "/v1/responses"}


def opencode(
    clients: Clients, colalamo: Recorder, package: str, model: str, prompt: str
) -> tuple[Finished, list[dict[str, Any]]]:
    config = {
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "provider": {"colalamo": {
            "npm": package,
            "name": "colalamo",
            "options": {"baseURL": f"{colalamo.url}/v1", "apiKey": CLIENT_KEY},
            "models": {model: {"name": model, "tool_call": True}},
        }},
        "model": f"colalamo/{model}",
        "small_model": f"colalamo/{model}",
        # headless: nothing may wait for a person's approval
        "permission": {"edit": "allow", "bash": "allow", "webfetch": "deny"},
    }
    directory = clients.home / ".config" / "opencode"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "opencode.json").write_text(json.dumps(config))
    env = clients.env(
        OPENCODE_DISABLE_AUTOUPDATE="1",
        OPENCODE_DISABLE_MODELS_FETCH="1",  # models.dev: its bundled snapshot instead
        OPENCODE_DISABLE_DEFAULT_PLUGINS="1",  # they are npm packages fetched at start
        OPENCODE_DISABLE_LSP_DOWNLOAD="1",
        OPENCODE_DISABLE_SHARE="1",
        SHELL="/bin/bash",
    )
    # one argument per word: `opencode run` wraps an argument holding spaces in quotes and
    # escapes the quotes inside, which would hide a tool's JSON input from the fake model
    argv = [clients.bin("opencode"), "run", "--format", "json", "-m", f"colalamo/{model}", *prompt.split(" ")]
    finished = clients.run(argv, env, timeout=120)
    events = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    return finished, events


def texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["part"]["text"] for e in events if e.get("type") == "text"]


def tool_parts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["part"] for e in events if e.get("type") == "tool_use"]


def errors(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == "error"]


@pytest.mark.parametrize(("package", "model", "api"), PROVIDERS, ids=IDS)
def test_plain_prompt_ends_in_the_fakes_reply(clients: Clients, colalamo: Recorder, package: str, model: str,
                                               api: str, capture: Any) -> None:
    finished, events = opencode(clients, colalamo, package, model, "say hi")

    posts = colalamo.posts(PATHS[api])
    assert posts, finished.explain()
    # the agent's call (with tools), not the title's
    capture(next((p for p in posts if p.body.get("tools")), posts[0]), f"opencode-{api}")
    assert [p.status for p in posts] == [200] * len(posts), [(p.status, p.response) for p in posts]
    assert not errors(events), errors(events)
    assert finished.returncode == 0, finished.explain()
    assert texts(events) == ["echo: say hi"], events
    assert not tool_parts(events), "a plain prompt made tool calls"


@pytest.mark.parametrize(("package", "model", "api"), PROVIDERS, ids=IDS)
def test_a_tool_round_trip(clients: Clients, colalamo: Recorder, fake: FakeCopilot, package: str, model: str,
                           api: str) -> None:
    bash = {"command": "echo from-opencode > proof.txt", "description": "write the proof"}
    finished, events = opencode(clients, colalamo, package, model, f"Use bash {json.dumps(bash)}")

    assert not errors(events), errors(events)
    assert finished.returncode == 0, finished.explain()
    assert (clients.work / "proof.txt").is_file(), tool_parts(events)
    assert (clients.work / "proof.txt").read_text().strip() == "from-opencode"
    assert tool_results_sent(fake), "the tool's result never reached Copilot"
    assert texts(events)[-1].startswith("echo: the tool said"), events


@pytest.mark.parametrize(("package", "model", "api"), PROVIDERS, ids=IDS)
def test_parallel_tool_calls_keep_their_own_arguments(clients: Clients, colalamo: Recorder, package: str,
                                                      model: str, api: str) -> None:
    # bash and read: opencode offers both to every model (GPT models get apply_patch, not write)
    two = clients.work / "two.txt"
    two.write_text("two")
    bash = {"command": "echo one > one.txt", "description": "make one"}
    read = {"filePath": str(two)}
    prompt = f"Use bash {json.dumps(bash)} and read {json.dumps(read)}"
    finished, events = opencode(clients, colalamo, package, model, prompt)

    assert not errors(events), errors(events)
    assert finished.returncode == 0, finished.explain()
    calls = {p["tool"]: p["state"].get("input") for p in tool_parts(events)}
    assert calls == {"bash": bash, "read": read}, calls
    assert (clients.work / "one.txt").read_text().strip() == "one"
    assert texts(events)[-1].startswith("echo: the tool said"), events
