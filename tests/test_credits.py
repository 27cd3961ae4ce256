"""AI credits: what calls cost, counted per model, per key and per day; the credit budget with
reservation (and the premium budget's), under concurrency; the state file across restarts.

End-to-end tests run the OpenAI and Anthropic SDKs against the real server and the fake. This
fake sends no `copilot_usage` on its normal answers, so those calls settle by pricing their
token `usage`; answers carrying `copilot_usage` come from `Fault`s with status 200 (a whole
answer the test writes), until the fake sends it itself.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from helpers import USER_HELLO, call, get_json, metric

from colalamo import RateLimited
from colalamo._state.local import open_local_state
from colalamo._upstream.billing import Bill
from colalamo._upstream.context import CallContext
from colalamo._upstream.ledger import Ledger
from colalamo._upstream.pricing import (
    credits_from_usage,
    credits_of,
    estimate_credits,
    premium_cost,
    prompt_tokens,
    token_prices,
)
from colalamo.config import Settings
from colalamo.testing import FakeCopilot, running_server, wait_until
from colalamo.testing.catalogue import default_models

KEY_A, KEY_B = "key-a-0123456789abcdef", "key-b-0123456789abcdef"
MILLION = 1_000_000
PRICES = {  # credits per million tokens; gpt-4o has none (it costs nothing)
    "gpt-4.1": {"batch_size": MILLION, "default": {"input_price": 200, "cache_price": 50, "output_price": 800,
                                                   "context_max": 128000}},
    "claude-sonnet-4": {
        "batch_size": MILLION,
        "default": {"input_price": 300, "cache_price": 30, "output_price": 1500, "context_max": 200000},
        "long_context": {"input_price": 600, "cache_price": 60, "output_price": 2250, "context_max": 1000000},
    },
    "o3-mini": {"batch_size": MILLION, "default": {"input_price": 110, "cache_price": 55, "output_price": 440,
                                                   "context_max": 200000}},
}


def priced_models() -> list[dict[str, Any]]:
    """The fake's catalogue, with the 2026 `billing.token_prices`."""
    models = copy.deepcopy(default_models())
    for model in models:
        if model["id"] in PRICES:
            model["billing"]["token_prices"] = PRICES[model["id"]]
    return models


def info(model_id: str) -> dict[str, Any]:
    return next(m for m in priced_models() if m["id"] == model_id)


@pytest.fixture
def priced(fake: FakeCopilot) -> FakeCopilot:
    fake.models = priced_models()
    return fake


def _client(server: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0)


def _priced(model: str, usage: Any) -> float:
    """What the fake's answer costs, from the token counts it reported to the client."""
    prompt = getattr(usage, "prompt_tokens", None) or getattr(usage, "input_tokens", 0)
    output = getattr(usage, "completion_tokens", None) or getattr(usage, "output_tokens", 0)
    tier = PRICES[model]["default"]
    return (prompt * tier["input_price"] + output * tier["output_price"]) / MILLION


def _answer_costing(nano_aiu: int, model: str = "gpt-4.1") -> str:
    """A whole chat answer that carries `copilot_usage`, as Copilot's 2026 answers do."""
    return json.dumps({
        "id": "chatcmpl-credits", "created": 1767225600, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10},
        "copilot_usage": {"total_nano_aiu": nano_aiu, "token_details": []},
    })


# pricing arithmetic ---------------------------------------------------------------------------


def test_credits_of_reads_total_nano_aiu_else_sums_the_token_details() -> None:
    details = [  # the protocol notes' example: 8224 in, 0 cached, 347 out
        {"batch_size": 1000000, "cost_per_batch": 20000000000, "token_count": 8224, "token_type": "input"},
        {"batch_size": 1000000, "cost_per_batch": 2000000000, "token_count": 0, "token_type": "cache_read"},
        {"batch_size": 1000000, "cost_per_batch": 120000000000, "token_count": 347, "token_type": "output"},
    ]
    assert credits_of({"token_details": details, "total_nano_aiu": 206120000}) == pytest.approx(0.20612)
    assert credits_of({"token_details": details}) == pytest.approx(0.20612)
    assert credits_of({"total_nano_aiu": 0}) == 0
    for malformed in (None, "x", {}, {"total_nano_aiu": "12"}, {"total_nano_aiu": -1}, {"token_details": [{"x": 1}]},
                      {"total_nano_aiu": True}):
        assert credits_of(malformed) is None


