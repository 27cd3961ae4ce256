"""What coding agents send reaches every model: Codex's tool types (namespace, custom, hosted)
on `/v1/responses`, Anthropic server tools and `system` turns on `/v1/messages`. Tools a
model's endpoint cannot take are left out and named in `X-Colalamo-Ignored-Tools`; nothing is a
400. Raw HTTP to the real server (the header is the point), the fake behind it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from colalamo.testing import FakeCopilot

CHAT_ONLY, RESPONSES_ONLY, CLAUDE, BOTH = "gpt-4.1", "gpt-5.3-codex", "claude-sonnet-4", "gpt-5.4"
NATIVE_RESPONSES = (RESPONSES_ONLY, BOTH)
Json = dict[str, Any]

SPAWN = {"type": "function", "name": "spawn_agent", "description": "start a helper",
         "parameters": {"type": "object", "properties": {"task": {"type": "string"}}}}
CODEX_TOOLS: list[Json] = [
    {"type": "function", "name": "exec_command", "strict": False,
     "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
    {"type": "namespace", "name": "multi_agent_v1", "description": "helpers", "tools": [SPAWN]},
    {"type": "custom", "name": "apply_patch",
     "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
    {"type": "web_search", "external_web_access": False},
    {"type": "image_generation"},
]
SPAWN_PROMPT = 'Use multi_agent_v1__spawn_agent {"task": "count the files"}'
HEADER = "X-Colalamo-Ignored-Tools"


@pytest.fixture
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


def sse_events(response: httpx.Response) -> list[Json]:
    return [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")]


def responses(http: httpx.Client, body: Json) -> tuple[httpx.Response, Json]:
    """The whole response object, streamed or not."""
    answer = http.post("/v1/responses", json=body)
    assert answer.status_code == 200, answer.text
    if not body.get("stream"):
        return answer, answer.json()
    completed = [e for e in sse_events(answer) if e["type"] == "response.completed"]
    return answer, completed[-1]["response"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("model", [RESPONSES_ONLY, BOTH, CHAT_ONLY, CLAUDE])
def test_codex_tools_reach_every_model_and_calls_keep_their_namespace(http: httpx.Client, fake: FakeCopilot,
                                                                      model: str, stream: bool) -> None:
    body = {"model": model, "input": SPAWN_PROMPT, "tools": CODEX_TOOLS, "store": False, "stream": stream}
    answer, response = responses(http, body)

    calls = [item for item in response["output"] if item["type"] == "function_call"]
    assert [(c["namespace"], c["name"], json.loads(c["arguments"])) for c in calls] == [
        ("multi_agent_v1", "spawn_agent", {"task": "count the files"})]
    native = model in NATIVE_RESPONSES
    # Copilot's /responses runs web search itself; a translation has nowhere to put it
    assert answer.headers[HEADER] == ("image_generation" if native else "web_search, image_generation")
    sent = fake.recorded(fake.requests[-1].route)[-1].body
    names = [t.get("name") for t in sent["tools"]] if native else [t["function"]["name"] for t in sent["tools"]]
    assert "multi_agent_v1__spawn_agent" in names and "multi_agent_v1" not in names
    if stream:
        added = [e["item"] for e in sse_events(answer) if e["type"] == "response.output_item.added"
                 and e["item"]["type"] == "function_call"]
        assert [(i["namespace"], i["name"]) for i in added] == [("multi_agent_v1", "spawn_agent")]


@pytest.mark.parametrize("model", [RESPONSES_ONLY, CHAT_ONLY])
def test_a_namespaced_call_goes_back_with_its_result(http: httpx.Client, fake: FakeCopilot, model: str) -> None:
    codex = {"tools": CODEX_TOOLS, "store": False, "include": ["reasoning.encrypted_content"]}
    _, first = responses(http, {"model": model, "input": SPAWN_PROMPT, **codex})
    call = next(item for item in first["output"] if item["type"] == "function_call")
    history = [{"role": "user", "content": SPAWN_PROMPT}, *first["output"],
               {"type": "function_call_output", "call_id": call["call_id"], "output": "42 files"}]
    _, second = responses(http, {"model": model, "input": history, **codex})
    texts = [part["text"] for item in second["output"] if item["type"] == "message" for part in item["content"]]
    assert texts == ["echo: the tool said 42 files"]


def test_a_request_with_only_supported_tools_names_none(http: httpx.Client) -> None:
    answer, _ = responses(http, {"model": RESPONSES_ONLY, "input": "hi", "tools": CODEX_TOOLS[:4]})
    assert HEADER not in answer.headers


# Anthropic Messages ------------------------------------------------------------------------

WEATHER = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
SERVER_TOOLS = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
                {"type": "web_fetch_20250910", "name": "web_fetch"}]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("model", [CLAUDE, CHAT_ONLY, RESPONSES_ONLY])
def test_anthropic_server_tools_are_left_out_and_named(
    http: httpx.Client, fake: FakeCopilot, model: str, stream: bool
) -> None:
    answer = http.post("/v1/messages", json={
        "model": model, "max_tokens": 200, "stream": stream, "tools": [WEATHER, *SERVER_TOOLS],
        "messages": [{"role": "user", "content": 'Use get_weather {"city": "Oslo"}'}]})

    assert answer.status_code == 200, answer.text
    assert answer.headers[HEADER] == "web_search, web_fetch"
    if stream:
        starts = [e["content_block"] for e in sse_events(answer) if e["type"] == "content_block_start"]
        calls = [(b["name"], b["input"]) for b in starts if b["type"] == "tool_use"]
        assert [name for name, _ in calls] == ["get_weather"]
    else:
        calls = [(b["name"], b["input"]) for b in answer.json()["content"] if b["type"] == "tool_use"]
        assert calls == [("get_weather", {"city": "Oslo"})]


def test_only_server_tools_leave_no_tools_at_all(http: httpx.Client, fake: FakeCopilot) -> None:
    answer = http.post("/v1/messages", json={
        "model": CLAUDE, "max_tokens": 200, "tools": SERVER_TOOLS, "tool_choice": {"type": "auto"},
        "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["content"][-1]["text"] == "echo: hi"
    sent = fake.recorded("messages")[-1].body
    assert "tools" not in sent and "tool_choice" not in sent


@pytest.mark.parametrize("model", [CLAUDE, CHAT_ONLY, RESPONSES_ONLY])
def test_a_system_turn_among_the_messages_joins_the_system_prompt(
    http: httpx.Client, fake: FakeCopilot, model: str
) -> None:
    # Claude Code on a non-Claude model lists its agent types this way
    answer = http.post("/v1/messages", json={
        "model": model, "max_tokens": 200, "system": "You are terse.",
        "messages": [{"role": "user", "content": "hi"},
                     {"role": "system", "content": "Agent types: Explore, Plan."},
                     {"role": "user", "content": "say hi"}]})

    assert answer.status_code == 200, answer.text
    assert answer.json()["content"][-1]["text"] == "echo: say hi"
    sent = fake.requests[-1].body
    if model == CLAUDE:
        assert [b["text"] for b in sent["system"]] == ["You are terse.", "Agent types: Explore, Plan."]
        assert [m["role"] for m in sent["messages"]] == ["user", "user"]
    else:
        system = sent["messages"][0]["content"] if "messages" in sent else sent["instructions"]
        turns = sent["messages"][1:] if "messages" in sent else sent["input"]
        assert "You are terse." in system and "Agent types: Explore, Plan." in system
        assert all(t.get("role") != "system" for t in turns)


def test_a_bad_role_is_still_a_clear_400(http: httpx.Client) -> None:
    answer = http.post("/v1/messages", json={"model": CLAUDE, "max_tokens": 10,
                                             "messages": [{"role": "robot", "content": "hi"}]})
    assert answer.status_code == 400
    assert answer.json()["error"] == {"type": "invalid_request_error",
                                      "message": "'messages.0.role' must be user, assistant or system"}


@pytest.mark.parametrize(("path", "body", "param", "says"), [
    ("/v1/messages", {"tools": [{**WEATHER, "name": "get weather!"}]}, "tools.0.name", "1 to 128 letters"),
    ("/v1/messages", {"tools": [{**WEATHER, "name": "m" * 129}]}, "tools.0.name", "1 to 128 letters"),
    ("/v1/messages", {"tools": [WEATHER], "tool_choice": {"type": "tool", "name": "get_time"}},
     "tool_choice.name", "'get_time', which is not among the tools"),
    # a server tool is among `tools`, but never reaches Copilot: forcing it cannot be honoured
    ("/v1/messages", {"tools": [WEATHER, *SERVER_TOOLS], "tool_choice": {"type": "tool", "name": "web_search"}},
     "tool_choice.name", "'web_search', which is not among the tools"),
    ("/v1/responses", {"tools": [{**SPAWN, "name": "spawn.agent"}]}, "tools[0].name", "1 to 64 letters"),
    ("/v1/responses", {"tools": CODEX_TOOLS, "tool_choice": {"type": "function", "name": "get_time"}},
     "tool_choice.name", "'get_time', which is not among the tools"),
])
def test_tool_names_and_forced_tools_are_checked_on_every_surface(http: httpx.Client, fake: FakeCopilot, path: str,
                                                                  body: Json, param: str, says: str) -> None:
    base = ({"model": CLAUDE, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
            if path == "/v1/messages" else {"model": BOTH, "input": "hi"})
    answer = http.post(path, json={**base, **body})

    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error" and says in error["message"]
    if path == "/v1/responses":
        assert error["param"] == param
    else:
        assert f"'{param}'" in error["message"]  # Anthropic's errors have no param field
    assert not any(fake.recorded(route) for route in ("chat", "responses", "messages"))  # nothing was sent


def test_claude_codes_long_mcp_tool_names_pass(http: httpx.Client, fake: FakeCopilot) -> None:
    name = "mcp__" + "a_long_server_name" * 3 + "__" + "a_long_tool_name" * 2  # 93 characters
    answer = http.post("/v1/messages", json={"model": CLAUDE, "max_tokens": 50, "tools": [{**WEATHER, "name": name}],
                                             "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 200, answer.text
    assert fake.recorded("messages")[-1].body["tools"][0]["name"] == name


@pytest.mark.parametrize("choice", [{"type": "function", "name": "spawn_agent"},
                                    {"type": "function", "name": "multi_agent_v1__spawn_agent"}])
def test_a_namespaced_function_can_be_forced_by_either_name(http: httpx.Client, choice: Json) -> None:
    body = {"model": BOTH, "input": "hi", "tools": CODEX_TOOLS, "tool_choice": choice}
    answer = http.post("/v1/responses", json=body)
    assert answer.status_code != 400, answer.text
