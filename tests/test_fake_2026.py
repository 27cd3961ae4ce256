"""The fake Copilot speaks the 2026 wire: clients talk to it directly here, over HTTP, with the
OpenAI and Anthropic SDKs and plain httpx, as colalamo will (no colalamo in between)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from colalamo.testing import GITHUB_TOKEN, FakeCopilot, Fault, running_fake

Json = dict[str, Any]

HEADERS_2026 = {
    "Editor-Version": "vscode/1.118.0",
    "Editor-Plugin-Version": "copilot-chat/0.50.1",
    "User-Agent": "GitHubCopilotChat/0.50.1",
    "Copilot-Integration-Id": "vscode-chat",
    "X-GitHub-Api-Version": "2026-06-01",
}
GONE = ("bad request: the specified API version is no longer supported. "
        "You may need to update your client to a newer version.")
WEATHER = {"type": "function", "name": "get_weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TIME = {"type": "function", "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}
PATCH = {"type": "custom", "name": "apply_patch", "format": {"type": "text"}}
CHAT_WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER["parameters"]}}
CHAT_TIME = {"type": "function", "function": {"name": "get_time", "parameters": TIME["parameters"]}}
CLAUDE_WEATHER = {"name": "get_weather", "input_schema": WEATHER["parameters"]}
CLAUDE_TIME = {"name": "get_time", "input_schema": TIME["parameters"]}


def copilot_token(fake: FakeCopilot) -> str:
    reply = httpx.get(f"{fake.url}/copilot_internal/v2/token", headers={"Authorization": f"token {GITHUB_TOKEN}"})
    return str(reply.json()["token"])


@pytest.fixture
def api(fake: FakeCopilot) -> Iterator[httpx.Client]:
    """A raw client of the fake's Copilot API, with 2026 headers and a Copilot token."""
    headers = {**HEADERS_2026, "Authorization": f"Bearer {copilot_token(fake)}"}
    with httpx.Client(base_url=fake.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def oai(fake: FakeCopilot) -> Iterator[openai.OpenAI]:
    """The OpenAI SDK pointed straight at the fake (it parses the fake's shapes)."""
    with openai.OpenAI(base_url=fake.url, api_key=copilot_token(fake), default_headers=HEADERS_2026,
                       max_retries=0) as client:
        yield client


@pytest.fixture
def claude(fake: FakeCopilot) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake.url, auth_token=copilot_token(fake), default_headers=HEADERS_2026,
                             max_retries=0) as client:
        yield client


def sse(text: str) -> list[tuple[str | None, Any]]:
    """(event name, data) of each SSE event."""
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        data = lines.get("data")
        events.append((lines.get("event"), data if data == "[DONE]" else json.loads(data or "null")))
    return events


def expected_nano(fake: FakeCopilot, model_id: str, input_tokens: int, output_tokens: int) -> int:
    """`total_nano_aiu` worked out by hand from the model's published prices."""
    model = next(m for m in fake.models if m["id"] == model_id)
    prices = model["billing"]["token_prices"]["default"]
    credits = (input_tokens * prices["input_price"] + output_tokens * prices["output_price"]) / 1_000_000
    return round(credits * 1_000_000_000)


# the version gate ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/models", None),
        ("POST", "/chat/completions", {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}),
        ("POST", "/responses", {"model": "gpt-5.4", "input": "hi"}),
        ("POST", "/v1/messages",
         {"model": "claude-sonnet-4", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
        ("POST", "/embeddings", {"model": "text-embedding-3-small", "input": "hi"}),
    ],
)
def test_old_api_versions_get_466_on_every_copilot_route(
    api: httpx.Client, fake: FakeCopilot, method: str, path: str, body: Any
) -> None:
    fake.min_api_version = "2025-10-01"

    old = api.request(method, path, json=body, headers={"X-GitHub-Api-Version": "2025-04-01"})
    api.headers.pop("X-GitHub-Api-Version")
    missing = api.request(method, path, json=body)
    current = api.request(method, path, json=body, headers={"X-GitHub-Api-Version": "2025-10-01"})

    assert (old.status_code, old.text) == (466, GONE)
    assert (missing.status_code, missing.text) == (466, GONE)
    assert current.status_code == 200, current.text