def test_estimate_prices_the_prompt_and_the_output_limit() -> None:
    body = {"messages": USER_HELLO, "max_tokens": 1000}
    tokens = prompt_tokens(body)
    assert tokens > 0
    assert estimate_credits(info("gpt-4.1"), body) == pytest.approx((tokens * 200 + 1000 * 800) / MILLION)
    # no limit in the request: the model's own output limit (16384 for gpt-4.1)
    assert estimate_credits(info("gpt-4.1"), {"messages": USER_HELLO}) == pytest.approx(
        (tokens * 200 + 16384 * 800) / MILLION)
    for name in ("max_completion_tokens", "max_output_tokens"):
        assert estimate_credits(info("gpt-4.1"), {"messages": USER_HELLO, name: 10}) == pytest.approx(
            (tokens * 200 + 10 * 800) / MILLION)
    # a model without token prices costs nothing, whatever the request
    assert estimate_credits(info("gpt-4o"), body) == 0
    assert estimate_credits(None, body) == 0


def test_estimate_reads_every_formats_prompt_fields() -> None:
    text = "word " * 400
    chat = {"messages": [{"role": "user", "content": text}]}
    responses = {"input": text, "instructions": text}
    anthropic_body = {"messages": [{"role": "user", "content": text}], "system": text}
    with_tools = {**chat, "tools": [{"type": "function", "function": {"name": "f", "description": text}}]}
    assert prompt_tokens(responses) > prompt_tokens({"input": text}) >= 400
    assert prompt_tokens(anthropic_body) > prompt_tokens(chat) >= 400
    assert prompt_tokens(with_tools) > prompt_tokens(chat)


def test_long_context_prices_apply_past_the_default_context_max() -> None:
    prices = token_prices(info("claude-sonnet-4"))
    assert prices is not None
    assert prices.cost(input=200000, output=1000) == pytest.approx((200000 * 300 + 1000 * 1500) / MILLION)
    assert prices.cost(input=200001, output=1000) == pytest.approx((200001 * 600 + 1000 * 2250) / MILLION)
    assert prices.cost(input=150000, cached=60000) == pytest.approx((150000 * 600 + 60000 * 60) / MILLION)
    big = {"messages": [{"role": "user", "content": "word " * 220000}], "max_tokens": 10}
    tokens = prompt_tokens(big)
    assert tokens > 200000
    assert estimate_credits(info("claude-sonnet-4"), big) == pytest.approx((tokens * 600 + 10 * 2250) / MILLION)
    # a model with no long-context prices keeps its default ones
    assert token_prices(info("gpt-4.1")).cost(input=500000) == pytest.approx(500000 * 200 / MILLION)  # type: ignore[union-attr]


def test_malformed_token_prices_count_as_none() -> None:
    for raw in ({"batch_size": 0, "default": {"input_price": 1, "output_price": 1}},
                {"batch_size": 1000, "default": {"input_price": "1", "output_price": 1}},
                {"default": {"input_price": 1, "output_price": 1}}, "cheap", None):
        assert token_prices({"billing": {"token_prices": raw}}) is None
        assert estimate_credits({"billing": {"token_prices": raw}}, {"messages": USER_HELLO}) == 0


def test_credits_from_usage_prices_openai_and_anthropic_token_counts() -> None:
    gpt = info("gpt-4.1")
    assert credits_from_usage(gpt, {"prompt_tokens": 1000, "completion_tokens": 100}) == pytest.approx(
        (1000 * 200 + 100 * 800) / MILLION)
    # OpenAI counts cached tokens inside prompt_tokens
    cached = {"prompt_tokens": 1000, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 600}}
    assert credits_from_usage(gpt, cached) == pytest.approx((400 * 200 + 600 * 50 + 100 * 800) / MILLION)
    responses = {"input_tokens": 1000, "output_tokens": 100, "input_tokens_details": {"cached_tokens": 600}}
    assert credits_from_usage(gpt, responses) == pytest.approx((400 * 200 + 600 * 50 + 100 * 800) / MILLION)
    # Anthropic counts them apart
    claude = {"input_tokens": 400, "output_tokens": 100, "cache_read_input_tokens": 600,
              "cache_creation_input_tokens": 50}
    assert credits_from_usage(info("claude-sonnet-4"), claude) == pytest.approx(
        (450 * 300 + 600 * 30 + 100 * 1500) / MILLION)
    assert credits_from_usage(gpt, {}) is None
    assert credits_from_usage(gpt, None) is None
    assert credits_from_usage(info("gpt-4o"), {"prompt_tokens": 5}) == 0


