"""The OpenAI SDK's features through colalamo: tools, structured output, vision, n, params,
embeddings, legacy completions, models."""

from __future__ import annotations

import json

import numpy as np
import openai
import pytest
from helpers import USER_HELLO, call
from pydantic import BaseModel

from colalamo.testing import FakeCopilot

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}},
}
PARIS = [{"role": "user", "content": "Paris"}]
# the fake calls the tools a prompt names, with the JSON that follows the name as arguments
ASK_WEATHER = [{"role": "user", "content": 'get_weather {"city": "Paris"}'}]
ASK_BOTH = [{"role": "user", "content": 'get_weather {"city": "Paris"} and get_time {"tz": "Paris"}'}]


class Weather(BaseModel):
    city: str
    degrees: int
    sunny: bool


# tools -------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-4.1", "claude-sonnet-4"])
def test_tool_call_round_trip(client: openai.OpenAI, fake: FakeCopilot, model: str) -> None:
    first = client.chat.completions.create(model=model, messages=ASK_WEATHER, tools=[WEATHER])

    choice = first.choices[0]
    assert len(first.choices) == 1  # Claude's split choices are joined again
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    second = client.chat.completions.create(
        model=model,
        tools=[WEATHER],
        messages=[
            *ASK_WEATHER,
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "22 degrees"},
        ],
    )
    assert second.choices[0].message.content == "echo: the tool said 22 degrees"
    sent = fake.recorded("chat")[-1]
    assert sent.body["messages"][1]["tool_calls"][0]["id"] == call.id
    assert sent.headers["X-Initiator"] == "agent"


@pytest.mark.parametrize("model", ["gpt-4.1", "claude-sonnet-4"])
def test_streamed_parallel_tool_calls_arrive_one_per_delta(client: openai.OpenAI, model: str) -> None:
    chunks = list(client.chat.completions.create(model=model, messages=ASK_BOTH, tools=[WEATHER, TIME], stream=True))

    calls: dict[int, dict] = {}
    for chunk in chunks:
        assert len(chunk.choices) == 1 and chunk.choices[0].index == 0
        deltas = chunk.choices[0].delta.tool_calls or []
        assert len(deltas) <= 1  # LlamaIndex reads only the first
        for delta in deltas:
            if delta.index not in calls:  # the first fragment names the call
                assert delta.id and delta.type == "function" and delta.function.name
                calls[delta.index] = {"name": delta.function.name, "arguments": ""}
            calls[delta.index]["arguments"] += delta.function.arguments or ""
    assert [c["name"] for c in calls.values()] == ["get_weather", "get_time"]
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    assert json.loads(calls[1]["arguments"]) == {"tz": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_choice_and_parallel_tool_calls_are_passed(client: openai.OpenAI, fake: FakeCopilot) -> None:
    named = client.chat.completions.create(
        model="gpt-4.1", messages=PARIS, tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    single = client.chat.completions.create(
        model="gpt-4.1", messages=ASK_BOTH, tools=[WEATHER, TIME], parallel_tool_calls=False
    )
    none = client.chat.completions.create(model="gpt-4.1", messages=PARIS, tools=[WEATHER], tool_choice="none")

    assert [c.function.name for c in named.choices[0].message.tool_calls] == ["get_time"]
    assert len(single.choices[0].message.tool_calls) == 1
    assert none.choices[0].message.content == "echo: Paris" and not none.choices[0].message.tool_calls
    assert fake.recorded("chat")[1].body["parallel_tool_calls"] is False


def test_chat_completions_stream_helper_with_tools(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model="gpt-4.1", messages=ASK_WEATHER, tools=[WEATHER]) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.name == "get_weather"

    with client.chat.completions.stream(model="gpt-4.1", messages=USER_HELLO) as stream:
        text = "".join(e.delta for e in stream if e.type == "content.delta")
    assert text == "echo: hello there"


# structured output, params ------------------------------------------------------------------


def test_parse_with_a_pydantic_model(client: openai.OpenAI) -> None:
    completion = client.chat.completions.parse(
        model="gpt-4.1", messages=[{"role": "user", "content": "Lyon"}], response_format=Weather
    )
    assert completion.choices[0].message.parsed == Weather(city="Lyon", degrees=1, sunny=True)


def test_json_object_mode(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4.1", messages=USER_HELLO, response_format={"type": "json_object"}
    )
    assert json.loads(completion.choices[0].message.content) == {"echo": "hello there"}


def test_n_choices_non_streaming_and_streaming(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, n=3)
    assert [c.index for c in whole.choices] == [0, 1, 2]

    texts: dict[int, str] = {}
    for chunk in client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, n=2, stream=True):
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
    assert texts == {0: "echo: hello there", 1: "echo: hello there"}


def test_stop_seed_logprobs_and_max_tokens_are_honoured(client: openai.OpenAI, fake: FakeCopilot) -> None:
    stopped = client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, stop=["there"], seed=7)
    limited = client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, max_completion_tokens=1)
    scored = client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, logprobs=True)

    assert stopped.choices[0].message.content == "echo: hello "
    assert fake.recorded("chat")[0].body["seed"] == 7
    assert limited.choices[0].finish_reason == "length"
    assert fake.recorded("chat")[1].body["max_tokens"] == 1  # renamed for a non-reasoning model
    assert [t.token for t in scored.choices[0].logprobs.content] == ["echo: ", "hello ", "there"]