def test_github_routes_keep_their_own_version_and_editor_header_is_still_checked(
    fake: FakeCopilot, api: httpx.Client
) -> None:
    fake.min_api_version = "2025-10-01"
    github = {"Authorization": f"token {GITHUB_TOKEN}", "X-GitHub-Api-Version": "2025-04-01"}

    assert httpx.get(f"{fake.url}/copilot_internal/v2/token", headers=github).status_code == 200
    user = httpx.get(f"{fake.url}/copilot_internal/user", headers=github)
    assert user.status_code == 200 and user.json()["token_based_billing"] is True
    api.headers.pop("Editor-Version")
    no_editor = api.get("/models")
    assert (no_editor.status_code, no_editor.text.strip()) == (
        400, "bad request: missing Editor-Version header for IDE auth")


# the catalogue -------------------------------------------------------------------------------


def test_catalogue_endpoints_and_billing(api: httpx.Client) -> None:
    models = {m["id"]: m for m in api.get("/models").json()["data"]}

    assert list(models) == ["gpt-4.1", "gpt-4o", "claude-sonnet-4", "o3-mini", "gpt-5.4", "gpt-5.3-codex",
                            "text-embedding-3-small"]
    for old in ("gpt-4.1", "gpt-4o", "o3-mini"):
        assert "supported_endpoints" not in models[old]
    assert models["claude-sonnet-4"]["supported_endpoints"] == ["/v1/messages", "/chat/completions"]
    assert models["gpt-5.4"]["supported_endpoints"] == ["/responses", "/chat/completions", "ws:/responses"]
    assert models["gpt-5.3-codex"]["supported_endpoints"] == ["/responses", "ws:/responses"]
    assert models["gpt-4.1"]["billing"] == {"is_premium": False, "multiplier": 0}
    assert models["o3-mini"]["billing"]["multiplier"] == 0.33
    assert models["claude-sonnet-4"]["capabilities"]["supports"]["thinking"] is True
    assert models["gpt-5.4"]["capabilities"]["supports"]["reasoning_effort"] == ["low", "medium", "high"]
    assert models["gpt-5.3-codex"]["capabilities"]["limits"]["max_output_tokens"] == 128000
    prices = models["gpt-5.4"]["billing"]["token_prices"]
    assert prices["batch_size"] == 1_000_000
    assert set(prices["default"]) == {"input_price", "cache_price", "output_price", "context_max"}
    for priced in ("o3-mini", "claude-sonnet-4", "gpt-5.4", "gpt-5.3-codex"):
        assert models[priced]["billing"]["is_premium"] is True and "token_prices" in models[priced]["billing"]
        limits = models[priced]["capabilities"]["limits"]
        assert limits["max_prompt_tokens"] <= limits["max_context_window_tokens"]


def test_token_prices_only_from_api_version_2026_06_01(api: httpx.Client) -> None:
    before = api.get("/models", headers={"X-GitHub-Api-Version": "2025-10-01"}).json()["data"]
    since = api.get("/models", headers={"X-GitHub-Api-Version": "2026-06-01"}).json()["data"]

    assert not any("token_prices" in m["billing"] for m in before)
    assert sum("token_prices" in m["billing"] for m in since) == 4
    assert before[4]["billing"]["multiplier"] == 1  # the rest of billing stays


