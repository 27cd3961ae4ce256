"""POST /v1/chat/completions, driven by the OpenAI SDK against the real server and the fake."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest
from helpers import USER_HELLO, call, sse_events

from colalamo.testing import FakeCopilot


def test_non_streaming_answer_is_an_openai_chat_completion(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.created > 0
    assert completion.model == "gpt-4.1-2025-04-14"  # Copilot's dated name, as OpenAI does
    assert completion.choices[0].index == 0
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.usage is not None
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_a_request_without_a_model_uses_the_configured_default(start_server, fake: FakeCopilot) -> None:
    url = start_server(model="gpt-4o")
    status, _, body = call("POST", f"{url}/v1/chat/completions", data=json.dumps({"messages": USER_HELLO}))

    assert status == 200
    assert body["model"] == "gpt-4o-2024-11-20"
    assert fake.recorded("chat")[-1].body["model"] == "gpt-4o"


def test_streaming_answer_is_clean_openai_sse(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, stream=True))

    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: hello there"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id
    assert len({c.created for c in chunks}) == 1 and chunks[0].created > 0
    # Copilot's prompt-filter chunk (empty choices) is gone; without include_usage no chunk
    # has empty choices, and no usage rides along.
    assert all(len(c.choices) == 1 and c.choices[0].index == 0 for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_usage_comes_last_only_when_asked_for(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4.1", messages=USER_HELLO, stream=True, stream_options={"include_usage": True}
        )
    )

    *content, last = chunks
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens == 3
    assert all(c.choices and c.usage is None for c in content)


def test_stream_wire_format_ends_with_done_and_closes(server: str) -> None:
    body = json.dumps({"model": "gpt-4.1", "messages": USER_HELLO, "stream": True})
    status, headers, text = call("POST", f"{server}/v1/chat/completions", data=body)

    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    events = sse_events(text)
    assert events[-1] == "[DONE]"
    for event in events[:-1]:
        chunk = json.loads(event)
        assert chunk["object"] == "chat.completion.chunk"
        assert all("index" in choice for choice in chunk["choices"])


def test_async_client_streams_and_answers(server: str) -> None:
    async def main() -> tuple[str, str]:
        async with openai.AsyncOpenAI(base_url=f"{server}/v1", api_key="unused") as client:
            whole = await client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
            stream = await client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO, stream=True)
            pieces = [chunk.choices[0].delta.content or "" async for chunk in stream]
            return whole.choices[0].message.content or "", "".join(pieces)

    whole, streamed = asyncio.run(main())
    assert whole == streamed == "echo: hello there"


def test_route_without_v1_prefix_works(server: str) -> None:
    with openai.OpenAI(base_url=server, api_key="unused") as client:
        completion = client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
    assert completion.choices[0].message.content == "echo: hello there"


def test_editor_headers_reach_copilot_and_no_token_leaks_into_the_body(
    client: openai.OpenAI, fake: FakeCopilot
) -> None:
    client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
    client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    first, second = fake.recorded("chat")
    for name in ("Copilot-Integration-Id", "Editor-Version", "Editor-Plugin-Version", "User-Agent",
                 "Openai-Intent", "X-GitHub-Api-Version"):
        assert first.headers.get(name), name
    assert first.headers["Authorization"].startswith("Bearer tid=")
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    assert first.headers["X-Initiator"] == "user"
    assert "Copilot-Vision-Request" not in first.headers
    assert "tid=" not in json.dumps(first.body) and "gho_" not in json.dumps(first.body)


def test_agent_turns_and_images_set_their_headers(client: openai.OpenAI, fake: FakeCopilot) -> None:
    client.chat.completions.create(
        model="gpt-4.1",
        messages=[
            {"role": "user", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]},
            {"role": "assistant", "content": "a picture"},
        ],
    )

    sent = fake.recorded("chat")[-1]
    assert sent.headers["Copilot-Vision-Request"] == "true"
    assert sent.headers["X-Initiator"] == "agent"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": ["hi"]}, "messages[0]"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 42}]}, "messages[0].content"),
        ({"messages": USER_HELLO, "stream": "yes"}, "stream"),
        ({"messages": USER_HELLO, "model": 4}, "model"),
    ],
)
def test_bad_requests_get_a_400_naming_the_field(server: str, fake: FakeCopilot, body: dict, param: str) -> None:
    status, _, answer = call("POST", f"{server}/v1/chat/completions", data=json.dumps(body))

    assert status == 400
    assert answer["error"]["param"] == param
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["message"]
    assert fake.recorded("chat") == []  # refused locally, never sent upstream


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_bodies_that_are_not_a_json_object_get_400(server: str, raw: bytes) -> None:
    status, _, answer = call("POST", f"{server}/v1/chat/completions", data=raw)

    assert status == 400
    assert set(answer["error"]) == {"message", "type", "param", "code"}


def test_sdk_raises_bad_request_for_a_bad_body(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4.1", messages=[{"role": "wizard", "content": "x"}])
    assert "role" in raised.value.message
