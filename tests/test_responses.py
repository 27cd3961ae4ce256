"""The OpenAI Responses API through colalamo, driven by the OpenAI SDK."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest
from helpers import call, metric

from colalamo._state.responses import ResponseStore
from colalamo.testing import FakeCopilot

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_text_response(client: openai.OpenAI, fake: FakeCopilot) -> None:
    response = client.responses.create(model="gpt-4.1", input="hello there", instructions="be brief")

    assert response.object == "response" and response.status == "completed"
    assert response.output_text == "echo: hello there"
    assert response.output[0].type == "message" and response.output[0].content[0].type == "output_text"
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert fake.recorded("chat")[-1].body["messages"][0] == {"role": "system", "content": "be brief"}


def test_items_input_with_an_image(client: openai.OpenAI, fake: FakeCopilot) -> None:
    response = client.responses.create(
        model="gpt-4.1",
        input=[{"role": "user", "content": [
            {"type": "input_text", "text": "what is this?"},
            {"type": "input_image", "image_url": "https://example.com/cat.png"},
        ]}],
        max_output_tokens=50,
        temperature=0.3,
    )

    assert response.output_text == "echo: what is this? [image: https://example.com/cat.png]"
    sent = fake.recorded("chat")[-1]
    assert sent.headers["Copilot-Vision-Request"] == "true"
    assert sent.body["max_tokens"] == 50 and sent.body["temperature"] == 0.3


def test_previous_response_id_continues_the_conversation(client: openai.OpenAI, fake: FakeCopilot) -> None:
    first = client.responses.create(model="gpt-4.1", input="my name is Ada", instructions="be brief")
    second = client.responses.create(model="gpt-4.1", input="what is my name?", previous_response_id=first.id)

    assert second.output_text == "echo: what is my name?"
    assert second.previous_response_id == first.id
    assert fake.recorded("chat")[-1].body["messages"] == [
        {"role": "user", "content": "my name is Ada"},  # earlier instructions do not carry over
        {"role": "assistant", "content": "echo: my name is Ada"},
        {"role": "user", "content": "what is my name?"},
    ]


def test_unknown_previous_response_is_404(client: openai.OpenAI, fake: FakeCopilot) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.responses.create(model="gpt-4.1", input="hi", previous_response_id="resp_unknown")
    assert raised.value.code == "previous_response_not_found"
    assert fake.recorded("chat") == []


def test_store_false_is_not_remembered(client: openai.OpenAI) -> None:
    first = client.responses.create(model="gpt-4.1", input="hi", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="gpt-4.1", input="again", previous_response_id=first.id)


def test_function_tools_round_trip(client: openai.OpenAI, fake: FakeCopilot) -> None:
    first = client.responses.create(model="gpt-4.1", input='get_weather {"city": "Paris"}', tools=[WEATHER])
    (call,) = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}

    second = client.responses.create(
        model="gpt-4.1", tools=[WEATHER], previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )
    assert second.output_text == "echo: the tool said sunny"
    sent = fake.recorded("chat")[-1].body["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call.call_id
    assert sent[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "sunny"}


def test_function_call_items_in_the_input(client: openai.OpenAI, fake: FakeCopilot) -> None:
    client.responses.create(
        model="gpt-4.1", tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"},
        input=[
            {"role": "user", "content": "Paris"},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
    )
    sent = fake.recorded("chat")[-1].body
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "tool"]


def test_incomplete_when_out_of_tokens(client: openai.OpenAI) -> None:
    response = client.responses.create(model="gpt-4.1", input="hello there", max_output_tokens=1)
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"


def test_streaming_with_the_sdk_helper(client: openai.OpenAI) -> None:
    with client.responses.stream(model="gpt-4.1", input="hello there") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert "".join(deltas) == "echo: hello there"
    assert final.output_text == "echo: hello there" and final.status == "completed"
    assert final.usage.output_tokens == 3


def test_streamed_function_calls(client: openai.OpenAI) -> None:
    prompt = 'get_weather {"city": "Paris"}'
    events = list(client.responses.create(model="gpt-4.1", input=prompt, tools=[WEATHER], stream=True))

    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(done.arguments) == {"city": "Paris"}
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_stream_event_order_for_text(server: str) -> None:
    body = {"model": "gpt-4.1", "input": "hello there", "stream": True}
    _, _, text = call("POST", f"{server}/v1/responses", data=json.dumps(body))

    names = [block.split("\n")[0].removeprefix("event: ") for block in text.strip().split("\n\n")]
    assert names == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
        "response.output_text.delta", "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed",
    ]


def test_streamed_response_can_be_continued(client: openai.OpenAI) -> None:
    with client.responses.stream(model="gpt-4.1", input="first") as stream:
        first = stream.get_final_response()
    second = client.responses.create(model="gpt-4.1", input="second", previous_response_id=first.id)
    assert second.output_text == "echo: second"


@pytest.mark.parametrize("model", ["gpt-4.1", "gpt-5.4"], ids=["translated", "native"])
def test_mid_stream_failure_is_response_failed_and_counted(client: openai.OpenAI, fake: FakeCopilot, server: str,
                                                           model: str) -> None:
    fake.cut_stream_after = 1
    events = list(client.responses.create(model=model, input="hello there", stream=True))

    if model == "gpt-4.1":  # translated: colalamo ends the response it was building
        assert events[-1].type == "response.failed"
        assert events[-1].response.status == "failed" and events[-1].response.error.message
    else:  # passed through: Copilot's stream broke, and an `error` event says so
        assert events[-1].type == "error" and "mid-stream" in events[-1].message
    # a failure like any other stream's: in the metrics, whichever way the stream ended
    assert metric(call("GET", f"{server}/metrics")[2], "colalamo_upstream_errors_total", status="502") == 1


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "gpt-4.1"}, "input"),
        ({"input": [{"type": "no_such_item"}]}, "input[0].type"),
        ({"input": "x", "tools": [{"name": "untyped"}]}, "tools[0].type"),
        ({"input": "x", "tools": [{"type": "custom"}]}, "tools[0].name"),
        ({"input": [{"type": "item_reference"}]}, "input[0].id"),
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}, "input[0].content"),
    ],
)
def test_bad_requests(server: str, body: dict, param: str) -> None:
    status, _, answer = call("POST", f"{server}/v1/responses", data=json.dumps(body))
    assert status == 400 and answer["error"]["param"] == param


def test_store_is_bounded_in_size_and_time() -> None:
    now = [0.0]
    store = ResponseStore(max_entries=2, ttl=10, clock=lambda: now[0])
    for name in ("a", "b", "c"):
        asyncio.run(store.put(name, [{"role": "user", "content": name}]))

    assert asyncio.run(store.get("a")) is None and asyncio.run(store.get("c")) is not None and len(store) == 2
    now[0] = 11
    assert asyncio.run(store.get("c")) is None