# one endpoint per model ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "model", "body"),
    [
        ("/chat/completions", "gpt-5.3-codex", {"messages": [{"role": "user", "content": "hi"}]}),
        ("/responses", "gpt-4.1", {"input": "hi"}),  # no supported_endpoints: chat only
        ("/responses", "claude-sonnet-4", {"input": "hi"}),
        ("/v1/messages", "gpt-5.4", {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
    ],
)
def test_a_model_is_refused_on_an_endpoint_it_does_not_list(
    api: httpx.Client, fake: FakeCopilot, path: str, model: str, body: Json
) -> None:
    reply = api.post(path, json={"model": model, **body})

    assert reply.status_code == 400
    assert reply.json() == {"error": {"message": f'model "{model}" is not accessible via the {path} endpoint',
                                      "code": "unsupported_api_for_model"}}
    assert fake.credits_charged == 0


def test_unknown_models_are_not_supported_on_every_endpoint(api: httpx.Client) -> None:
    for path, body in [("/chat/completions", {"messages": []}), ("/responses", {"input": "hi"}),
                       ("/v1/messages", {"max_tokens": 5, "messages": []})]:
        reply = api.post(path, json={"model": "gpt-9000", **body})
        assert reply.status_code == 400 and json.loads(reply.text)["error"]["code"] == "model_not_supported"


# /responses ----------------------------------------------------------------------------------


def test_responses_whole_answer(oai: openai.OpenAI, fake: FakeCopilot) -> None:
    plain = oai.responses.create(model="gpt-5.4", input="hello there")
    hi = [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]
    summarised = oai.responses.create(model="gpt-5.3-codex", input=hi,
                                      instructions="be brief", reasoning={"effort": "high", "summary": "auto"},
                                      include=["reasoning.encrypted_content"], store=False, prompt_cache_key="k1")

    assert plain.object == "response" and plain.id.startswith("resp_") and plain.status == "completed"
    reasoning, message = plain.output
    assert reasoning.type == "reasoning" and reasoning.id.startswith("rs_") and reasoning.summary == []
    assert reasoning.encrypted_content is None  # only when `include` asks for it
    assert message.type == "message" and message.content[0].type == "output_text"
    assert message.content[0].annotations == []
    assert plain.output_text == "echo: hello there"
    usage = plain.usage
    assert usage.input_tokens_details.cached_tokens == 0 and usage.output_tokens_details.reasoning_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert summarised.output[0].summary[0].type == "summary_text" and summarised.output[0].summary[0].text
    assert summarised.output[0].encrypted_content
    assert summarised.output_text == "echo: hi"
    assert fake.recorded("responses")[-1].body["prompt_cache_key"] == "k1"


def test_responses_copilot_usage_is_the_price_of_the_tokens(api: httpx.Client, fake: FakeCopilot) -> None:
    answer = api.post("/responses", json={"model": "gpt-5.4", "input": "hello there"}).json()

    usage, billed = answer["usage"], answer["copilot_usage"]
    assert [(d["token_type"], d["token_count"]) for d in billed["token_details"]] == [
        ("input", usage["input_tokens"]), ("cache_read", 0), ("output", usage["output_tokens"])]
    assert {d["cost_per_batch"] for d in billed["token_details"]} == {
        250_000_000_000, 25_000_000_000, 1_500_000_000_000}
    assert all(d["batch_size"] == 1_000_000 and d["model"] == "gpt-5.4" for d in billed["token_details"])
    assert billed["total_nano_aiu"] == expected_nano(fake, "gpt-5.4", usage["input_tokens"], usage["output_tokens"])
    assert fake.credits_charged == billed["total_nano_aiu"]


def test_responses_stream_events_in_openais_order(api: httpx.Client, fake: FakeCopilot) -> None:
    body = {"model": "gpt-5.4", "input": "hello there", "stream": True, "reasoning": {"summary": "auto"}}
    reply = api.post("/responses", json=body)

    events = sse(reply.text)
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert all(name == data["type"] for name, data in events)
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    kinds = [data["type"] for _, data in events]
    summary_pieces = kinds.count("response.reasoning_summary_text.delta")
    assert summary_pieces > 0
    assert kinds == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_summary_part.added",
        *["response.reasoning_summary_text.delta"] * summary_pieces,
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * 3,
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed",
    ]
    deltas = [data["delta"] for _, data in events if data["type"] == "response.output_text.delta"]
    assert "".join(deltas) == "echo: hello there"
    assert [data["output_index"] for _, data in events if data["type"] == "response.output_item.added"] == [0, 1]
    completed = events[-1][1]
    assert completed["response"]["status"] == "completed" and completed["response"]["usage"]["output_tokens"] > 0
    assert "copilot_usage" not in completed["response"]  # it rides beside the response
    assert completed["copilot_usage"]["total_nano_aiu"] == fake.credits_charged > 0