def test_premium_cost_is_the_multiplier_of_a_persons_turn() -> None:
    assert premium_cost(info("claude-sonnet-4"), "user") == 1
    assert premium_cost(info("o3-mini"), "user") == pytest.approx(0.33)
    assert premium_cost(info("claude-sonnet-4"), "agent") == 0
    assert premium_cost(info("gpt-4.1"), "user") == 0


# the bill reads any format's answer -----------------------------------------------------------


@pytest.mark.parametrize("payloads", [
    # chat: usage and copilot_usage in the chunk with finish_reason
    [{"choices": [{"delta": {"content": "hi"}}]},
     {"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 9, "completion_tokens": 2},
      "copilot_usage": {"total_nano_aiu": 1_500_000_000}}],
    # Responses: in response.completed, at the top level
    [{"type": "response.output_text.delta", "delta": "hi"},
     {"type": "response.completed", "response": {"usage": {"input_tokens": 9, "output_tokens": 2}},
      "copilot_usage": {"total_nano_aiu": 1_500_000_000}}],
    # Anthropic: in the last message_delta
    [{"type": "message_start", "message": {"usage": {"input_tokens": 9, "output_tokens": 1}}},
     {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2},
      "copilot_usage": {"total_nano_aiu": 1_500_000_000}},
     {"type": "message_stop"}],
])
def test_the_bill_settles_what_copilot_usage_says_in_each_format(payloads: list[Any], tmp_path: Path) -> None:
    async def main() -> tuple[Ledger, CallContext, Bill]:
        ledger = Ledger(credit_budget=10)
        call = CallContext()
        bill = Bill(await ledger.admit("default", premium=0, credits=3), call, model="gpt-4.1", info=info("gpt-4.1"),
                    premium=0, estimate=3)
        async with bill:
            bill.answered()
            for payload in payloads:
                bill.observe(payload)
        return ledger, call, bill

    ledger, call, bill = asyncio.run(main())
    assert bill.usage["input_tokens" if "input_tokens" in bill.usage else "prompt_tokens"] == 9
    assert call.credits == pytest.approx(1.5) and call.billed_model == "gpt-4.1"
    today = asyncio.run(ledger.today())
    assert today["ai_credits_by_model"] == {"gpt-4.1": 1.5}
    assert today["held_by_calls_in_flight"] == {"premium_requests": 0, "ai_credits": 0}


def test_a_bill_without_copilot_usage_prices_the_usage_else_keeps_the_estimate(tmp_path: Path) -> None:
    async def settle(payloads: list[Any], answered: bool = True) -> float:
        ledger = Ledger(credit_budget=10)
        bill = Bill(await ledger.admit("k", premium=1, credits=3), CallContext(), model="gpt-4.1", info=info("gpt-4.1"),
                    premium=1, estimate=3)
        async with bill:
            if answered:
                bill.answered()
            for payload in payloads:
                bill.observe(payload)
        assert (await ledger.today("k"))["held_by_calls_in_flight"]["ai_credits"] == 0
        return ledger.credits_spent("k")

    assert asyncio.run(settle([{"usage": {"prompt_tokens": 1000, "completion_tokens": 1000}}])) == pytest.approx(1.0)
    assert asyncio.run(settle([{"choices": []}])) == 3  # nothing said what it cost: the estimate
    assert asyncio.run(settle([], answered=False)) == 0  # refused: nothing


# the ledger -----------------------------------------------------------------------------------


