"""Copilot's refusals reach each client as the error its SDK raises and its code acts on:
context overflow (Claude Code compacts on Anthropic's own wording), no credits left (402,
never retried), and an endpoint a model does not take (never seen at all)."""

from __future__ import annotations

import re
from typing import Any

import anthropic
import openai
import pytest

from colalamo.testing import FakeCopilot

CHAT_ONLY, RESPONSES_ONLY, CLAUDE = "gpt-4.1", "gpt-5.3-codex", "claude-sonnet-4"
LONG = "word " * 400


@pytest.mark.parametrize("model", [CHAT_ONLY, RESPONSES_ONLY, CLAUDE])
def test_context_overflow_through_openai_routes(client: openai.OpenAI, fake: FakeCopilot, model: str) -> None:
    fake.set_limit(model, max_prompt_tokens=50)
    with pytest.raises(openai.BadRequestError) as chat:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": LONG}])
    assert chat.value.code == "context_length_exceeded"
    assert chat.value.body["param"] == "messages"  # type: ignore[index]
    assert "maximum context length is 50 tokens" in chat.value.message
    with pytest.raises(openai.BadRequestError) as responses:
        client.responses.create(model=model, input=LONG)
    assert responses.value.code == "context_length_exceeded"
    assert responses.value.body["param"] == "input"  # type: ignore[index]


@pytest.mark.parametrize("model", [CHAT_ONLY, RESPONSES_ONLY, CLAUDE])
@pytest.mark.parametrize("stream", [False, True])
def test_context_overflow_through_messages_speaks_claude_codes_language(
    server: str, fake: FakeCopilot, model: str, stream: bool
) -> None:
    fake.set_limit(model, max_prompt_tokens=50)
    client = anthropic.Anthropic(base_url=server, api_key="unused", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as caught:
        if stream:
            with client.messages.stream(model=model, max_tokens=10,
                                        messages=[{"role": "user", "content": LONG}]) as events:
                events.get_final_message()
        else:
            client.messages.create(model=model, max_tokens=10, messages=[{"role": "user", "content": LONG}])
    body: Any = caught.value.body
    assert body["error"]["type"] == "invalid_request_error"
    found = re.fullmatch(r"prompt is too long: (\d+) tokens > (\d+) maximum", body["error"]["message"])
    assert found, body["error"]["message"]
    assert int(found.group(2)) == 50 and int(found.group(1)) > 50


@pytest.mark.parametrize("model", [CHAT_ONLY, RESPONSES_ONLY, CLAUDE])
def test_no_credits_left_is_a_402_that_is_not_retried(server: str, fake: FakeCopilot, model: str) -> None:
    fake.out_of_credits = True
    chat = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=2)
    with pytest.raises(openai.APIStatusError) as caught:
        chat.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 402 and caught.value.code == "quota_exceeded"
    assert "no AI credits left" in caught.value.message
    assert caught.value.response.headers["x-should-retry"] == "false"
    messages = anthropic.Anthropic(base_url=server, api_key="unused", max_retries=2)
    with pytest.raises(anthropic.APIStatusError) as refused:
        messages.messages.create(model=model, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert refused.value.status_code == 402
    assert refused.value.body["error"]["type"] == "billing_error"  # type: ignore[index]
    calls = [r for r in fake.requests if r.route in ("chat", "responses", "messages")]
    assert len(calls) == 2, "each SDK asked once: a 402 is not worth retrying"


def test_a_stale_catalogue_never_shows_unsupported_api_for_model(server: str, fake: FakeCopilot) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)
    assert client.chat.completions.create(model=CHAT_ONLY, messages=[{"role": "user", "content": "hi"}])
    # Copilot moves gpt-4.1 to /responses only; colalamo's list still says chat
    entry = next(m for m in fake.models if m["id"] == CHAT_ONLY)
    entry["supported_endpoints"] = ["/responses"]
    reply = client.chat.completions.create(model=CHAT_ONLY, messages=[{"role": "user", "content": "again"}])
    assert reply.choices[0].message.content == "echo: again"
    assert [r.route for r in fake.requests if r.route in ("chat", "responses")] == ["chat", "chat", "responses"]
    assert len(fake.recorded("models")) == 2, "the list was fetched again once"
