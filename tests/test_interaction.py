"""Who started a call, as Copilot is told (protocol notes, section 8), end to end with the
request shapes real clients send (tests/data/clients): Claude Code's subagents (its hook's
marker, or a new conversation in a session already seen) and compaction calls are agent work
that bills no premium request; its warmup goes to a small unbilled model under the name it
asked for; a person's turn is still `user`; a call Copilot refused is not charged."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from helpers import USER_HELLO, call, get_json, sse_events

from colalamo.config import load_settings
from colalamo.testing import FakeCopilot, wait_until

CAPTURES = Path(__file__).parent / "data" / "clients"
NOT_FORWARDED = {"host", "content-length", "connection", "accept-encoding", "x-api-key"}
SUBAGENT_SESSION = "9f1c3c9e-1f0a-4a53-9d2b-0c7a2a4f7e11"
MARKER = ('<system-reminder>\nSubagentStart hook additional context: __SUBAGENT_MARKER__{"session_id":"'
          + SUBAGENT_SESSION + '","agent_id":"agent-1","agent_type":"Explore"}\n</system-reminder>')
SUBAGENT_SYSTEM = ("You are an agent for Claude Code, Anthropic's official CLI for Claude. Given the user's "
                   "message, you should use the tools available to complete the task.")
COMPACT_PROMPT = ("CRITICAL: Respond with TEXT ONLY. Do NOT call any tools.\n\nYour task is to create a detailed "
                  "summary of the conversation so far, paying close attention to the user's explicit requests.\n"
                  "Pending Tasks:\nCurrent Work:")
CONTINUATION = ("This session is being continued from a previous conversation that ran out of context. The summary "
                "below covers the earlier portion of the conversation.\n\nSummary: the user said hi.")


def claude_code(name: str = "claude") -> tuple[dict[str, Any], dict[str, str], str]:
    """Claude Code's first call as captured: its body, its headers, its session id."""
    capture = json.loads((CAPTURES / f"claude-code-messages-{name}.json").read_text())
    headers = {k: v for k, v in capture["headers"].items() if k.lower() not in NOT_FORWARDED}
    body = capture["body"]
    # On GPT models it puts a system message inside `messages`, which this surface does not take
    # (yet): it goes to the system prompt here, where the model sees it the same.
    inside = [m for m in body["messages"] if m["role"] == "system"]
    body["messages"] = [m for m in body["messages"] if m["role"] != "system"]
    body["system"] = [*body["system"], *({"type": "text", "text": m["content"]} for m in inside)]
    return body, headers, json.loads(body["metadata"]["user_id"])["session_id"]


def send(server: str, body: dict[str, Any], headers: dict[str, str], path: str = "/v1/messages?beta=true") -> Any:
    status, _, answer = call("POST", f"{server}{path}", data=json.dumps(body), headers=headers)
    assert status == 200, answer
    return answer


def sent_headers(fake: FakeCopilot) -> Any:
    return fake.requests[-1].headers


def premium_today(server: str) -> float:
    """Premium requests charged today, once every call is settled (a stream is, just after its
    last byte; until then it holds its estimated cost)."""
    wait_until(lambda: not any(get_json(f"{server}/usage")["colalamo"]["held_by_calls_in_flight"].values()), timeout=5)
    return get_json(f"{server}/usage")["colalamo"]["premium_requests_today"]


def with_first_text(body: dict[str, Any], text: str) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    changed["messages"][0]["content"].insert(0, {"type": "text", "text": text})
    return changed


def with_last_text(body: dict[str, Any], text: str) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    changed["messages"][-1]["content"][-1]["text"] = text
    return changed


def streamed_model(answer: str) -> str:
    start = next(json.loads(e) for e in sse_events(answer) if json.loads(e).get("type") == "message_start")
    return start["message"]["model"]


# a person's turn ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["claude", "gpt"])
def test_claude_codes_first_call_is_the_persons_turn_in_its_session(server: str, fake: FakeCopilot, name: str) -> None:
    body, headers, session = claude_code(name)
    send(server, body, headers)

    sent = sent_headers(fake)
    assert sent["X-Initiator"] == "user"
    assert sent["X-Interaction-Id"] == session
    assert sent["X-Interaction-Type"] == ("messages-proxy" if name == "claude" else "conversation-agent")


