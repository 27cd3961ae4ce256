"""Codex CLI (`codex exec --json`), headless, against colalamo's `/v1/responses`: on a model
Copilot serves only on `/responses` (native path) and on a chat-only model (translated path).

Codex always streams, with `store: false`, `include: ["reasoning.encrypted_content"]`,
developer messages that carry ids, and tools of several types: `function`, `namespace`
(`multi_agent_v1`), `web_search`, and `custom` (`apply_patch`, by model).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import CLIENT_KEY, Clients, Finished, tool_results_sent
from recorder import Recorder

from colalamo.testing import FakeCopilot

pytestmark = pytest.mark.clients

MODELS = ["gpt-5.3-codex", "gpt-4.1"]


def codex(clients: Clients, colalamo: Recorder, model: str, prompt: str) -> tuple[Finished, list[dict[str, Any]]]:
    codex_home = clients.home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    # a custom provider on the Responses wire (the only one Codex has); no retries, so a
    # refused request fails the test at once; no update check, no analytics
    (codex_home / "config.toml").write_text(
        f'model = "{model}"\n'
        'model_provider = "colalamo"\n'
        "check_for_update_on_startup = false\n"
        "[model_providers.colalamo]\n"
        'name = "colalamo"\n'
        f'base_url = "{colalamo.url}/v1"\n'
        'wire_api = "responses"\n'
        'env_key = "COLALAMO_CLIENTS_KEY"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n"
        "[analytics]\n"
        "enabled = false\n"
    )
    env = clients.env(CODEX_HOME=str(codex_home), COLALAMO_CLIENTS_KEY=CLIENT_KEY)
    argv = [clients.bin("codex"), "exec", "--skip-git-repo-check", "--json",
            # the tests' own tmp dir; Linux sandboxing needs privileges a CI container lacks
            "--dangerously-bypass-approvals-and-sandbox", prompt]
    finished = clients.run(argv, env, timeout=120)
    events = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    return finished, events


def agent_messages(events: list[dict[str, Any]]) -> list[str]:
    return [e["item"]["text"] for e in events
            if e.get("type") == "item.completed" and e["item"].get("type") == "agent_message"]


def failures(events: list[dict[str, Any]]) -> list[Any]:
    return [e for e in events if e.get("type") in ("error", "turn.failed")]


def function_calls(colalamo: Recorder) -> list[dict[str, Any]]:
    """The calls colalamo answered with, as Codex sent them back in its follow-up."""
    posts = colalamo.posts("/responses")
    last = posts[-1].body if posts else {}
    return [i for i in last.get("input", []) if i.get("type") in ("function_call", "custom_tool_call")]


@pytest.mark.parametrize("model", MODELS)
def test_plain_prompt_ends_in_the_fakes_reply(clients: Clients, colalamo: Recorder, model: str, capture: Any) -> None:
    finished, events = codex(clients, colalamo, model, "say hi")

    posts = colalamo.posts("/v1/responses")
    assert posts, finished.explain()
    capture(posts[0], f"codex-responses-{'codex' if 'codex' in model else 'gpt'}")
    assert not failures(events), failures(events)
    assert finished.returncode == 0, finished.explain()
    assert agent_messages(events) == ["echo: say hi"], events
    assert len(posts) == 1, "a plain prompt took more than one call"


@pytest.mark.parametrize("model", MODELS)
def test_a_tool_round_trip(clients: Clients, colalamo: Recorder, fake: FakeCopilot, model: str) -> None:
    finished, events = codex(clients, colalamo, model, 'Use exec_command {"cmd": "echo from-codex > proof.txt"}')

    assert not failures(events), failures(events)
    assert finished.returncode == 0, finished.explain()
    assert (clients.work / "proof.txt").read_text().strip() == "from-codex"
    assert tool_results_sent(fake), "the tool's result never reached Copilot"
    assert agent_messages(events)[-1].startswith("echo: the tool said"), events


@pytest.mark.parametrize("model", MODELS)
def test_parallel_tool_calls_keep_their_own_arguments(clients: Clients, colalamo: Recorder, fake: FakeCopilot,
                                                      model: str) -> None:
    command = {"cmd": "echo one > one.txt"}
    finished, events = codex(clients, colalamo, model, f"Use exec_command {json.dumps(command)} and get_goal {{}}")

    assert not failures(events), failures(events)
    assert finished.returncode == 0, finished.explain()
    calls = function_calls(colalamo)
    assert sorted(c["name"] for c in calls) == ["exec_command", "get_goal"], calls
    by_name = {c["name"]: json.loads(c["arguments"]) for c in calls}
    assert by_name["exec_command"]["cmd"] == command["cmd"] and by_name["get_goal"] == {}, by_name
    assert (clients.work / "one.txt").read_text().strip() == "one"
    assert agent_messages(events)[-1].startswith("echo: the tool said"), events
