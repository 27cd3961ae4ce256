"""The Anthropic Messages API, driven by the anthropic SDK: translated (gpt-4.1) and native
(claude-sonnet-4, which the fake serves on /v1/messages)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import anthropic
import pytest
from helpers import call

from colalamo._server.anthropic.messages import count_input_tokens
from colalamo._token_estimate import estimate_text_tokens
from colalamo.testing import FakeCopilot

MODELS = ["gpt-4.1", "claude-sonnet-4"]
WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
HELLO = [{"role": "user", "content": "hello there"}]
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPj/HwADAgH/"


@pytest.fixture
def claude(server: str):
    with anthropic.Anthropic(base_url=server, api_key="unused", max_retries=0) as client:
        yield client


@pytest.mark.parametrize("model", MODELS)
def test_text(claude: anthropic.Anthropic, model: str) -> None:
    message = claude.messages.create(model=model, max_tokens=100, system="be brief", messages=HELLO)

    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text == "echo: hello there"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_translation_sends_chat_completions(claude: anthropic.Anthropic, fake: FakeCopilot) -> None:
    claude.messages.create(
        model="gpt-4.1", max_tokens=7, system=[{"type": "text", "text": "be brief"}], messages=HELLO,
        stop_sequences=["END"], extra_body={"temperature": 0.5},
    )

    (sent,) = fake.recorded("chat")
    assert sent.body["messages"][0] == {"role": "system", "content": "be brief"}
    assert sent.body["max_tokens"] == 7 and sent.body["stop"] == ["END"] and sent.body["temperature"] == 0.5
    assert fake.recorded("messages") == []


def test_native_models_are_forwarded_as_is(claude: anthropic.Anthropic, fake: FakeCopilot) -> None:
    message = claude.messages.create(
        model="claude-sonnet-4", max_tokens=2000, messages=HELLO,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )

    assert [b.type for b in message.content] == ["thinking", "text"]  # thinking survives
    assert message.content[0].signature
    (sent,) = fake.recorded("messages")
    assert sent.body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert sent.headers["anthropic-version"] and sent.headers["Editor-Version"]
    assert fake.recorded("chat") == []


@pytest.mark.parametrize("model", MODELS)
def test_max_tokens_stop_reason(claude: anthropic.Anthropic, model: str) -> None:
    message = claude.messages.create(model=model, max_tokens=1, messages=HELLO)
    assert message.stop_reason == "max_tokens"


@pytest.mark.parametrize("model", MODELS)
def test_images_base64_and_url(claude: anthropic.Anthropic, fake: FakeCopilot, model: str) -> None:
    message = claude.messages.create(
        model=model, max_tokens=100,
        messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
            {"type": "text", "text": "what are these?"},
        ]}],
    )

    assert message.content[0].text.startswith("echo: what are these?")
    sent = (fake.recorded("chat") or fake.recorded("messages"))[-1]
    assert sent.headers["Copilot-Vision-Request"] == "true"
    if model == "gpt-4.1":
        parts = sent.body["messages"][0]["content"]
        assert parts[0]["image_url"]["url"] == f"data:image/png;base64,{PIXEL}"
        assert parts[1]["image_url"]["url"] == "https://example.com/cat.png"


@pytest.mark.parametrize("model", MODELS)
def test_tool_use_and_tool_result_round_trip(claude: anthropic.Anthropic, fake: FakeCopilot, model: str) -> None:
    question = {"role": "user", "content": 'get_weather {"city": "Paris"}'}  # the fake calls the tools a prompt names
    first = claude.messages.create(model=model, max_tokens=100, tools=[WEATHER], messages=[question])

    assert first.stop_reason == "tool_use"
    call = next(b for b in first.content if b.type == "tool_use")
    assert call.name == "get_weather" and call.input == {"city": "Paris"}

    result = {"type": "tool_result", "tool_use_id": call.id, "content": "sunny", "is_error": False}
    second = claude.messages.create(
        model=model, max_tokens=100, tools=[WEATHER],
        messages=[
            question,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {"role": "user", "content": [result]},
        ],
    )
    assert second.content[-1].text == "echo: the tool said sunny"
    sent = (fake.recorded("chat") or fake.recorded("messages"))[-1]
    assert sent.headers["X-Initiator"] == "agent"  # a tool result is not a person's turn


def test_tool_result_errors_and_tool_choice_translate(claude: anthropic.Anthropic, fake: FakeCopilot) -> None:
    call = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    failed = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "no network", "is_error": True}
    claude.messages.create(
        model="gpt-4.1", max_tokens=100, tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        messages=[
            {"role": "user", "content": "Paris"},
            {"role": "assistant", "content": [call]},
            {"role": "user", "content": [failed]},
        ],
    )

    sent = fake.recorded("chat")[-1].body
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert sent["parallel_tool_calls"] is False
    assert sent["messages"][1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "Error: no network"}


@pytest.mark.parametrize("model", MODELS)
def test_streaming_text_and_final_message(claude: anthropic.Anthropic, model: str) -> None:
    with claude.messages.stream(model=model, max_tokens=100, messages=HELLO) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == "echo: hello there"
    assert final.content[0].text == text and final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_streaming_tool_use(claude: anthropic.Anthropic, model: str) -> None:
    question = {"role": "user", "content": 'get_weather {"city": "Oslo"}'}
    with claude.messages.stream(model=model, max_tokens=100, tools=[WEATHER], messages=[question]) as stream:
        final = stream.get_final_message()

    call = next(b for b in final.content if b.type == "tool_use")
    assert call.input == {"city": "Oslo"} and final.stop_reason == "tool_use"


def test_stream_wire_format(server: str) -> None:
    body = {"model": "gpt-4.1", "max_tokens": 50, "stream": True, "messages": HELLO}
    status, _, text = call("POST", f"{server}/v1/messages", data=json.dumps(body))

    assert status == 200
    events = [block.split("\n") for block in text.strip().split("\n\n")]
    names = [lines[0].removeprefix("event: ") for lines in events]
    for lines in events:  # every event: name equals the JSON type
        assert json.loads(lines[1].removeprefix("data: "))["type"] == lines[0].removeprefix("event: ")
    assert names[:2] == ["message_start", "ping"]
    assert names[2:5] == ["content_block_start", "content_block_delta", "content_block_delta"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    delta = json.loads(events[-2][1].removeprefix("data: "))
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] == 3


def test_idle_stream_gets_pings(start_server, fake: FakeCopilot) -> None:
    server = start_server(stream_keepalive=0.05)
    fake.piece_delay = 0.3
    body = {"model": "gpt-4.1", "max_tokens": 50, "stream": True, "messages": HELLO}
    status, _, text = call("POST", f"{server}/v1/messages", data=json.dumps(body))

    assert status == 200
    assert text.count("event: ping") >= 3  # the one after message_start, then idle ones
    assert "event: message_stop" in text


def test_mid_stream_failure_is_an_error_event(server: str, fake: FakeCopilot) -> None:
    fake.cut_stream_after = 1
    body = {"model": "gpt-4.1", "max_tokens": 50, "stream": True, "messages": HELLO}
    _, _, text = call("POST", f"{server}/v1/messages", data=json.dumps(body))

    assert "event: message_stop" not in text
    last = text.strip().split("\n\n")[-1].split("\n")
    assert last[0] == "event: error"
    assert json.loads(last[1].removeprefix("data: "))["error"]["type"] == "api_error"


def test_sdk_raises_on_a_broken_stream(claude: anthropic.Anthropic, fake: FakeCopilot) -> None:
    fake.cut_stream_after = 1
    with pytest.raises(anthropic.APIStatusError):
        with claude.messages.stream(model="claude-sonnet-4", max_tokens=100, messages=HELLO) as stream:
            "".join(stream.text_stream)


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({"model": "gpt-4.1", "messages": HELLO}, 400, "invalid_request_error"),  # no max_tokens
        ({"model": "gpt-4.1", "max_tokens": 10, "messages": [{"role": "robot", "content": "x"}]},
         400, "invalid_request_error"),
        ({"model": "gpt-4.1", "max_tokens": 10, "messages": HELLO, "tool_choice": {"type": "tool"}},
         400, "invalid_request_error"),
        ({"model": "gpt-9000", "max_tokens": 10, "messages": HELLO}, 400, "invalid_request_error"),
    ],
)
def test_errors_are_in_anthropics_format(server: str, body: dict, status: int, kind: str) -> None:
    got, _, answer = call("POST", f"{server}/v1/messages", data=json.dumps(body))
    assert got == status
    assert answer["type"] == "error" and answer["error"]["type"] == kind and answer["error"]["message"]


def test_upstream_rate_limit_in_anthropics_format(claude: anthropic.Anthropic, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=429, body="slow down", content_type="text/plain", headers={"Retry-After": "3"})
    with pytest.raises(anthropic.RateLimitError) as raised:
        claude.messages.create(model="gpt-4.1", max_tokens=10, messages=HELLO)
    assert raised.value.response.headers["retry-after"] == "3"


def test_count_tokens(claude: anthropic.Anthropic, fake: FakeCopilot) -> None:
    small = claude.messages.count_tokens(model="gpt-4.1", messages=HELLO)
    large = claude.messages.count_tokens(
        model="gpt-4.1", system="be brief", tools=[WEATHER],
        messages=[{"role": "user", "content": "hello there " * 200}],
    )

    assert 0 < small.input_tokens < large.input_tokens
    assert fake.recorded("chat") == []  # counted locally, costs no request


def test_token_estimate_never_falls_short_of_the_reference_tokenizer() -> None:
    # Reference counts measured with the Claude tokenizer by bench/token_estimate.py.
    samples = json.loads((Path(__file__).parent / "data" / "token_reference.json").read_text())
    for sample in samples:
        estimate = estimate_text_tokens(sample["text"])
        assert estimate >= sample["reference_tokens"], sample["name"]  # no shortfall at all
        assert estimate <= 1.6 * sample["reference_tokens"], sample["name"]  # nor far too high


def test_count_includes_every_part_of_a_request() -> None:
    text_only = {"messages": [{"role": "user", "content": "hi"}]}
    with_image = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi"}, {"type": "image", "source": {"type": "url", "url": "u"}}]}]}
    with_tools = {**text_only, "tools": [WEATHER], "system": "be brief"}

    assert count_input_tokens(with_image) > count_input_tokens(text_only) + 1000
    assert count_input_tokens(with_tools) > count_input_tokens(text_only) + 20


def test_async_client(server: str) -> None:
    async def main() -> str:
        async with anthropic.AsyncAnthropic(base_url=server, api_key="unused") as client:
            async with client.messages.stream(model="gpt-4.1", max_tokens=50, messages=HELLO) as stream:
                return "".join([t async for t in stream.text_stream])

    started = time.monotonic()
    assert asyncio.run(main()) == "echo: hello there"
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("asked", "used", "route"),
    [
        ("claude-sonnet-4-20250514", "claude-sonnet-4", "messages"),  # Anthropic's dated name
        ("claude-sonnet-4-latest", "claude-sonnet-4", "messages"),
        ("gpt-4o-2024-11-20", "gpt-4o", "chat"),  # a dated OpenAI name: Copilot's `version`
    ],
)
def test_model_names_as_their_makers_write_them(
    claude: anthropic.Anthropic, fake: FakeCopilot, asked: str, used: str, route: str
) -> None:
    message = claude.messages.create(model=asked, max_tokens=50, messages=HELLO)

    assert message.content[-1].text == "echo: hello there"
    assert fake.recorded(route)[-1].body["model"] == used


def test_model_name_resolution() -> None:
    from colalamo._upstream.model_names import resolve_model
    from colalamo.testing.catalogue import default_models

    models = default_models() + [{"id": "claude-3.5-sonnet", "version": "claude-3.5-sonnet"}]
    assert resolve_model("claude-3-5-sonnet-20241022", models) == "claude-3.5-sonnet"
    assert resolve_model("o3-mini-2025-01-31", models) == "o3-mini"
    assert resolve_model("gpt-4.1", models) == "gpt-4.1"
    assert resolve_model("no-such-model-20250101", models) == "no-such-model-20250101"  # Copilot decides


def test_anthropic_sdk_lists_models(claude: anthropic.Anthropic) -> None:
    models = list(claude.models.list())
    assert "claude-sonnet-4" in [m.id for m in models]
    assert claude.models.retrieve("claude-sonnet-4").display_name == "Claude Sonnet 4"


def test_blocks_chat_completions_cannot_carry_are_refused_not_dropped(
    claude: anthropic.Anthropic, fake: FakeCopilot
) -> None:
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "the contract"}}
    question = {"role": "user", "content": [document, {"type": "text", "text": "summarise"}]}
    with pytest.raises(anthropic.BadRequestError) as raised:
        claude.messages.create(model="gpt-4.1", max_tokens=50, messages=[question])
    assert "document blocks cannot be sent" in raised.value.body["error"]["message"]
    assert fake.recorded("chat") == []