def test_reasoning_model_parameters_are_adapted(client: openai.OpenAI, fake: FakeCopilot) -> None:
    completion = client.chat.completions.create(
        model="o3-mini",
        messages=[{"role": "system", "content": "be brief"}, *USER_HELLO],
        max_tokens=50,
        temperature=0.2,
    )

    assert completion.choices[0].message.content == "echo: hello there"
    sent = fake.recorded("chat")[-1].body
    assert sent["max_completion_tokens"] == 50 and "max_tokens" not in sent
    assert "temperature" not in sent
    assert sent["messages"][0]["role"] == "developer"


def test_reasoning_model_refuses_n_clearly(client: openai.OpenAI, fake: FakeCopilot) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="o3-mini", messages=USER_HELLO, n=2)
    assert raised.value.param == "n"
    assert fake.recorded("chat") == []


def test_developer_role_becomes_system_for_other_models(client: openai.OpenAI, fake: FakeCopilot) -> None:
    client.chat.completions.create(
        model="claude-sonnet-4", messages=[{"role": "developer", "content": "be brief"}, *USER_HELLO]
    )
    assert fake.recorded("chat")[-1].body["messages"][0]["role"] == "system"


# vision ------------------------------------------------------------------------------------

IMAGE = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPj/HwADAgH/"


@pytest.mark.parametrize("url", [IMAGE, "https://example.com/cat.png"])
def test_images_cross_with_the_vision_header(client: openai.OpenAI, fake: FakeCopilot, url: str) -> None:
    completion = client.chat.completions.create(
        model="gpt-4.1",
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": url}},
        ]}],
    )

    assert completion.choices[0].message.content == f"echo: what is this? [image: {url[:40]}]"
    sent = fake.recorded("chat")[-1]
    assert sent.headers["Copilot-Vision-Request"] == "true"
    assert sent.body["messages"][0]["content"][1]["image_url"]["url"] == url


def test_images_to_a_model_without_vision_are_refused_locally(client: openai.OpenAI, fake: FakeCopilot) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="o3-mini",
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": IMAGE}}]}],
        )
    assert "does not accept images" in raised.value.body["message"]
    assert fake.recorded("chat") == []