def test_reservations_hold_the_budget_until_settled_or_released(tmp_path: Path) -> None:
    async def main() -> None:
        ledger = Ledger(credit_budget=10, premium_budget=1)
        first = await ledger.admit("k", premium=0, credits=4)
        second = await ledger.admit("k", premium=0, credits=4)
        assert not await ledger.would_admit("k", premium=0, credits=4)  # 8 held: 4 more would pass 10
        with pytest.raises(RateLimited) as refused:
            await ledger.admit("k", premium=0, credits=4)
        assert refused.value.code == "credit_budget_exceeded"
        assert 0 < int(refused.value.headers["Retry-After"]) <= 86400
        assert await ledger.would_admit("other-key", premium=0, credits=4)  # per key
        assert await ledger.would_admit("k", premium=0, credits=0)  # free calls always pass

        second.release()
        second.release()  # idempotent
        await first.settle(model="gpt-4.1", credits=1, premium=0)
        await first.settle(model="gpt-4.1", credits=1, premium=0)  # charged once
        first.release()  # a no-op after settle
        assert ledger.credits_spent("k") == 1
        assert (await ledger.today("k"))["held_by_calls_in_flight"]["ai_credits"] == 0
        await ledger.admit("k", premium=0, credits=9)  # 1 spent + 9 = the budget: fits

        premium = await ledger.admit("k", premium=1, credits=0)
        with pytest.raises(RateLimited) as refused:
            await ledger.admit("k", premium=0.33, credits=0)
        assert refused.value.code == "premium_budget_exceeded"
        premium.release()
        await ledger.admit("k", premium=0.33, credits=0)

    asyncio.run(main())


def test_a_new_utc_day_starts_from_zero(tmp_path: Path) -> None:
    day = [dt.date(2026, 6, 1)]

    async def main() -> None:
        ledger = Ledger(credit_budget=5, today=lambda: day[0])
        held = await ledger.admit("k", premium=0, credits=2)
        await (await ledger.admit("k", premium=0, credits=3)).settle(model="m", credits=3, premium=0)
        assert not await ledger.would_admit("k", premium=0, credits=1)
        day[0] = dt.date(2026, 6, 2)
        assert await ledger.would_admit("k", premium=0, credits=5)
        await held.settle(model="m", credits=2, premium=0)  # answered after midnight: today's cost
        assert (await ledger.today("k"))["ai_credits_today"] == 2
        assert (await ledger.today("k"))["held_by_calls_in_flight"]["ai_credits"] == 0

    asyncio.run(main())


