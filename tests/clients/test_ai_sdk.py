"""The Vercel AI SDK (`ai` 6 with `@ai-sdk/openai` and `@ai-sdk/anthropic`) against colalamo:
`createOpenAI({baseURL})(model)` (the Responses API, store on, so turn 2 sends
`item_reference` items), `.chat(model)` (chat completions) and `createAnthropic` (`/v1/messages`,
with `max_tokens` at the largest the SDK knows for the model)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import CLIENT_KEY, Clients, tool_results_sent
from recorder import Recorder

from colalamo.testing import FakeCopilot

pytestmark = pytest.mark.clients

#: (provider as the driver names it, model, colalamo's path)
PROVIDERS = [
    ("responses", "gpt-5.4", "/v1/responses"),
    ("chat", "gpt-4.1", "/v1/chat/completions"),
    ("anthropic", "claude-sonnet-4", "/v1/messages"),
]
IDS = [p for p, _, _ in PROVIDERS]
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["generate", "stream"])


def ai_sdk(clients: Clients, colalamo: Recorder, provider: str, model: str, prompts: list[str], *,
           stream: bool, tools: bool = False) -> dict[str, Any]:
    spec = {"provider": provider, "model": model, "baseURL": colalamo.url, "apiKey": CLIENT_KEY,
            "prompts": prompts, "stream": stream, "tools": tools}
    finished, result = clients.node("ai_sdk.mjs", spec)
    assert result.get("ok"), f"{result}\n{[(p.path_qs, p.status, p.response) for p in colalamo.posts()]}"
    assert finished.returncode == 0, finished.explain()
    return result


@STREAM
@pytest.mark.parametrize(("provider", "model", "path"), PROVIDERS, ids=IDS)
def test_plain_prompt(clients: Clients, colalamo: Recorder, provider: str, model: str, path: str, stream: bool,
                      capture: Any) -> None:
    try:
        result = ai_sdk(clients, colalamo, provider, model, ["say hi"], stream=stream)
    finally:
        posts = colalamo.posts(path)
        if posts:
            capture(posts[0], f"ai-sdk-{provider}{'-stream' if stream else ''}")
    assert result["texts"] == ["echo: say hi"]
    assert [p.body.get("stream", False) for p in colalamo.posts(path)] == [stream]


@pytest.mark.parametrize(("provider", "model", "path"), PROVIDERS, ids=IDS)
def test_a_second_turn_carries_the_first(clients: Clients, colalamo: Recorder, provider: str, model: str, path: str,
                                         capture: Any) -> None:
    """On the Responses API this is the `item_reference` turn: the SDK names its earlier
    output by id instead of repeating it."""
    try:
        result = ai_sdk(clients, colalamo, provider, model, ["say hi", "say more"], stream=False)
    finally:
        posts = colalamo.posts(path)
        if len(posts) > 1:
            capture(posts[1], f"ai-sdk-{provider}-turn2")
    assert result["texts"] == ["echo: say hi", "echo: say more"]


@STREAM
@pytest.mark.parametrize(("provider", "model", "path"), PROVIDERS, ids=IDS)
def test_a_tool_round_trip(clients: Clients, colalamo: Recorder, fake: FakeCopilot, provider: str, model: str,
                           path: str, stream: bool) -> None:
    proof = clients.work / "proof.txt"
    args = {"path": str(proof), "content": "from-ai-sdk"}
    result = ai_sdk(clients, colalamo, provider, model, [f"Use write_file {json.dumps(args)}"], stream=stream,
                    tools=True)

    assert result["calls"] == [{"name": "write_file", "input": args}]
    assert proof.read_text() == "from-ai-sdk"
    assert tool_results_sent(fake), "the tool's result never reached Copilot"
    assert result["texts"][-1].startswith("echo: the tool said"), result


@STREAM
@pytest.mark.parametrize(("provider", "model", "path"), PROVIDERS, ids=IDS)
def test_parallel_tool_calls_keep_their_own_arguments(clients: Clients, colalamo: Recorder, provider: str, model: str,
                                                      path: str, stream: bool) -> None:
    proof = clients.work / "proof.txt"
    write = {"path": str(proof), "content": "parallel"}
    clock = {"zone": "Europe/Paris"}
    prompt = f"Use write_file {json.dumps(write)} and read_clock {json.dumps(clock)}"
    result = ai_sdk(clients, colalamo, provider, model, [prompt], stream=stream, tools=True)

    calls = sorted(result["calls"], key=lambda c: c["name"])
    assert calls == [{"name": "read_clock", "input": clock}, {"name": "write_file", "input": write}], result
    assert proof.read_text() == "parallel"
    assert result["texts"][-1].startswith("echo: the tool said"), result