def test_parallel_calls_stream_the_copilot_way(api: httpx.Client) -> None:
    prompt = 'get_weather {"city": "Paris"}, then get_time, and apply_patch "*** Begin Patch"'
    body = {"model": "gpt-5.3-codex", "input": prompt, "tools": [WEATHER, TIME, PATCH], "stream": True}
    reply = api.post("/responses", json=body)

    events = [data for _, data in sse(reply.text)]
    added = {e["output_index"]: e["item"] for e in events
             if e["type"] == "response.output_item.added" and e["item"]["type"] != "reasoning"}
    assert [item["type"] for item in added.values()] == ["function_call", "function_call", "custom_tool_call"]
    assert len({item["id"] for item in added.values()}) == 3
    kinds = [e["type"] for e in events]
    last_added = max(i for i, e in enumerate(events) if e["type"] == "response.output_item.added")
    deltas = [(i, e) for i, e in enumerate(events) if e["type"].endswith(("arguments.delta", "input.delta"))]
    assert min(i for i, _ in deltas) > last_added  # every call opens before any fragment
    order = [e["output_index"] for _, e in deltas]
    assert order == sorted(order) and len(set(order)) == 3  # call 0's fragments, then call 1's, then call 2's
    assert all(e["item_id"] == added[e["output_index"]]["id"] for _, e in deltas)
    assert max(i for i, _ in deltas) < kinds.index("response.function_call_arguments.done")
    final = {item["name"]: item for item in events[-1]["response"]["output"] if item["type"] != "reasoning"}
    assert json.loads(final["get_weather"]["arguments"]) == {"city": "Paris"}
    assert json.loads(final["get_time"]["arguments"]) == {"tz": prompt}  # made up from the schema
    assert final["apply_patch"]["input"] == "*** Begin Patch"
    for index, item in added.items():
        fragments = "".join(e.get("delta", "") for _, e in deltas if e["output_index"] == index)
        assert fragments == final[item["name"]].get("arguments", final[item["name"]].get("input"))


def test_the_openai_sdk_assembles_the_fakes_stream(oai: openai.OpenAI) -> None:
    with oai.responses.stream(model="gpt-5.4", input="get_weather and get_time for Paris", tools=[WEATHER, TIME],
                              reasoning={"summary": "detailed"}) as stream:
        final = stream.get_final_response()
    with oai.responses.stream(model="gpt-5.4", input="hello there") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")

    calls = [item for item in final.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].arguments) == {"city": "get_weather and get_time for Paris"}
    assert final.output[0].summary[0].text
    assert text == "echo: hello there"


def test_tool_outputs_structured_output_and_token_limit(oai: openai.OpenAI) -> None:
    first = oai.responses.create(model="gpt-5.4", input='apply_patch "*** Begin Patch"', tools=[PATCH], store=False)
    call = first.output[-1]
    after_custom = oai.responses.create(model="gpt-5.4", tools=[PATCH], store=False, input=[
        {"role": "user", "content": "patch it"}, call.model_dump(exclude_none=True),
        {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "Done!"}])
    after_function = oai.responses.create(model="gpt-5.4", tools=[WEATHER], input=[
        {"role": "user", "content": "get_weather"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"}])
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "degrees": {"type": "integer"}}}
    text_format = {"format": {"type": "json_schema", "name": "w", "schema": schema}}
    structured = oai.responses.create(model="gpt-5.4", input="Lyon", text=text_format)
    cut = oai.responses.create(model="gpt-5.4", input="one two three four", max_output_tokens=2)

    assert call.type == "custom_tool_call" and call.name == "apply_patch" and call.input == "*** Begin Patch"
    assert after_custom.output_text == "echo: the tool said Done!"
    assert after_function.output_text == "echo: the tool said sunny"
    assert json.loads(structured.output_text) == {"city": "Lyon", "degrees": 1}
    assert (cut.status, cut.incomplete_details.reason, cut.output_text) == (
        "incomplete", "max_output_tokens", "echo: one ")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"service_tier": "default"}, "service_tier is not supported"),
        ({"tools": [{"type": "namespace", "name": "multi_agent_v1", "tools": []}]},
         "unsupported tool type(s): namespace (multi_agent_v1)"),
        ({"tools": [WEATHER, {"type": "tool_search"}]}, "unsupported tool type(s): tool_search"),
        ({"input": [{"type": "telepathy"}]}, "Invalid input item type 'telepathy' at input[0]"),
    ],
)
def test_responses_requests_copilot_refuses(api: httpx.Client, extra: Json, message: str) -> None:
    reply = api.post("/responses", json={"model": "gpt-5.4", "input": "hi", **extra})

    assert reply.status_code == 400 and reply.json()["error"]["message"] == message