def test_the_database_keeps_both_units_for_every_process_and_reads_the_old_state_file(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    (tmp_path / "colalamo-state.json").write_text(json.dumps(  # an earlier version's: premium requests only
        {"day": today, "premium_requests": {"default": 1.5}}))

    async def opened(settings: Settings) -> tuple[Any, Ledger]:
        scope = open_local_state(settings)
        state = await scope.__aenter__()
        assert isinstance(state.budgets, Ledger)
        return scope, state.budgets

    async def main() -> None:
        settings = Settings(token_file=tmp_path / "github-token")
        (one_scope, one), (other_scope, other) = await opened(settings), await opened(settings)  # two workers
        assert one.spent("default") == 1.5 and other.spent("default") == 1.5  # imported once, not twice
        assert not (tmp_path / "colalamo-state.json").exists()
        await (await one.admit("key-1", premium=1, credits=2)).settle(model="gpt-4.1", credits=0.25, premium=1)
        held = [await other.admit("key-2", premium=0, credits=1) for _ in range(4)]
        await asyncio.gather(*(r.settle(model="o3-mini", credits=0.5, premium=0) for r in held))
        await one.sync()
        await other.sync()
        await one.sync()
        for ledger in (one, other):  # each sees the other's spending
            assert (await ledger.today())["ai_credits_by_key"] == {"key-1": 0.25, "key-2": 2.0}
            assert (await ledger.today())["premium_requests_by_key"] == {"default": 1.5, "key-1": 1}
        await one_scope.__aexit__(None, None, None)
        await other_scope.__aexit__(None, None, None)

        again_scope, again = await opened(settings)  # a restart
        assert (await again.today("key-2"))["ai_credits_by_model"] == {"o3-mini": 2.0}
        assert again.spent("key-1") == 1 and again.credits_spent("key-1") == 0.25
        await again_scope.__aexit__(None, None, None)

    asyncio.run(main())
    for name in ("colalamo.db", "colalamo.db-wal", "colalamo.db-shm", "colalamo-backoff"):
        if (tmp_path / name).exists():
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


# end to end: accounting -----------------------------------------------------------------------


def test_usage_shows_todays_credits_per_model_and_per_key(start_server, priced: FakeCopilot) -> None:
    server = start_server(api_keys=(KEY_A, KEY_B))
    with _client(server, KEY_A) as a, _client(server, KEY_B) as b:
        first = a.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
        second = a.chat.completions.create(model="o3-mini", messages=USER_HELLO)
        third = b.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
        b.chat.completions.create(model="gpt-4o", messages=USER_HELLO)  # no prices: free

    expected_a = {"gpt-4.1": _priced("gpt-4.1", first.usage), "o3-mini": _priced("o3-mini", second.usage)}
    usage = get_json(f"{server}/usage", KEY_A)
    mine = usage["colalamo"]
    assert mine["key"].startswith("key-") and KEY_A not in json.dumps(usage)
    assert mine["ai_credits_by_model"] == pytest.approx(expected_a)
    assert mine["ai_credits_today"] == pytest.approx(sum(expected_a.values()))
    assert mine["ai_credits_by_key"] == pytest.approx({
        mine["key"]: sum(expected_a.values()),
        get_json(f"{server}/usage", KEY_B)["colalamo"]["key"]: _priced("gpt-4.1", third.usage),
    })
    assert mine["day"] == dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert mine["held_by_calls_in_flight"] == {"premium_requests": 0, "ai_credits": 0}
    # next to the quota, which Copilot (the fake) lowered by what it billed, as colalamo counted
    assert usage["quotas"]["premium_interactions"]["remaining"] == pytest.approx(3830 - priced.credits_charged / 1e9)
    assert priced.credits_charged / 1e9 == pytest.approx(sum(expected_a.values()) + _priced("gpt-4.1", third.usage))
    assert mine["premium_requests_today"] == pytest.approx(0.33)


def test_streams_of_every_surface_are_charged(server: str, priced: FakeCopilot) -> None:
    with _client(server) as client:
        chunks = list(client.chat.completions.create(
            model="gpt-4.1", messages=USER_HELLO, stream=True, stream_options={"include_usage": True}))
    chat_cost = _priced("gpt-4.1", chunks[-1].usage)
    with anthropic.Anthropic(base_url=server, api_key="unused", max_retries=0) as claude:
        with claude.messages.stream(model="claude-sonnet-4", max_tokens=100, messages=USER_HELLO) as stream:
            message = stream.get_final_message()
    claude_cost = _priced("claude-sonnet-4", message.usage)

    def charged() -> bool:  # a stream is settled once it is done with: just after its last byte
        return get_json(f"{server}/usage")["colalamo"]["ai_credits_by_model"] == pytest.approx(
            {"gpt-4.1": chat_cost, "claude-sonnet-4": claude_cost})

    wait_until(charged, timeout=5)
    assert chat_cost > 0 and claude_cost > 0
    assert priced.recorded("messages")  # the native Anthropic endpoint answered that one


def test_metrics_count_ai_credits_per_model_and_key(server: str, priced: FakeCopilot) -> None:
    with _client(server) as client:
        answers = [client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO) for _ in range(2)]
        client.chat.completions.create(model="gpt-4o", messages=USER_HELLO)

    text = call("GET", f"{server}/metrics")[2]
    assert "# TYPE colalamo_ai_credits_total counter" in text
    assert metric(text, "colalamo_ai_credits_total", model="gpt-4.1", key="default") == pytest.approx(
        sum(_priced("gpt-4.1", a.usage) for a in answers))
    assert metric(text, "colalamo_ai_credits_total", model="gpt-4o") == 0


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_access_log_shows_credits(start_server, priced: FakeCopilot, caplog: pytest.LogCaptureFixture,
                                  log_format: str) -> None:
    caplog.set_level(logging.INFO, logger="colalamo.access")
    server = start_server(log_format=log_format)
    priced.fail_next("chat", status=200, body=_answer_costing(123_456_789))
    with _client(server) as client:
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    wait_until(lambda: "/v1/chat/completions" in caplog.text, timeout=5)
    line = next(r.getMessage() for r in caplog.records if "/v1/chat/completions" in r.getMessage())
    if log_format == "json":
        assert json.loads(line)["credits"] == pytest.approx(0.123457)
    else:
        assert "credits=0.123457" in line.split()


# end to end: budgets --------------------------------------------------------------------------


