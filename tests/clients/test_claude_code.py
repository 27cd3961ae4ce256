"""Claude Code (`claude -p`), headless, against colalamo's `/v1/messages`: on a Claude model
(the native Messages path) and on a GPT model (the path translated to chat completions).

Claude Code always streams; it sends `HEAD /`, then `POST /v1/messages?beta=true` with an
`anthropic-beta` header, `metadata.user_id`, `thinking`, `context_management` and ~24 tools.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import CLIENT_KEY, Clients, Finished, tool_results_sent
from recorder import Recorder

from colalamo.testing import FakeCopilot

pytestmark = pytest.mark.clients

MODELS = ["claude-sonnet-4", "gpt-4.1"]


def claude(
    clients: Clients, colalamo: Recorder, model: str, prompt: str, *allowed: str
) -> tuple[Finished, dict[str, Any]]:
    env = clients.env(
        ANTHROPIC_BASE_URL=colalamo.url,
        ANTHROPIC_API_KEY=CLIENT_KEY,
        ANTHROPIC_MODEL=model,
        # its small-model calls go to the same model, so every call is one the catalogue has
        ANTHROPIC_SMALL_FAST_MODEL=model,
        ANTHROPIC_DEFAULT_HAIKU_MODEL=model,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_AUTOUPDATER="1",
        DISABLE_TELEMETRY="1",
        DISABLE_ERROR_REPORTING="1",
        DISABLE_BUG_COMMAND="1",
        CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL="1",
    )
    argv = [clients.bin("claude"), "-p", prompt, "--output-format", "stream-json", "--verbose",
            "--max-turns", "4", "--model", model]
    if allowed:
        argv += ["--allowedTools", ",".join(allowed)]
    finished = clients.run(argv, env, timeout=120)
    events = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    results = [e for e in events if e.get("type") == "result"]
    assert results, f"no result event\n{finished.explain()}"
    return finished, results[-1]


def tool_uses(colalamo: Recorder) -> list[list[dict[str, Any]]]:
    """The tool_use blocks of each assistant turn Claude Code sent back (colalamo's answers)."""
    turns = []
    posts = colalamo.posts("/v1/messages")
    last = posts[-1].body if posts else {}
    for message in last.get("messages", []):
        content = message.get("content")
        if message.get("role") == "assistant" and isinstance(content, list):
            turns.append([b for b in content if b.get("type") == "tool_use"])
    return turns


@pytest.mark.parametrize("model", MODELS)
def test_plain_prompt_ends_in_the_fakes_reply(clients: Clients, colalamo: Recorder, fake: FakeCopilot,
                                               model: str, capture: Any) -> None:
    finished, result = claude(clients, colalamo, model, "say hi")

    posts = colalamo.posts("/v1/messages")
    assert posts, finished.explain()
    capture(posts[0], f"claude-code-messages-{'claude' if model.startswith('claude') else 'gpt'}")
    assert [p.status for p in posts] == [200] * len(posts), [(p.status, p.response) for p in posts]
    assert finished.returncode == 0 and not result["is_error"], finished.explain()
    assert result["result"].startswith("echo: ") and result["result"].endswith("say hi"), result["result"]
    assert not tool_uses(colalamo), "a plain prompt made tool calls"


@pytest.mark.parametrize("model", MODELS)
def test_a_tool_round_trip(clients: Clients, colalamo: Recorder, fake: FakeCopilot, model: str) -> None:
    finished, result = claude(clients, colalamo, model, 'Use Bash {"command": "echo from-bash > proof.txt"}', "Bash")

    assert finished.returncode == 0 and not result["is_error"], finished.explain()
    assert (clients.work / "proof.txt").read_text().strip() == "from-bash"
    assert tool_results_sent(fake), "the tool's result never reached Copilot"
    assert result["result"].startswith("echo: the tool said"), result["result"]


@pytest.mark.parametrize("model", MODELS)
def test_parallel_tool_calls_keep_their_own_arguments(clients: Clients, colalamo: Recorder, fake: FakeCopilot,
                                                      model: str) -> None:
    two = clients.work / "two.txt"
    bash = {"command": "echo one > one.txt"}
    write = {"file_path": str(two), "content": "two"}
    prompt = f"Use Bash {json.dumps(bash)} and Write {json.dumps(write)}"
    finished, result = claude(clients, colalamo, model, prompt, "Bash", "Write")

    assert finished.returncode == 0 and not result["is_error"], finished.explain()
    calls = tool_uses(colalamo)
    assert calls and sorted(c["name"] for c in calls[0]) == ["Bash", "Write"], calls
    inputs = {c["name"]: c["input"] for c in calls[0]}
    assert inputs["Bash"]["command"] == bash["command"] and inputs["Write"]["file_path"] == write["file_path"], inputs
    assert (clients.work / "one.txt").read_text().strip() == "one"
    assert two.read_text() == "two"
    assert result["result"].startswith("echo: the tool said"), result["result"]