def test_codex_style_requests_are_accepted(api: httpx.Client, fake: FakeCopilot) -> None:
    body = {
        "model": "gpt-5.3-codex", "store": False, "stream": False, "parallel_tool_calls": True,
        "include": ["reasoning.encrypted_content"], "prompt_cache_key": "abc", "client_metadata": {"x": "y"},
        "reasoning": {"effort": "medium", "summary": "auto"}, "tool_choice": "auto",
        "tools": [{**WEATHER, "strict": False}, {"type": "web_search", "external_web_access": False},
                  {"type": "custom", "name": "apply_patch",
                   "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}],
        "input": [{"type": "message", "role": "developer", "id": "msg_1",
                   "content": [{"type": "input_text", "text": "rules"}]},
                  {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the bug"}]}],
    }
    reply = api.post("/responses", json=body)

    assert reply.status_code == 200, reply.text
    assert reply.json()["output"][-1]["content"][0]["text"] == "echo: fix the bug"
    assert fake.recorded("responses")[-1].body["client_metadata"] == {"x": "y"}


# reasoning items must come back as issued ---------------------------------------------------


def test_reasoning_items_are_verified(oai: openai.OpenAI, fake: FakeCopilot) -> None:
    first = oai.responses.create(model="gpt-5.4", input="hi", include=["reasoning.encrypted_content"], store=False)
    reasoning = first.output[0].model_dump(exclude_none=True)
    turn = [{"role": "user", "content": "hi"}, reasoning, *[o.model_dump(exclude_none=True) for o in first.output[1:]],
            {"role": "user", "content": "again"}]

    assert oai.responses.create(model="gpt-5.4", input=turn, store=False).output_text == "echo: again"
    assert fake.reasoning_items_received == 1
    altered = {**reasoning, "encrypted_content": reasoning["encrypted_content"][:-6] + "AAAAAA"}
    other_id = {**reasoning, "id": "rs_0123456789abcdef01234567"}
    for bad in (altered, other_id, {**reasoning, "encrypted_content": "gAAAAABmadeup"}):
        with pytest.raises(openai.BadRequestError) as refused:
            oai.responses.create(model="gpt-5.4", input=[bad, {"role": "user", "content": "again"}], store=False)
        assert refused.value.body == {"message": "Encrypted content could not be decrypted or parsed.",
                                      "code": "invalid_encrypted_content"}
    assert fake.reasoning_items_received == 1


def test_another_fakes_reasoning_is_refused(oai: openai.OpenAI) -> None:
    with running_fake() as other:
        foreign = openai.OpenAI(base_url=other.url, api_key=copilot_token(other), default_headers=HEADERS_2026)
        answer = foreign.responses.create(model="gpt-5.4", input="hi", include=["reasoning.encrypted_content"])
        issued = answer.output[0]

    returned = [issued.model_dump(exclude_none=True), {"role": "user", "content": "x"}]
    with pytest.raises(openai.BadRequestError, match="could not be decrypted"):
        oai.responses.create(model="gpt-5.4", input=returned)


def test_item_references_resolve_only_stored_items(oai: openai.OpenAI, fake: FakeCopilot) -> None:
    stored = oai.responses.create(model="gpt-5.4", input="hi")  # `store` defaults to true
    unstored = oai.responses.create(model="gpt-5.4", input="hi", store=False)

    follow_up = oai.responses.create(model="gpt-5.4", input=[
        {"role": "user", "content": "hi"}, *[{"type": "item_reference", "id": item.id} for item in stored.output],
        {"role": "user", "content": "more"}])
    assert follow_up.output_text == "echo: more"
    assert fake.reasoning_items_received == 1  # the reasoning item came back by reference
    for item in unstored.output:
        by_reference = [{"type": "item_reference", "id": item.id}, {"role": "user", "content": "x"}]
        with pytest.raises(openai.BadRequestError, match=f"Item with id '{item.id}' not found"):
            oai.responses.create(model="gpt-5.4", input=by_reference)
    without_content = unstored.output[0].model_dump(exclude_none=True)
    with pytest.raises(openai.BadRequestError, match="not found"):
        oai.responses.create(model="gpt-5.4", input=[without_content, {"role": "user", "content": "x"}])


# tools are called when the prompt names them -------------------------------------------------


def _calls(oai: openai.OpenAI, prompt: str, **options: Any) -> list[str]:
    reply = oai.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": prompt}], **options)
    return [c.function.name for c in reply.choices[0].message.tool_calls or []]


def test_chat_calls_the_tools_a_prompt_names(oai: openai.OpenAI) -> None:
    tools = [CHAT_WEATHER, CHAT_TIME]
    time_forced = {"type": "function", "function": {"name": "get_time"}}

    assert _calls(oai, "What is the weather in Paris?", tools=tools) == []  # not named: a text answer
    assert _calls(oai, "Use get_weather for Paris", tools=tools) == ["get_weather"]
    assert _calls(oai, "get_time first, then get_weather", tools=tools) == ["get_time", "get_weather"]
    assert _calls(oai, "get_time and get_weather", tools=tools, parallel_tool_calls=False) == ["get_time"]
    assert _calls(oai, "nothing named", tools=tools, tool_choice="required") == ["get_weather"]
    assert _calls(oai, "get_weather", tools=tools, tool_choice=time_forced) == ["get_time"]
    assert _calls(oai, "get_weather", tools=tools, tool_choice="none") == []
    assert _calls(oai, "my_get_weather_tool or get_weathers", tools=tools) == []  # whole words only
    reply = oai.chat.completions.create(model="gpt-4.1", tools=tools, messages=[
        {"role": "user", "content": "get_weather"},
        {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "rain"}])
    assert reply.choices[0].message.content == "echo: the tool said rain"


def test_messages_calls_named_tools_in_parallel_blocks(claude: anthropic.Anthropic, fake: FakeCopilot) -> None:
    ask = [{"role": "user", "content": 'get_weather {"city": "Rome"} and get_time'}]
    both = [CLAUDE_WEATHER, CLAUDE_TIME]
    plain = claude.messages.create(model="claude-sonnet-4", max_tokens=100, tools=[CLAUDE_WEATHER],
                                   messages=[{"role": "user", "content": "hi"}])
    single = claude.messages.create(model="claude-sonnet-4", max_tokens=100, tools=both, messages=ask,
                                    tool_choice={"type": "auto", "disable_parallel_tool_use": True})
    forced = claude.messages.create(model="claude-sonnet-4", max_tokens=100, tools=[CLAUDE_TIME],
                                    messages=[{"role": "user", "content": "x"}], tool_choice={"type": "any"})
    with claude.messages.stream(model="claude-sonnet-4", max_tokens=100, tools=both, messages=ask) as stream:
        final = stream.get_final_message()

    assert plain.stop_reason == "end_turn" and plain.content[0].text == "echo: hi"
    assert [b.name for b in single.content] == ["get_weather"] and single.content[0].input == {"city": "Rome"}
    assert [b.name for b in forced.content] == ["get_time"]
    assert [b.name for b in final.content] == ["get_weather", "get_time"] and final.stop_reason == "tool_use"


def test_gpt5_on_chat_takes_system_but_not_reasoning_effort_with_tools(oai: openai.OpenAI) -> None:
    system = oai.chat.completions.create(model="gpt-5.4", messages=[{"role": "system", "content": "be brief"},
                                                                   {"role": "user", "content": "hi"}])
    assert system.choices[0].message.content == "echo: hi"
    with pytest.raises(openai.BadRequestError, match="Please use /v1/responses instead"):
        oai.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "hi"}],
                                    tools=[CHAT_WEATHER], reasoning_effort="high")


# copilot_usage where section 7 puts it ------------------------------------------------------


def test_chat_copilot_usage_whole_and_streamed(api: httpx.Client, fake: FakeCopilot) -> None:
    body = {"model": "claude-sonnet-4", "messages": [{"role": "user", "content": "hello there"}]}
    whole = api.post("/chat/completions", json=body).json()
    chunks = [data for _, data in sse(api.post("/chat/completions", json={**body, "stream": True}).text)]
    free = api.post("/chat/completions", json={**body, "model": "gpt-4.1"}).json()

    usage = whole["usage"]
    priced = expected_nano(fake, "claude-sonnet-4", usage["prompt_tokens"], usage["completion_tokens"])
    assert whole["copilot_usage"]["total_nano_aiu"] == priced
    finish = next(c for c in chunks if c != "[DONE]" and c["choices"] and c["choices"][0].get("finish_reason"))
    assert finish["copilot_usage"] == {**whole["copilot_usage"]} and finish["usage"] == usage
    assert sum("copilot_usage" in c for c in chunks if c != "[DONE]") == 1
    assert free["copilot_usage"]["total_nano_aiu"] == 0  # included models cost nothing
    assert fake.credits_charged == 2 * whole["copilot_usage"]["total_nano_aiu"]


def test_messages_copilot_usage_whole_and_in_the_last_message_delta(api: httpx.Client, fake: FakeCopilot) -> None:
    body = {"model": "claude-sonnet-4", "max_tokens": 100, "messages": [{"role": "user", "content": "hello there"}]}
    whole = api.post("/v1/messages", json=body).json()
    events = sse(api.post("/v1/messages", json={**body, "stream": True}).text)

    usage = whole["usage"]
    priced = expected_nano(fake, "claude-sonnet-4", usage["input_tokens"], usage["output_tokens"])
    assert whole["copilot_usage"]["total_nano_aiu"] == priced
    deltas = [data for name, data in events if name == "message_delta"]
    assert deltas[-1]["copilot_usage"] == whole["copilot_usage"]
    assert "copilot_usage" not in events[0][1]["message"]
    assert [name for name, _ in events][-1] == "message_stop"


def test_user_quota_goes_down_by_the_credits_used(api: httpx.Client, fake: FakeCopilot) -> None:
    github = {"Authorization": f"token {GITHUB_TOKEN}"}
    user = f"{fake.url}/copilot_internal/user"
    before = httpx.get(user, headers=github).json()["quota_snapshots"]["premium_interactions"]
    api.post("/responses", json={"model": "gpt-5.4", "input": "hello " * 500}, headers={"X-Initiator": "agent"})
    after = httpx.get(user, headers=github).json()["quota_snapshots"]["premium_interactions"]

    assert before["entitlement"] == 4000 and before["token_based_billing"] is True
    assert after["remaining"] == pytest.approx(before["remaining"] - fake.credits_charged / 1e9)
    assert fake.credits_charged > 0  # agent calls are charged too


# errors on demand ----------------------------------------------------------------------------


def test_out_of_credits_is_402_everywhere_and_free(api: httpx.Client, fake: FakeCopilot) -> None:
    fake.out_of_credits = True
    hi = [{"role": "user", "content": "hi"}]
    for path, body in [("/chat/completions", {"model": "gpt-4.1", "messages": hi}),
                       ("/responses", {"model": "gpt-5.4", "input": "hi"}),
                       ("/v1/messages", {"model": "claude-sonnet-4", "max_tokens": 5, "messages": hi})]:
        reply = api.post(path, json=body)
        assert reply.status_code == 402 and "retry-after" not in reply.headers
        assert reply.json() == {"error": {"message": "You have no quota", "code": "quota_exceeded"}}
    assert fake.credits_charged == 0
    assert api.get("/models").status_code == 200


def test_prompts_over_the_models_limit_overflow(api: httpx.Client, fake: FakeCopilot) -> None:
    fake.set_limit("claude-sonnet-4", max_prompt_tokens=50)
    fake.set_limit("gpt-5.4", max_prompt_tokens=50)
    long = "word " * 100
    said_long = [{"role": "user", "content": long}]
    chat = api.post("/chat/completions", json={"model": "claude-sonnet-4", "messages": said_long})
    messages = api.post("/v1/messages", json={"model": "claude-sonnet-4", "max_tokens": 5, "messages": said_long})
    responses = api.post("/responses", json={"model": "gpt-5.4", "input": long})
    short = api.post("/responses", json={"model": "gpt-5.4", "input": "short"})

    for reply in (chat, messages):
        assert reply.status_code == 400
        error = reply.json()["error"]
        assert error["code"] == "model_max_prompt_tokens_exceeded"
        assert error["message"].startswith("prompt token count of ")
        assert error["message"].endswith(" exceeds the limit of 50")
        assert int(error["message"].split()[4]) > 100
    assert responses.status_code == 400
    assert responses.json() == {"error": {"code": "invalid_request_body", "message":
                                          "Your input exceeds the context window of this model. "
                                          "Please adjust your input and try again."}}
    assert short.status_code == 200
    assert fake.credits_charged == short.json()["copilot_usage"]["total_nano_aiu"]
    with pytest.raises(KeyError):
        fake.set_limit("gpt-9000", max_prompt_tokens=1)


def test_messages_refuses_server_tools_and_eager_streaming_but_takes_betas(api: httpx.Client) -> None:
    base = {"model": "claude-sonnet-4", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    web_fetch = {"type": "web_fetch_20250910", "name": "web_fetch"}
    server_tool = api.post("/v1/messages", json={**base, "tools": [CLAUDE_WEATHER, web_fetch]})
    eager = api.post("/v1/messages", json={**base, "tools": [{**CLAUDE_TIME, "eager_input_streaming": True}]})
    betas = api.post("/v1/messages", json={**base, "tools": [{**CLAUDE_WEATHER, "type": "custom"}],
                                           "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]}},
                     headers={"anthropic-beta": "context-management-2025-06-27,interleaved-thinking-2025-05-14"})

    assert server_tool.status_code == 400
    assert server_tool.json() == {"error": {"message": "rejected tool(s): web_fetch", "code": "invalid_request_body"}}
    assert eager.json()["error"]["message"] == "rejected tool(s): get_time"
    assert betas.status_code == 200 and betas.json()["content"][0]["text"] == "echo: hi"


def test_fail_next_and_records_cover_responses(api: httpx.Client, fake: FakeCopilot) -> None:
    fake.fail_next("responses", Fault(status=503))
    failed = api.post("/responses", json={"model": "gpt-5.4", "input": "hi"})
    worked = api.post("/responses", json={"model": "gpt-5.4", "input": "hi"})

    assert failed.status_code == 503 and "copilot_usage" not in failed.text
    assert worked.status_code == 200
    assert [r.body["input"] for r in fake.recorded("responses")] == ["hi", "hi"]
    assert fake.recorded("responses")[0].headers["X-GitHub-Api-Version"] == "2026-06-01"


def test_bodies_as_large_as_colalamo_accepts(api: httpx.Client) -> None:
    image = "data:image/png;base64," + "A" * (6 * 1024 * 1024)  # 6 MB, past aiohttp's 1 MB default
    content = [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": image}}]
    reply = api.post("/chat/completions", json={"model": "gpt-4.1", "messages": [{"role": "user", "content": content}]})

    assert reply.status_code == 200, reply.text[:200]
    assert reply.json()["choices"][0]["message"]["content"].startswith("echo: look [image: data:image/png;base64,AAA")


def test_python_dash_m_serves_the_2026_fake() -> None:
    command = [sys.executable, "-m", "colalamo.testing", "--min-api-version", "2025-10-01"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()  # blocks until the fake listens; pytest-timeout bounds it
            url = line.split(" at ", 1)[1].split()[0]  # "fake GitHub + Copilot at <url> (...)"
            github = {"Authorization": f"token {GITHUB_TOKEN}"}
            token = httpx.get(f"{url}/copilot_internal/v2/token", headers=github).json()["token"]
            authorised = {**HEADERS_2026, "Authorization": f"Bearer {token}"}
            old = httpx.get(f"{url}/models", headers={**authorised, "X-GitHub-Api-Version": "2025-05-01"})
            new = httpx.post(f"{url}/responses", headers=authorised, json={"model": "gpt-5.4", "input": "hi"})
            assert old.status_code == 466
            assert new.json()["output"][-1]["content"][0]["text"] == "echo: hi"
        finally:
            process.terminate()