def test_credit_budget_refuses_past_the_budget(start_server, priced: FakeCopilot) -> None:
    body = {"messages": USER_HELLO, "max_tokens": 50}
    estimate = estimate_credits(info("gpt-4.1"), body)
    server = start_server(credit_budget=estimate * 1.001)  # one estimate fits, no more
    with _client(server) as client:
        client.chat.completions.create(model="gpt-4.1", **body)  # settles below its estimate, above 0
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="gpt-4.1", **body)
        assert client.chat.completions.create(model="gpt-4o", **body)  # no prices: never refused

    assert raised.value.code == "credit_budget_exceeded"
    assert "AI credits is used up" in raised.value.body["message"]
    assert 0 < int(raised.value.response.headers["retry-after"]) <= 86400
    assert [r.body["model"] for r in priced.recorded("chat")] == ["gpt-4.1", "gpt-4o"]

    with anthropic.Anthropic(base_url=server, api_key="unused", max_retries=0) as claude:  # Claude has prices too
        with pytest.raises(anthropic.RateLimitError) as refused:
            claude.messages.create(model="claude-sonnet-4", max_tokens=10000, messages=USER_HELLO)
    assert refused.value.body["error"]["type"] == "rate_limit_error"
    assert priced.recorded("messages") == []


def test_concurrent_requests_cannot_spend_past_the_credit_budget(start_server, priced: FakeCopilot) -> None:
    body = {"messages": USER_HELLO, "max_tokens": 1000}
    estimate = estimate_credits(info("gpt-4.1"), body)
    admitted = 3
    server = start_server(credit_budget=estimate * (admitted + 0.5))
    # each answer costs exactly its estimate, and is slow: without holds, all ten would be sent
    priced.fail_next("chat", status=200, body=_answer_costing(round(estimate * 1e9)), delay=0.3, times=10)

    async def main() -> list[Any]:
        async with openai.AsyncOpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:
            calls = [client.chat.completions.create(model="gpt-4.1", **body) for _ in range(10)]
            return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(main())
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert len(priced.recorded("chat")) == admitted
    assert len(refused) == 10 - admitted and all(r.code == "credit_budget_exceeded" for r in refused)
    colalamo = get_json(f"{server}/usage")["colalamo"]
    assert colalamo["ai_credits_today"] == pytest.approx(admitted * estimate, rel=1e-6)  # from copilot_usage
    assert colalamo["ai_credits_today"] <= colalamo["credit_budget"]


def test_concurrent_requests_cannot_spend_past_the_premium_budget(start_server, priced: FakeCopilot) -> None:
    server = start_server(premium_budget=1)
    priced.fail_next("chat", status=200, body=_answer_costing(0, "claude-sonnet-4"), delay=0.3, times=10)

    def ask() -> Any:
        with _client(server) as client:
            try:
                return client.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)
            except openai.RateLimitError as error:
                return error

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: ask(), range(10)))

    assert len(priced.recorded("chat")) == 1
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert len(refused) == 9 and {r.code for r in refused} == {"premium_budget_exceeded"}
    assert get_json(f"{server}/usage")["colalamo"]["premium_requests_today"] == 1


def test_past_the_credit_budget_the_fallback_model_answers(start_server, priced: FakeCopilot) -> None:
    body = {"messages": USER_HELLO, "max_tokens": 50}
    server = start_server(credit_budget=estimate_credits(info("gpt-4.1"), body) * 1.001,
                          budget_fallback_model="gpt-4o")
    with _client(server) as client:
        first = client.chat.completions.with_raw_response.create(model="gpt-4.1", **body)
        second = client.chat.completions.with_raw_response.create(model="gpt-4.1", **body)

    assert "x-colalamo-model-fallback" not in first.headers
    assert second.headers["x-colalamo-model-fallback"] == "gpt-4.1 -> gpt-4o"
    assert [r.body["model"] for r in priced.recorded("chat")] == ["gpt-4.1", "gpt-4o"]
    colalamo = get_json(f"{server}/usage")["colalamo"]
    assert list(colalamo["ai_credits_by_model"]) == ["gpt-4.1"]  # gpt-4o is free