def test_a_plain_turn_is_the_persons_and_names_the_session_header(server: str, fake: FakeCopilot) -> None:
    with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0,
                       default_headers={"x-session-id": "ses_de99ce253ffe1jJ0MrykE4yXMv"}) as client:
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
        client.responses.create(model="gpt-5.4", input="hello there")

    for route in ("chat", "responses"):
        sent = fake.recorded(route)[-1].headers
        assert sent["X-Initiator"] == "user"
        assert sent["X-Interaction-Type"] == sent["Openai-Intent"] == "conversation-agent"
        assert sent["X-Interaction-Id"] == "ses_de99ce253ffe1jJ0MrykE4yXMv"


def test_a_session_id_that_is_no_header_value_is_refused(server: str, fake: FakeCopilot) -> None:
    body = {"model": "claude-sonnet-4", "max_tokens": 50, "messages": USER_HELLO,
            "metadata": {"user_id": json.dumps({"session_id": "x" * 300})}}
    with (anthropic.Anthropic(base_url=server, api_key="unused", max_retries=0) as claude,
          pytest.raises(anthropic.BadRequestError, match="session id")):
        claude.messages.create(**body)
    assert not fake.recorded("messages")


# subagents ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["claude", "gpt"])
def test_a_subagent_with_the_hooks_marker_is_agent_work_and_bills_nothing(server: str, fake: FakeCopilot,
                                                                          name: str) -> None:
    body, headers, _ = claude_code(name)
    send(server, with_first_text(body, MARKER), headers)

    sent = sent_headers(fake)
    assert sent["X-Initiator"] == "agent"
    assert sent["X-Interaction-Type"] == "conversation-subagent"
    assert sent["X-Interaction-Id"] == SUBAGENT_SESSION
    assert premium_today(server) == 0


def test_a_new_conversation_under_another_system_prompt_in_a_seen_session_is_a_subagent(
        server: str, fake: FakeCopilot) -> None:
    body, headers, session = claude_code("claude")
    subagent = copy.deepcopy(body)
    subagent["system"] = [body["system"][0], {"type": "text", "text": SUBAGENT_SYSTEM}]
    subagent["messages"] = [{"role": "user", "content": [{"type": "text", "text": "Find the config files"}]}]

    send(server, body, headers)  # the person's prompt: the session's main conversation
    send(server, subagent, headers)
    assert sent_headers(fake)["X-Initiator"] == "agent"
    assert sent_headers(fake)["X-Interaction-Type"] == "conversation-subagent"
    assert sent_headers(fake)["X-Interaction-Id"] == session

    send(server, body, headers)  # the person's prompt again (a retry): still theirs
    assert sent_headers(fake)["X-Initiator"] == "user"
    assert premium_today(server) == 2  # the two turns of the person, on a premium model

    other_session = copy.deepcopy(subagent)
    other_session["metadata"] = {"user_id": json.dumps({"session_id": "another-session"})}
    send(server, other_session, headers)  # unseen session: nothing says it is not a person's
    assert sent_headers(fake)["X-Initiator"] == "user"


# compaction ---------------------------------------------------------------------------------------


def _compaction_requests() -> dict[str, dict[str, Any]]:
    body, _, _ = claude_code("claude")
    summarising = copy.deepcopy(body)
    summarising["system"] = [{"type": "text", "text": "You are a helpful AI assistant tasked with summarizing "
                                                      "conversations in detail."}]
    history = copy.deepcopy(body)
    history["messages"] += [{"role": "assistant", "content": [{"type": "text", "text": "Hi!"}]},
                            {"role": "user", "content": [{"type": "text", "text": COMPACT_PROMPT}]}]
    return {
        "system prompt": summarising,
        "summary prompt": history,
        "continuation": with_last_text(body, CONTINUATION),
    }


@pytest.mark.parametrize("shape", list(_compaction_requests()))
def test_compaction_calls_are_agent_work_and_bill_nothing(server: str, fake: FakeCopilot, shape: str) -> None:
    _, headers, session = claude_code("claude")
    send(server, _compaction_requests()[shape], headers)

    sent = sent_headers(fake)
    assert sent["X-Initiator"] == "agent"
    assert sent["X-Interaction-Type"] == "conversation-compaction"
    assert sent["X-Interaction-Id"] == session
    assert premium_today(server) == 0