@pytest.mark.parametrize(
    ("patch", "param"),
    [
        ({"n": 0}, "n"),
        ({"temperature": 3}, "temperature"),
        ({"max_tokens": "many"}, "max_tokens"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"tools": [{"type": "function", "function": {"name": "has space"}}]}, "tools[0].function.name"),
        ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}]},
         "messages[0].content[0].image_url"),
        ({"messages": [{"role": "user", "content": None}]}, "messages[0].content"),
    ],
)
def test_invalid_parameters_are_400s_naming_the_field(server: str, fake: FakeCopilot, patch: dict, param: str) -> None:
    body = {"model": "gpt-4.1", "messages": USER_HELLO, **patch}
    status, _, answer = call("POST", f"{server}/v1/chat/completions", data=json.dumps(body))

    assert status == 400, answer
    assert answer["error"]["param"] == param
    assert fake.recorded("chat") == []


# embeddings ----------------------------------------------------------------------------------


def test_embeddings_with_the_sdks_default_base64_encoding(client: openai.OpenAI, fake: FakeCopilot) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input=["hello", "world"])

    assert [d.index for d in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 1536
    assert result.usage.total_tokens == 2
    assert abs(float(np.linalg.norm(result.data[0].embedding)) - 1.0) < 1e-5  # float32 decoded right
    assert "encoding_format" not in fake.recorded("embeddings")[-1].body


def test_embeddings_float_encoding_matches_base64(server: str, client: openai.OpenAI) -> None:
    as_base64 = client.embeddings.create(model="text-embedding-3-small", input="hello").data[0].embedding
    as_floats = {"model": "text-embedding-3-small", "input": "hello", "encoding_format": "float"}
    status, _, body = call("POST", f"{server}/v1/embeddings", data=json.dumps(as_floats))
    assert status == 200 and body["object"] == "list"
    assert np.allclose(body["data"][0]["embedding"], as_base64, atol=1e-6)


def test_embeddings_of_token_ids_with_dimensions_and_default_model(client: openai.OpenAI, fake: FakeCopilot) -> None:
    result = client.embeddings.create(model="", input=[[9906, 1917], [15339]], dimensions=64)

    assert len(result.data) == 2 and len(result.data[1].embedding) == 64
    sent = fake.recorded("embeddings")[-1].body
    assert sent["input"] == [[9906, 1917], [15339]]
    assert sent["model"] == "text-embedding-3-small"  # the first embeddings model of /models


@pytest.mark.parametrize(("bad", "param"), [({"input": ""}, "input"), ({"input": []}, "input"),
                                            ({"input": [["a"]]}, "input[0]"), ({}, "input"),
                                            ({"input": "x", "encoding_format": "hex"}, "encoding_format")])
def test_bad_embeddings_requests(server: str, bad: dict, param: str) -> None:
    status, _, body = call("POST", f"{server}/v1/embeddings", data=json.dumps(bad))
    assert (status, body["error"]["param"]) == (400, param), body


# legacy completions, models -----------------------------------------------------------------------


def test_legacy_completions(client: openai.OpenAI) -> None:
    single = client.completions.create(model="gpt-4.1", prompt="say hi")
    several = client.completions.create(model="gpt-4.1", prompt=["one", "two"], n=2)
    echoed = client.completions.create(model="gpt-4.1", prompt="say hi", echo=True)

    assert single.object == "text_completion"
    assert single.choices[0].text == "echo: say hi" and single.choices[0].finish_reason == "stop"
    assert [(c.index, c.text) for c in several.choices] == [
        (0, "echo: one"), (1, "echo: one"), (2, "echo: two"), (3, "echo: two")
    ]
    assert several.usage.total_tokens > single.usage.total_tokens
    assert echoed.choices[0].text == "say hiecho: say hi"


def test_legacy_completions_stream(client: openai.OpenAI) -> None:
    chunks = list(client.completions.create(
        model="gpt-4.1", prompt="say hi", stream=True, stream_options={"include_usage": True}
    ))

    assert "".join(c.choices[0].text for c in chunks if c.choices) == "echo: say hi"
    assert all(c.object == "text_completion" for c in chunks)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3


def test_model_retrieve(client: openai.OpenAI) -> None:
    model = client.models.retrieve("text-embedding-3-small")
    assert model.object == "model" and model.model_dump()["capabilities"]["type"] == "embeddings"