def test_a_refused_call_costs_nothing_and_frees_its_hold(start_server, priced: FakeCopilot) -> None:
    body = {"messages": USER_HELLO, "max_tokens": 50}
    server = start_server(credit_budget=estimate_credits(info("gpt-4.1"), body) * 1.001, premium_budget=1)
    priced.fail_next("chat", status=500)
    priced.fail_next("messages", status=500)
    with _client(server) as client:
        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(model="gpt-4.1", **body)
        assert get_json(f"{server}/usage")["colalamo"]["ai_credits_today"] == 0
        assert client.chat.completions.create(model="gpt-4.1", **body)  # the hold was freed: this fits
    with anthropic.Anthropic(base_url=server, api_key="unused", max_retries=0) as claude:
        with pytest.raises(anthropic.APIStatusError):  # a premium model, natively: refused, not charged
            claude.messages.create(model="claude-sonnet-4", max_tokens=1, messages=USER_HELLO)
    colalamo = get_json(f"{server}/usage")["colalamo"]
    assert colalamo["premium_requests_today"] == 0 and list(colalamo["ai_credits_by_model"]) == ["gpt-4.1"]
    assert colalamo["held_by_calls_in_flight"] == {"premium_requests": 0, "ai_credits": 0}
    text = call("GET", f"{server}/metrics")[2]
    assert metric(text, "colalamo_premium_requests_total") == 0


def test_credits_survive_a_restart(priced: FakeCopilot, token_file: Path) -> None:
    body = {"messages": USER_HELLO, "max_tokens": 50}
    estimate = estimate_credits(info("gpt-4.1"), body)
    settings = priced.settings(token_file=token_file, credit_budget=estimate * 1.5)
    with running_server(settings) as server, _client(server) as client:
        priced.fail_next("chat", status=200, body=_answer_costing(round(estimate * 0.75e9)))
        client.chat.completions.create(model="gpt-4.1", **body)

    database = token_file.parent / "colalamo.db"  # the data directory defaults to the token's
    assert stat.S_IMODE(database.stat().st_mode) == 0o600

    with running_server(settings) as server, _client(server) as client:
        assert get_json(f"{server}/usage")["colalamo"]["ai_credits_today"] == pytest.approx(estimate * 0.75)
        with pytest.raises(openai.RateLimitError) as raised:  # 0.75 spent + 1 estimate > 1.5
            client.chat.completions.create(model="gpt-4.1", **body)
    assert raised.value.code == "credit_budget_exceeded"


def test_usage_command_and_library_show_todays_credits(priced: FakeCopilot, token_file: Path) -> None:
    settings = priced.settings(token_file=token_file)
    with running_server(settings) as server, _client(server) as client:
        priced.fail_next("chat", status=200, body=_answer_costing(2_500_000_000))
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    env = {**os.environ, **priced.env(), "COLALAMO_TOKEN_FILE": str(token_file), "COLALAMO_CREDIT_BUDGET": "10"}
    colalamo = shutil.which("colalamo") or "colalamo"
    table = subprocess.run([colalamo, "usage"], env=env, capture_output=True, text=True, timeout=60)
    as_json = subprocess.run([colalamo, "usage", "--json"], env=env, capture_output=True, text=True, timeout=60)

    assert table.returncode == 0, table.stderr
    lines = [line.split() for line in table.stdout.splitlines()]
    assert ["ai", "credits", "2.5", "of", "10", "a", "day"] in lines
    assert ["gpt-4.1", "2.5"] in lines and ["default", "2.5"] in lines
    today = json.loads(as_json.stdout)["colalamo"]
    assert today["ai_credits_by_model"] == {"gpt-4.1": 2.5} and today["credit_budget"] == 10

    from colalamo import Copilot

    with Copilot(settings) as copilot:
        assert copilot.usage()["colalamo"]["ai_credits_by_key"] == {"default": 2.5}


def test_a_client_that_hangs_up_while_copilot_works_is_charged_the_estimate(start_server, priced: FakeCopilot) -> None:
    body = {"messages": USER_HELLO, "max_tokens": 50}
    estimate = estimate_credits(info("gpt-4.1"), body)
    server = start_server(credit_budget=estimate * 1.5)
    priced.fail_next("chat", status=200, body=_answer_costing(1), delay=3)  # Copilot is slow
    with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0, timeout=0.5) as client:
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(model="gpt-4.1", **body)

    # Copilot got the request and may bill it: the hold becomes the charge
    wait_until(lambda: get_json(f"{server}/usage")["colalamo"]["ai_credits_today"] == pytest.approx(estimate),
               timeout=5)
    assert get_json(f"{server}/usage")["colalamo"]["held_by_calls_in_flight"]["ai_credits"] == 0
