"""GET /v1/models and the legacy POST /ask."""

from __future__ import annotations

import json

import openai
import pytest
from helpers import USER_HELLO, call

from colalamo.testing import FakeCopilot


def test_models_list_has_openai_shape_and_keeps_copilots_fields(client: openai.OpenAI, fake: FakeCopilot) -> None:
    models = client.models.list().data

    assert [m.id for m in models] == [m["id"] for m in fake.models]
    first = models[0].model_dump()
    assert first["object"] == "model" and isinstance(first["created"], int)
    assert first["owned_by"] == "Azure OpenAI"
    assert first["name"] == "GPT-4.1"
    assert first["capabilities"]["limits"]["max_context_window_tokens"] == 128000


def test_models_are_cached(client: openai.OpenAI, fake: FakeCopilot) -> None:
    client.models.list()
    client.models.list()
    assert len(fake.recorded("models")) == 1


def test_one_model_and_an_unknown_one(client: openai.OpenAI) -> None:
    assert client.models.retrieve("claude-sonnet-4").id == "claude-sonnet-4"
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("gpt-9000")
    assert raised.value.code == "model_not_found"


def test_ask_answers_in_the_original_shape(server: str, fake: FakeCopilot) -> None:
    body = {"messages": USER_HELLO, "temperature": 0.6}
    status, _, answer = call("POST", f"{server}/ask", data=json.dumps(body))

    assert status == 200
    assert answer["reply"] == "echo: hello there"
    assert set(answer["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert fake.recorded("chat")[-1].body["temperature"] == 0.6


def test_ask_passes_an_upstream_error_on_with_reason_and_text(server: str, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=429, body="quota exceeded", content_type="text/plain", headers={"Retry-After": "5"})
    status, headers, answer = call("POST", f"{server}/ask", data=json.dumps({"messages": USER_HELLO}))

    assert status == 429
    assert answer == {"reason": "Too Many Requests", "text": "quota exceeded"}
    assert headers["Retry-After"] == "5"


@pytest.mark.parametrize("raw", [b"not json", b'{"messages": "hi"}', b"{}"])
def test_ask_refuses_bad_input_in_its_own_shape(server: str, raw: bytes) -> None:
    status, _, answer = call("POST", f"{server}/ask", data=raw)

    assert status == 400
    assert answer["reason"] == "Bad Request" and answer["text"]
