"""Every model through every surface: each request reaches the Copilot endpoint its model is
served on (natively where it takes the client's format, translated otherwise), whole and
streamed, with the real SDKs against the real server and the fake's 2026 catalogue."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import anthropic
import openai
import pytest

from colalamo import Copilot
from colalamo.testing import FakeCopilot

CHAT_ONLY, RESPONSES_ONLY, CLAUDE, BOTH = "gpt-4.1", "gpt-5.3-codex", "claude-sonnet-4", "gpt-5.4"
FAKE_ROUTE = {"/chat/completions": "chat", "/responses": "responses", "/v1/messages": "messages"}

# (surface's native endpoint, model) -> the endpoint Copilot must see
EXPECTED = {
    ("chat", CHAT_ONLY): "chat", ("chat", RESPONSES_ONLY): "responses", ("chat", CLAUDE): "chat",
    ("chat", BOTH): "chat",
    ("messages", CHAT_ONLY): "chat", ("messages", RESPONSES_ONLY): "responses", ("messages", CLAUDE): "messages",
    ("messages", BOTH): "responses",
    ("responses", CHAT_ONLY): "chat", ("responses", RESPONSES_ONLY): "responses", ("responses", CLAUDE): "chat",
    ("responses", BOTH): "responses",
}
MODELS = (CHAT_ONLY, RESPONSES_ONLY, CLAUDE, BOTH)


def inference_routes(fake: FakeCopilot) -> list[str]:
    return [r.route for r in fake.requests if r.route in ("chat", "responses", "messages")]


def anthropic_client(server: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server, api_key="unused", max_retries=0)


WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {
    "type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}
NEWS = {"type": "function", "function": {"name": "get_news", "parameters": {
    "type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}}}
PARALLEL_PROMPT = ('Use get_weather {"city": "Paris"} and get_time {"zone": "Europe/Paris"} '
                   'and get_news {"topic": "rain"}')
PARALLEL_ARGS = {"get_weather": {"city": "Paris"}, "get_time": {"zone": "Europe/Paris"}, "get_news": {"topic": "rain"}}


def anthropic_tool(tool: dict[str, Any]) -> dict[str, Any]:
    return {"name": tool["function"]["name"], "input_schema": tool["function"]["parameters"]}


def responses_tool(tool: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "name": tool["function"]["name"], "parameters": tool["function"]["parameters"]}


# plain text, whole and streamed ------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_chat_surface_reaches_every_model(client: openai.OpenAI, fake: FakeCopilot, model: str, stream: bool) -> None:
    messages: Any = [{"role": "user", "content": "hi"}]
    if stream:
        chunks = list(client.chat.completions.create(model=model, messages=messages, stream=True,
                                                     stream_options={"include_usage": True}))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
        assert all(c.object == "chat.completion.chunk" for c in chunks)
    else:
        reply = client.chat.completions.create(model=model, messages=messages)
        text = reply.choices[0].message.content or ""
        assert reply.usage is not None and reply.usage.prompt_tokens > 0
    assert text == "echo: hi"
    assert inference_routes(fake) == [EXPECTED[("chat", model)]]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_messages_surface_reaches_every_model(server: str, fake: FakeCopilot, model: str, stream: bool) -> None:
    client = anthropic_client(server)
    messages: Any = [{"role": "user", "content": "hi"}]
    if stream:
        with client.messages.stream(model=model, max_tokens=100, messages=messages) as events:
            text = "".join(events.text_stream)
            final = events.get_final_message()
    else:
        final = client.messages.create(model=model, max_tokens=100, messages=messages)
        text = "".join(b.text for b in final.content if b.type == "text")
    assert text == "echo: hi"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    assert inference_routes(fake) == [EXPECTED[("messages", model)]]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_responses_surface_reaches_every_model(
    client: openai.OpenAI, fake: FakeCopilot, model: str, stream: bool
) -> None:
    if stream:
        with client.responses.stream(model=model, input="hi") as events:
            for _ in events:
                pass
            response = events.get_final_response()
    else:
        response = client.responses.create(model=model, input="hi")
    assert response.output_text == "echo: hi"
    assert response.status == "completed" and response.usage is not None and response.usage.output_tokens > 0
    assert inference_routes(fake) == [EXPECTED[("responses", model)]]


@pytest.mark.parametrize("model", [RESPONSES_ONLY, CLAUDE])
def test_ask_and_the_library_reach_every_model(server: str, fake: FakeCopilot, settings: Any, model: str) -> None:
    async def ask() -> dict[str, Any]:
        async with aiohttp.ClientSession() as http:
            hi = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
            async with http.post(f"{server}/ask", json=hi) as r:
                assert r.status == 200
                return await r.json()

    assert asyncio.run(ask())["reply"] == "echo: hi"
    with Copilot(settings) as copilot:
        answer = copilot.ask([{"role": "user", "content": "hey"}], model=model)
        assert answer["status"] == 200 and answer["text"]["reply"] == "echo: hey"
        assert "".join(copilot.ask([{"role": "user", "content": "yo"}], model=model, stream=True)) == "echo: yo"
    assert inference_routes(fake) == [EXPECTED[("chat", model)]] * 3


# tools, structured output ------------------------------------------------------------------


@pytest.mark.parametrize("model", [CHAT_ONLY, RESPONSES_ONLY])
def test_chat_tools_and_json_schema_on_a_responses_only_model(client: openai.OpenAI, model: str) -> None:
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": PARALLEL_PROMPT}],
                                           tools=[WEATHER, TIME, NEWS])
    calls = reply.choices[0].message.tool_calls or []
    assert reply.choices[0].finish_reason == "tool_calls"
    assert {c.function.name: json.loads(c.function.arguments) for c in calls} == PARALLEL_ARGS
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
              "additionalProperties": False}
    shaped = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Paris"}],
        response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema, "strict": True}})
    assert set(json.loads(shaped.choices[0].message.content or "")) == {"city"}


def _streamed_chat_calls(client: openai.OpenAI, model: str) -> dict[str, Any]:
    arguments: dict[int, str] = {}
    names: dict[int, str] = {}
    for chunk in client.chat.completions.create(model=model, messages=[{"role": "user", "content": PARALLEL_PROMPT}],
                                                tools=[WEATHER, TIME, NEWS], stream=True):
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            if call.function and call.function.name:
                names[call.index] = call.function.name
            arguments[call.index] = arguments.get(call.index, "") + ((call.function and call.function.arguments) or "")
    return {names[i]: json.loads(arguments[i]) for i in names}


@pytest.mark.parametrize("model", MODELS)
def test_parallel_calls_stream_intact_through_chat(client: openai.OpenAI, model: str) -> None:
    assert _streamed_chat_calls(client, model) == PARALLEL_ARGS


@pytest.mark.parametrize("model", MODELS)
def test_parallel_calls_stream_intact_through_messages(server: str, model: str) -> None:
    client = anthropic_client(server)
    with client.messages.stream(model=model, max_tokens=500, messages=[{"role": "user", "content": PARALLEL_PROMPT}],
                                tools=[anthropic_tool(t) for t in (WEATHER, TIME, NEWS)]) as events:
        final = events.get_final_message()
    assert final.stop_reason == "tool_use"
    assert {b.name: b.input for b in final.content if b.type == "tool_use"} == PARALLEL_ARGS


@pytest.mark.parametrize("model", MODELS)
def test_parallel_calls_stream_intact_through_responses(client: openai.OpenAI, model: str) -> None:
    deltas: dict[str, str] = {}
    with client.responses.stream(model=model, input=PARALLEL_PROMPT,
                                 tools=[responses_tool(t) for t in (WEATHER, TIME, NEWS)]) as events:  # type: ignore[misc]
        for event in events:
            if event.type == "response.function_call_arguments.delta":
                deltas[event.item_id] = deltas.get(event.item_id, "") + event.delta
        response = events.get_final_response()
    calls = [item for item in response.output if item.type == "function_call"]
    assert {c.name: json.loads(c.arguments) for c in calls} == PARALLEL_ARGS
    assert {c.id: json.loads(c.arguments) for c in calls} == {k: json.loads(v) for k, v in deltas.items()}


@pytest.mark.parametrize("model", [CHAT_ONLY, RESPONSES_ONLY, CLAUDE])
def test_a_tool_round_trip_through_messages(server: str, model: str) -> None:
    client = anthropic_client(server)
    tools = [anthropic_tool(WEATHER)]
    first = client.messages.create(model=model, max_tokens=500, tools=tools,
                                   messages=[{"role": "user", "content": 'Use get_weather {"city": "Oslo"}'}])
    call = next(b for b in first.content if b.type == "tool_use")
    assert call.input == {"city": "Oslo"}
    second = client.messages.create(model=model, max_tokens=500, tools=tools, messages=[
        {"role": "user", "content": 'Use get_weather {"city": "Oslo"}'},
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},
    ])
    assert "".join(b.text for b in second.content if b.type == "text") == "echo: the tool said sunny"


# reasoning crosses translations where the client's format can hold it -----------------------


def test_reasoning_items_survive_an_anthropic_client_on_a_responses_only_model(server: str, fake: FakeCopilot) -> None:
    client = anthropic_client(server)
    tools = [anthropic_tool(WEATHER)]
    ask: Any = [{"role": "user", "content": 'Use get_weather {"city": "Oslo"}'}]
    first = client.messages.create(model=RESPONSES_ONLY, max_tokens=500, tools=tools, messages=ask,
                                   thinking={"type": "enabled", "budget_tokens": 2048})
    sent = fake.recorded("responses")[-1].body
    assert sent["store"] is False and "reasoning.encrypted_content" in sent["include"]
    thinking = [b for b in first.content if b.type == "thinking"]
    assert thinking, "the reasoning item comes back as a thinking block"
    call = next(b for b in first.content if b.type == "tool_use")
    client.messages.create(model=RESPONSES_ONLY, max_tokens=500, tools=tools, messages=[
        *ask,
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},
    ])
    second = fake.recorded("responses")[-1].body
    assert [i for i in second["input"] if i.get("type") == "reasoning"], "the reasoning item went back"
    assert fake.reasoning_items_received >= 1


def test_native_responses_keep_what_the_client_sent(client: openai.OpenAI, fake: FakeCopilot) -> None:
    response = client.responses.create(
        model=RESPONSES_ONLY, input="hi", store=False, include=["reasoning.encrypted_content"],
        reasoning={"effort": "low", "summary": "auto"}, service_tier="flex",
        extra_body={"prompt_cache_key": "session-1", "client_metadata": {"x": "y"}})
    sent = fake.recorded("responses")[-1].body
    assert sent["prompt_cache_key"] == "session-1" and sent["client_metadata"] == {"x": "y"}
    assert sent["include"] == ["reasoning.encrypted_content"] and sent["store"] is False
    assert "service_tier" not in sent  # Copilot refuses it
    reasoning = [item for item in response.output if item.type == "reasoning"]
    assert reasoning and reasoning[0].encrypted_content
    again = client.responses.create(model=RESPONSES_ONLY, store=False,
                                    input=[*[i.model_dump(exclude_none=True) for i in response.output],
                                           {"role": "user", "content": "and again"}])
    assert again.output_text == "echo: and again"
    assert fake.reasoning_items_received == 1


def test_anthropic_beta_is_filtered_on_the_native_path(server: str, fake: FakeCopilot) -> None:
    client = anthropic_client(server)
    betas = "interleaved-thinking-2025-05-14,some-future-beta-2099-01-01"
    client.messages.create(model=CLAUDE, max_tokens=50, messages=[{"role": "user", "content": "hi"}],
                           extra_headers={"anthropic-beta": betas})
    headers = fake.recorded("messages")[-1].headers
    assert headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert headers["anthropic-version"] == "2023-06-01"


def test_max_tokens_above_the_model_limit_are_lowered(client: openai.OpenAI, server: str, fake: FakeCopilot) -> None:
    limit = next(m for m in fake.models if m["id"] == CLAUDE)["capabilities"]["limits"]["max_output_tokens"]
    with anthropic_client(server).messages.stream(model=CLAUDE, max_tokens=128000,  # as the AI SDK sends
                                                  messages=[{"role": "user", "content": "hi"}]) as events:
        assert events.get_final_message().stop_reason == "end_turn"
    assert fake.recorded("messages")[-1].body["max_tokens"] == limit
    client.chat.completions.create(model=CHAT_ONLY, max_tokens=1_000_000, messages=[{"role": "user", "content": "hi"}])
    chat_limit = next(m for m in fake.models if m["id"] == CHAT_ONLY)["capabilities"]["limits"]["max_output_tokens"]
    assert fake.recorded("chat")[-1].body["max_tokens"] == chat_limit


def test_a_chat_only_refusal_of_stop_on_a_responses_only_model_is_a_clear_400(
    client: openai.OpenAI, fake: FakeCopilot
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=RESPONSES_ONLY, stop=["x"], messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["param"] == "stop" and "Responses API" in caught.value.body["message"]  # type: ignore[index]
    assert inference_routes(fake) == []


def test_tool_hints_copilot_refuses_are_removed_on_the_native_messages_path(server: str, fake: FakeCopilot) -> None:
    tool = {**anthropic_tool(WEATHER), "eager_input_streaming": True}
    reply = anthropic_client(server).messages.create(
        model=CLAUDE, max_tokens=100, tools=[tool],  # type: ignore[list-item]
        messages=[{"role": "user", "content": 'Use get_weather {"city": "Rome"}'}])
    assert next(b for b in reply.content if b.type == "tool_use").input == {"city": "Rome"}
    assert "eager_input_streaming" not in fake.recorded("messages")[-1].body["tools"][0]