def test_a_persons_prompt_after_a_summary_is_theirs(server: str, fake: FakeCopilot) -> None:
    body, headers, _ = claude_code("claude")
    after = copy.deepcopy(body)
    after["messages"][0]["content"] = [{"type": "text", "text": CONTINUATION},
                                       {"type": "text", "text": "now add tests"}]
    send(server, after, headers)
    assert sent_headers(fake)["X-Initiator"] == "user"


# warmup -------------------------------------------------------------------------------------------


def _warmup(model: str = "claude-sonnet-4") -> dict[str, Any]:
    body, _, _ = claude_code("claude")
    warmup = {k: v for k, v in body.items() if k != "tools"}
    warmup["model"] = model
    warmup["messages"] = [{"role": "user", "content": [
        {"type": "text", "text": "Warmup", "cache_control": {"type": "ephemeral"}}]}]
    return warmup


@pytest.mark.parametrize("stream", [True, False])
def test_the_warmup_is_answered_by_an_unbilled_model_under_the_asked_name(server: str, fake: FakeCopilot,
                                                                           stream: bool) -> None:
    _, headers, _ = claude_code("claude")
    answer = send(server, {**_warmup(), "stream": stream}, headers)

    assert not fake.recorded("messages")
    assert fake.recorded("chat")[-1].body["model"] == "gpt-4.1"  # the first unbilled small model listed
    assert (streamed_model(answer) if stream else answer["model"]) == "claude-sonnet-4"
    assert premium_today(server) == 0


@pytest.mark.parametrize("stream", [True, False])
def test_the_small_model_setting_answers_the_warmup_natively_too(start_server, fake: FakeCopilot, stream: bool) -> None:
    server = start_server(small_model="claude-sonnet-4")
    _, headers, _ = claude_code("claude")
    answer = send(server, {**_warmup("gpt-4.1"), "stream": stream}, headers)

    assert fake.recorded("messages")[-1].body["model"] == "claude-sonnet-4"
    assert (streamed_model(answer) if stream else answer["model"]) == "gpt-4.1"


def test_an_empty_small_model_setting_leaves_the_warmup_alone(start_server, fake: FakeCopilot) -> None:
    assert load_settings(environ={"COLALAMO_SMALL_MODEL": ""}).small_model == ""  # set but empty: off
    assert load_settings(environ={}).small_model is None  # unset: pick one
    server = start_server(small_model="")
    _, headers, _ = claude_code("claude")
    send(server, _warmup(), headers)
    assert fake.recorded("messages")[-1].body["model"] == "claude-sonnet-4"


def test_a_warmup_with_tools_or_after_a_reply_is_no_warmup(server: str, fake: FakeCopilot) -> None:
    body, headers, _ = claude_code("claude")
    send(server, with_last_text(body, "Warmup"), headers)  # tools: Claude Code's real conversation
    later = _warmup()
    later["messages"] = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"},
                         {"role": "user", "content": "Warmup"}]
    send(server, later, headers)
    assert [r.body["model"] for r in fake.recorded("messages")] == ["claude-sonnet-4", "claude-sonnet-4"]
    assert not fake.recorded("chat")


# refused calls ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 500])
@pytest.mark.parametrize("stream", [True, False])
def test_a_call_copilot_refused_is_not_charged(server: str, fake: FakeCopilot, status: int, stream: bool) -> None:
    body, headers, _ = claude_code("claude")
    fake.fail_next("messages", status=status)
    data = json.dumps({**body, "stream": stream})
    status_seen, _, _ = call("POST", f"{server}/v1/messages", data=data, headers=headers)
    assert status_seen == status

    assert premium_today(server) == 0
    assert "colalamo_premium_requests_total{" not in call("GET", f"{server}/metrics")[2]
    send(server, body, headers)  # answered: charged
    assert premium_today(server) == 1
    metrics = call("GET", f"{server}/metrics")[2]
    assert 'colalamo_premium_requests_total{key="default",model="claude-sonnet-4"} 1.0' in metrics
