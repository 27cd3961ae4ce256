"""openai-node (`openai` 6) against colalamo: chat completions and the Responses API, plain,
streamed, and with tool calls the script runs and answers itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import CLIENT_KEY, Clients, tool_results_sent
from recorder import Recorder

from colalamo.testing import FakeCopilot

pytestmark = pytest.mark.clients

#: (API, model, colalamo's path); gpt-5.4 is served on both chat and /responses upstream
APIS = [("chat", "gpt-4.1", "/v1/chat/completions"), ("responses", "gpt-5.4", "/v1/responses"),
        ("responses", "gpt-4.1", "/v1/responses")]
IDS = ["chat", "responses-native", "responses-translated"]
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])


def openai_node(clients: Clients, colalamo: Recorder, api: str, model: str, prompt: str, *, stream: bool,
                tools: bool = False) -> dict[str, Any]:
    spec = {"api": api, "model": model, "baseURL": colalamo.url, "apiKey": CLIENT_KEY, "prompt": prompt,
            "stream": stream, "tools": tools}
    finished, result = clients.node("openai_node.mjs", spec)
    assert result.get("ok"), f"{result}\n{[(p.path_qs, p.status, p.response) for p in colalamo.posts()]}"
    assert finished.returncode == 0, finished.explain()
    return result


@STREAM
@pytest.mark.parametrize(("api", "model", "path"), APIS, ids=IDS)
def test_plain_prompt(clients: Clients, colalamo: Recorder, api: str, model: str, path: str, stream: bool,
                      capture: Any) -> None:
    try:
        result = openai_node(clients, colalamo, api, model, "say hi", stream=stream)
    finally:
        posts = colalamo.posts(path)
        if posts and model == "gpt-4.1":
            capture(posts[0], f"openai-node-{api}{'-stream' if stream else ''}")
    assert result["texts"] == ["echo: say hi"]


@STREAM
@pytest.mark.parametrize(("api", "model", "path"), APIS, ids=IDS)
def test_parallel_tool_calls_round_trip(clients: Clients, colalamo: Recorder, fake: FakeCopilot, api: str, model: str,
                                        path: str, stream: bool) -> None:
    proof = clients.work / "proof.txt"
    write = {"path": str(proof), "content": "from-openai-node"}
    clock = {"zone": "Asia/Tokyo"}
    prompt = f"Use write_file {json.dumps(write)} and read_clock {json.dumps(clock)}"
    result = openai_node(clients, colalamo, api, model, prompt, stream=stream, tools=True)

    calls = sorted(result["calls"], key=lambda c: c["name"])
    assert calls == [{"name": "read_clock", "input": clock}, {"name": "write_file", "input": write}], result
    assert proof.read_text() == "from-openai-node"
    assert tool_results_sent(fake), "the tools' results never reached Copilot"
    assert result["texts"][-1].startswith("echo: the tool said"), result
