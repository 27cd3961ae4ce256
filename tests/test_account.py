"""Protecting the Copilot account: premium accounting, quota, 429 back-off, rate limit, budgets."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
from pathlib import Path

import anthropic
import openai
import pytest
from helpers import COLALAMO, USER_HELLO, call, get_json, metric

from colalamo import RateLimited
from colalamo._upstream.guard import AccountBackoff, RateLimiter
from colalamo.testing import FakeCopilot, running_server, wait_until

KEY_A, KEY_B = "key-a-0123456789abcdef", "key-b-0123456789abcdef"


def _client(server: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0)


# premium accounting ---------------------------------------------------------------------------


def test_premium_requests_are_counted_by_model_multiplier_and_initiator(server: str, fake: FakeCopilot) -> None:
    with _client(server) as client:
        client.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)  # premium x1
        client.chat.completions.create(model="o3-mini", messages=USER_HELLO)  # premium x0.33
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)  # not premium
        client.chat.completions.create(  # an agent's follow-up: not billed
            model="claude-sonnet-4",
            messages=[*USER_HELLO, {"role": "assistant", "content": "hi"}],
        )

    text = call("GET", f"{server}/metrics")[2]
    assert metric(text, "colalamo_premium_requests_total", model="claude-sonnet-4", key="default") == 1
    assert metric(text, "colalamo_premium_requests_total", model="o3-mini") == pytest.approx(0.33)
    assert metric(text, "colalamo_premium_requests_total", model="gpt-4.1") == 0
    assert [r.headers["X-Initiator"] for r in fake.recorded("chat")] == ["user", "user", "user", "agent"]


def test_premium_cost_in_the_access_log_per_key(start_server, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="colalamo.access")
    server = start_server(api_keys=(KEY_A, KEY_B))
    with _client(server, KEY_A) as client:
        client.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)

    # the access line is written after the answer is sent: wait for it
    wait_until(lambda: "path=/v1/chat/completions" in caplog.text, timeout=5)
    line = next(r.getMessage() for r in caplog.records if "path=/v1/chat/completions" in r.getMessage())
    assert "premium=1.0" in line and "key=key-" in line
    assert KEY_A not in caplog.text


# quota ----------------------------------------------------------------------------------------


def test_usage_route_shows_the_accounts_quota(server: str, fake: FakeCopilot) -> None:
    usage = get_json(f"{server}/usage")

    assert usage["plan"] == "individual_pro" and usage["quota_reset_date"] == "2026-12-01"
    premium = usage["quotas"]["premium_interactions"]
    # in AI credits
    assert (premium["entitlement"], premium["remaining"], premium["percent_remaining"]) == (4000, 3830, 95.8)
    assert usage["quotas"]["chat"]["unlimited"] is True

    with _client(server) as client:
        client.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)
    usage = get_json(f"{server}/usage")
    assert fake.credits_charged > 0  # in nano-credits
    assert usage["quotas"]["premium_interactions"]["remaining"] == pytest.approx(3830 - fake.credits_charged / 1e9)
    assert usage["colalamo"]["premium_requests_today"] == 1


def test_usage_command_prints_a_table_and_json(fake: FakeCopilot, process_env: dict[str, str]) -> None:
    table = subprocess.run([COLALAMO, "usage"], env=process_env, capture_output=True, text=True, timeout=60)
    as_json = subprocess.run([COLALAMO, "usage", "--json"], env=process_env, capture_output=True, text=True, timeout=60)

    assert table.returncode == 0, table.stderr
    assert "individual_pro" in table.stdout and "2026-12-01" in table.stdout
    assert any(line.split()[-3:] == ["4000", "3830", "95.8%"] for line in table.stdout.splitlines())
    assert json.loads(as_json.stdout)["quotas"]["premium_interactions"]["remaining"] == 3830


def test_usage_command_shows_what_colalamo_counted_when_github_cannot_say(fake: FakeCopilot,
                                                                         process_env: dict[str, str]) -> None:
    fake.fail_next("user", status=503, body="unavailable", times=2)  # the quota call, table and JSON
    table = subprocess.run([COLALAMO, "usage", "--days", "7"], env=process_env, capture_output=True, text=True,
                           timeout=60)
    as_json = subprocess.run([COLALAMO, "usage", "--json"], env=process_env, capture_output=True, text=True,
                             timeout=60)

    assert table.returncode == 1 and as_json.returncode == 1  # scripts see the quotas are missing
    assert "quotas       unknown: GitHub could not be asked" in table.stdout
    assert "today (UTC)" in table.stdout and "history      the last 7 day(s)" in table.stdout
    assert "503" in table.stderr and "Traceback" not in table.stderr
    counted = json.loads(as_json.stdout)
    assert "503" in counted["quota_error"] and counted["colalamo"]["premium_requests_today"] == 0
    assert "quotas" not in counted


def test_usage_command_without_a_login_shows_what_colalamo_counted(fake: FakeCopilot, process_env: dict[str, str],
                                                                   serve_process) -> None:
    served = serve_process()
    with _client(served.url) as client:
        client.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)  # premium x1
    assert served.stop() == 0
    logged_out = {name: value for name, value in process_env.items() if name != "COLALAMO_GITHUB_TOKEN"}
    Path(process_env["COLALAMO_TOKEN_FILE"]).unlink(missing_ok=True)

    table = subprocess.run([COLALAMO, "usage"], env=logged_out, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=60)
    as_json = subprocess.run([COLALAMO, "usage", "--json"], env=logged_out, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=60)

    assert table.returncode == 1 and as_json.returncode == 1
    assert "quotas       unknown" in table.stdout and "colalamo login" in table.stderr
    counted = json.loads(as_json.stdout)
    assert counted["colalamo"]["premium_requests_today"] == 1 and "colalamo login" in counted["quota_error"]
    assert not fake.recorded("device_code")  # no login was started to show the counts


def test_usage_command_with_github_down_speaks_of_the_command_not_of_a_server(fake: FakeCopilot,
                                                                             process_env: dict[str, str]) -> None:
    fake.fail_next("token", status=503, body="unavailable", times=5)
    fake.fail_next("user", status=503, body="unavailable")

    result = subprocess.run([COLALAMO, "usage"], env=process_env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1 and "today (UTC)" in result.stdout
    assert "503" in result.stderr and "serving" not in result.stderr and "Traceback" not in result.stderr


# back-off -------------------------------------------------------------------------------------


def test_a_429_pauses_the_whole_account_then_recovers(server: str, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=429, body='{"error": {"message": "rate limited"}}', headers={"Retry-After": "1"})
    with _client(server) as client:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
        sent = len(fake.recorded("chat"))

        for _ in range(5):  # held back locally: nothing reaches Copilot
            with pytest.raises(openai.RateLimitError) as raised:
                client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
            assert raised.value.code == "upstream_backoff"
            assert raised.value.response.headers["retry-after"] == "1"
        assert len(fake.recorded("chat")) == sent

        def recovered() -> bool:
            try:
                return client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO) is not None
            except openai.RateLimitError:
                return False

        wait_until(recovered, timeout=5, interval=0.1)


def test_repeated_429s_widen_the_pause(server: str, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=429, body="slow down", content_type="text/plain", times=2)  # no Retry-After
    with _client(server) as client:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

        def second_429_reached_copilot() -> bool:
            try:
                client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
            except openai.RateLimitError as error:
                return error.code != "upstream_backoff"
            return False

        wait_until(second_429_reached_copilot, timeout=5, interval=0.05)
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
    assert raised.value.code == "upstream_backoff"
    assert raised.value.response.headers["retry-after"] == "2"  # 1 s, then 2 s


def test_backoff_doubles_up_to_its_cap_and_resets_on_success() -> None:
    now = [0.0]
    backoff = AccountBackoff(clock=lambda: now[0], cap=10)
    pauses: list[float] = []
    for _ in range(6):  # each 429 answers a request sent once the last pause had ended
        pauses.append(backoff.rate_limited({}, sent_at=now[0]))
        now[0] += pauses[-1]
    assert pauses == [1, 2, 4, 8, 10, 10]
    assert backoff.rate_limited({"Retry-After": "30"}, sent_at=now[0]) == 10  # capped, even when asked for more
    now[0] += 10
    backoff.succeeded()
    assert backoff.rate_limited({"Retry-After": "3"}, sent_at=now[0]) == 3
    with pytest.raises(RateLimited):
        backoff.check()
    now[0] += 100
    backoff.check()


# local rate limit -----------------------------------------------------------------------------------


def test_rate_limit_reject_mode(start_server, fake: FakeCopilot) -> None:
    server = start_server(rate_limit=2, rate_limit_mode="reject")
    with _client(server) as client:
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
        client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)

    assert raised.value.code == "local_rate_limit"
    assert 1 <= int(raised.value.response.headers["retry-after"]) <= 60
    assert len(fake.recorded("chat")) == 2


def test_rate_limit_wait_mode_queues_for_a_turn() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def main() -> None:
        limiter = RateLimiter(2, "wait", clock=lambda: now[0], sleep=sleep)
        await limiter.acquire()
        now[0] = 10
        await limiter.acquire()
        await limiter.acquire()  # the third in a minute waits for the first to age out
        await limiter.acquire()

    asyncio.run(main())
    assert slept == [50.0, 10.0]


# budgets --------------------------------------------------------------------------------------


def test_budget_refuses_premium_models_in_each_routes_format(start_server, fake: FakeCopilot) -> None:
    server = start_server(premium_budget=1)
    with _client(server) as client:
        client.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)
        assert raised.value.code == "premium_budget_exceeded"
        assert "budget of 1 premium requests is used up" in raised.value.body["message"]
        assert int(raised.value.response.headers["retry-after"]) <= 86400
        assert client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)  # not premium: fine
    with anthropic.Anthropic(base_url=server, api_key="unused", max_retries=0) as claude:
        with pytest.raises(anthropic.RateLimitError) as refused:
            claude.messages.create(model="claude-sonnet-4", max_tokens=10, messages=USER_HELLO)
        assert refused.value.body["error"]["type"] == "rate_limit_error"
    assert [r.body["model"] for r in fake.recorded("chat")] == ["claude-sonnet-4", "gpt-4.1"]
    assert fake.recorded("messages") == []


def test_budget_falls_back_to_a_cheaper_model(start_server, fake: FakeCopilot) -> None:
    server = start_server(premium_budget=1, budget_fallback_model="gpt-4.1")
    with _client(server) as client:
        client.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)
        raw = client.chat.completions.with_raw_response.create(model="claude-sonnet-4", messages=USER_HELLO)

    assert raw.headers["x-colalamo-model-fallback"] == "claude-sonnet-4 -> gpt-4.1"
    assert raw.parse().model == "gpt-4.1-2025-04-14"
    assert fake.recorded("chat")[-1].body["model"] == "gpt-4.1"


def test_budgets_are_per_key(start_server) -> None:
    server = start_server(premium_budget=1, api_keys=(KEY_A, KEY_B))
    with _client(server, KEY_A) as a, _client(server, KEY_B) as b:
        a.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)
        with pytest.raises(openai.RateLimitError):
            a.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)
        assert b.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)


def test_budget_counters_survive_a_restart(fake: FakeCopilot, token_file: Path) -> None:
    settings = fake.settings(token_file=token_file, premium_budget=1.5)
    with running_server(settings) as server, _client(server) as client:
        client.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)

    database = token_file.parent / "colalamo.db"  # the data directory defaults to the token's
    assert stat.S_IMODE(database.stat().st_mode) == 0o600

    with running_server(settings) as server, _client(server) as client:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)
        client.chat.completions.create(model="o3-mini", messages=USER_HELLO)  # 1 + 0.33 fits in 1.5


def test_a_pause_from_elsewhere_holds_back_until_its_wall_clock_end() -> None:
    now, wall = [100.0], [1_000_000.0]
    backoff = AccountBackoff(clock=lambda: now[0], wall_clock=lambda: wall[0], cap=300)
    backoff.hold_until(wall[0] - 5)  # over already: nothing
    backoff.check()
    backoff.hold_until(wall[0] + 30)
    with pytest.raises(RateLimited) as raised:
        backoff.check()
    assert raised.value.code == "upstream_backoff" and float(raised.value.headers["Retry-After"]) == 30
    assert backoff.wall_until == wall[0] + 30
    backoff.hold_until(wall[0] + 10)  # never shortens the pause under way
    now[0] += 29
    wall[0] += 29
    with pytest.raises(RateLimited):
        backoff.check()
    assert backoff.rate_limited({}, sent_at=now[0] - 1) == pytest.approx(1)  # sent during it: no wider
    now[0] += 1
    backoff.check()
