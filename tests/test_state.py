"""State that outlives a process (issue 14, SQLite): real `colalamo serve` processes against
the fake, restarted, or run as `--workers 2` sharing one database and one back-off."""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
from helpers import COLALAMO, USER_HELLO, Served, call, closed_port

from colalamo.testing import FakeCopilot, wait_until


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def env(process_env: dict[str, str], data_dir: Path) -> dict[str, str]:
    return {**process_env, "COLALAMO_DATA_DIR": str(data_dir)}


@pytest.fixture
def serve(serve_process: Callable[..., Served], data_dir: Path) -> Callable[..., Served]:
    return functools.partial(serve_process, COLALAMO_DATA_DIR=str(data_dir))


def client(served: Served) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served.url}/v1", api_key="unused", max_retries=0)


def get(url: str) -> tuple[int, Any]:
    status, _, answer = call("GET", url)
    return status, answer


def rows(summary: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [row for row in summary["rows"] if all(row[k] == v for k, v in match.items())]


def test_a_restart_keeps_the_ledger_the_days_budget_and_the_stored_responses(
        serve: Callable[..., Served], env: dict[str, str], fake: FakeCopilot, data_dir: Path) -> None:
    first = serve(COLALAMO_PREMIUM_BUDGET="1")
    with client(first) as api:
        api.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)  # 1 premium request: all of it
        stored = api.responses.create(model="gpt-4.1", input="remember the number 42")
    assert first.stop() == 0

    again = serve(COLALAMO_PREMIUM_BUDGET="1")
    with client(again) as api:
        with pytest.raises(openai.RateLimitError) as refused:  # today's budget was kept
            api.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)
        continued = api.responses.create(model="gpt-4.1", input="which number?", previous_response_id=stored.id)
        referenced = api.responses.create(model="gpt-4.1", input=[
            {"type": "item_reference", "id": stored.output[0].id},
            {"type": "message", "role": "user", "content": "and now?"}])
    assert refused.value.code == "premium_budget_exceeded"
    assert continued.status == "completed" and continued.previous_response_id == stored.id
    assert referenced.status == "completed"
    sent = [json.dumps(r.body) for r in fake.recorded("chat")]
    assert "remember the number 42" in sent[-2]  # the earlier turn, from the database
    assert stored.output_text in sent[-1]  # the referenced item, from the database

    status, usage = get(f"{again.url}/usage?days=1")
    history = usage["history"]
    assert status == 200 and history["days"] == 1
    before = rows(history, model="claude-sonnet-4", client="openai-python")
    assert [(r["requests"], r["errors"], r["premium_requests"]) for r in before] == [(2, 1, 1)]  # across the restart
    assert rows(history, model="gpt-4.1")[0]["requests"] == 3
    assert usage["colalamo"]["premium_requests_today"] == 1

    files = sorted(p.name for p in data_dir.iterdir())  # while it runs: the WAL files too
    assert {"colalamo.db", "colalamo.db-wal", "colalamo.db-shm", "colalamo-backoff"} <= set(files)
    for name in files:
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    assert again.stop() == 0


def test_without_a_usable_data_directory_it_serves_and_keeps_state_in_memory(
        serve: Callable[..., Served], tmp_path: Path) -> None:
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("")
    served = serve(COLALAMO_DATA_DIR=str(not_a_directory))
    with client(served) as api:
        stored = api.responses.create(model="gpt-4.1", input="hello")
        continued = api.responses.create(model="gpt-4.1", input="again", previous_response_id=stored.id)
        assert continued.status == "completed"
    status, usage = get(f"{served.url}/usage?days=1")
    assert status == 200 and usage["history"]["rows"] == []
    assert "could not open its database" in usage["history"]["error"]
    assert served.stop() == 0
    assert "cannot open the database" in served.log and "kept in memory only" in served.log


def test_the_ledger_keeps_what_was_asked_and_answered_but_no_content(
        serve: Callable[..., Served], data_dir: Path) -> None:
    served = serve()
    with client(served) as api:
        api.chat.completions.create(model="claude-sonnet-4", messages=USER_HELLO)
        with pytest.raises(openai.BadRequestError):
            api.chat.completions.create(model="no-such-model", messages=USER_HELLO)
        api.responses.create(model="gpt-4.1", input="hello there")  # served on chat completions
    assert served.stop() == 0

    with sqlite3.connect(data_dir / "colalamo.db") as database:
        database.row_factory = sqlite3.Row
        found = [dict(row) for row in database.execute("SELECT * FROM requests ORDER BY at")]
    assert [(r["model_asked"], r["model_used"], r["status"]) for r in found] == [
        ("claude-sonnet-4", "claude-sonnet-4", 200), ("no-such-model", None, 400), ("gpt-4.1", "gpt-4.1", 200)]
    answered = found[0]
    assert answered["endpoint"] == "/chat/completions" and answered["initiator"] == "user"
    assert (found[2]["surface"], found[2]["endpoint"]) == ("responses", "/chat/completions")
    assert answered["interaction"] and answered["key_id"] == "default" and answered["client"] == "openai-python"
    assert answered["surface"] == "chat" and answered["premium"] == 1
    assert answered["prompt_tokens"] > 0 and answered["completion_tokens"] > 0 and answered["latency_ms"] > 0
    assert "hello there" not in json.dumps(found)


def test_usage_days_and_the_usage_command_summarise_per_day_model_key_and_client(
        serve: Callable[..., Served], env: dict[str, str]) -> None:
    served = serve()
    with client(served) as api:
        for _ in range(2):
            api.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
    async def from_curl() -> None:
        async with aiohttp.ClientSession(headers={"User-Agent": "curl/8.5.0"}) as http:
            async with http.post(f"{served.url}/v1/chat/completions",
                                 json={"model": "o3-mini", "messages": USER_HELLO}) as response:
                assert response.status == 200
    asyncio.run(from_curl())

    status, usage = get(f"{served.url}/usage?days=7")
    history = usage["history"]
    assert status == 200 and history["days"] == 7 and history["kept_days"] == 30
    assert rows(history, model="gpt-4.1", client="openai-python", key="default")[0]["requests"] == 2
    assert rows(history, model="o3-mini", client="curl")[0]["premium_requests"] == 0.33
    assert history["totals"]["requests"] == 3
    assert "history" not in get(f"{served.url}/usage")[1]  # only when asked for

    for bad in ("0", "-1", "seven", "1.5", "99999", ""):
        status, error = get(f"{served.url}/usage?days={bad}")
        assert status == 400, bad
        assert error["error"]["param"] == "days" and error["error"]["type"] == "invalid_request_error"
        assert "days must be a whole number" in error["error"]["message"]

    table = subprocess.run([COLALAMO, "usage", "--days", "7"], env=env, capture_output=True, text=True, timeout=60)
    as_json = subprocess.run([COLALAMO, "usage", "--days", "7", "--json"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert table.returncode == 0, table.stderr
    lines = [line.split() for line in table.stdout.splitlines()]
    assert any(line[1:5] == ["gpt-4.1", "default", "openai-python", "2"] for line in lines), table.stdout
    assert any(line[1:4] == ["o3-mini", "default", "curl"] for line in lines), table.stdout
    assert json.loads(as_json.stdout)["history"]["rows"] == history["rows"]

    refused = subprocess.run([COLALAMO, "usage", "--days", "none"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--days: must be a whole number of days" in refused.stderr
    assert served.stop() == 0


def test_history_older_than_the_days_kept_is_pruned(serve: Callable[..., Served], data_dir: Path) -> None:
    served = serve()
    with client(served) as api:
        api.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
    assert served.stop() == 0
    with sqlite3.connect(data_dir / "colalamo.db") as database:  # the same request, 5 and 40 days ago
        for days_ago in (5, 40):
            database.execute(
                "INSERT INTO requests SELECT at - ?, date(at - ?, 'unixepoch'), key_id, client, surface, model_asked, "
                "model_used, endpoint, initiator, interaction, status, prompt_tokens, completion_tokens, "
                "cached_tokens, credits, premium, latency_ms, ttft_ms FROM requests LIMIT 1",
                (days_ago * 86400, days_ago * 86400))
    database.close()

    again = serve(COLALAMO_HISTORY_DAYS="30")  # prunes as it starts

    def days_in(summary: dict[str, Any]) -> list[str]:
        return sorted({row["day"] for row in summary["rows"]})

    wait_until(lambda: len(days_in(get(f"{again.url}/usage?days=60")[1]["history"])) == 2, timeout=10)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert days_in(get(f"{again.url}/usage?days=6")[1]["history"])[-1] == today
    assert len(days_in(get(f"{again.url}/usage?days=1")[1]["history"])) == 1
    assert again.stop() == 0
    with sqlite3.connect(data_dir / "colalamo.db") as database:
        assert database.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 2  # the 40-day-old row went
    database.close()


def test_workers_share_the_back_off_after_a_429(serve: Callable[..., Served], fake: FakeCopilot) -> None:
    port = closed_port()
    served = serve("--port", str(port), "--workers", "2")
    wait_until(lambda: "(2 worker processes)" in "".join(served.stdout), timeout=30)
    fake.fail_next("chat", status=429, headers={"Retry-After": "60"},
                   body='{"error": {"message": "rate limited", "code": "rate_limited"}}')

    async def each_on_a_new_connection(times: int) -> list[tuple[int, int, str | None]]:
        answers = []
        for _ in range(times):  # a new connection each time: the kernel picks a worker
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{served.url}/health") as response:
                    pid = (await response.json())["pid"]
                async with http.post(f"{served.url}/v1/chat/completions",
                                     json={"model": "gpt-4.1", "messages": USER_HELLO}) as response:
                    body = await response.json()
                    answers.append((pid, response.status, (body.get("error") or {}).get("code")))
        return answers

    first = asyncio.run(each_on_a_new_connection(1))
    assert first[0][1] == 429 and len(fake.recorded("chat")) == 1  # Copilot's own 429
    answers = asyncio.run(each_on_a_new_connection(30))  # at once: each worker holds back

    assert {(status, code) for _, status, code in answers} == {(429, "upstream_backoff")}
    assert len(fake.recorded("chat")) == 1  # no worker sent another
    assert len({pid for pid, _, _ in answers}) == 2  # both were asked (30 connections, two workers)
    assert served.stop() == 0


def test_workers_share_the_days_budget_and_the_stored_responses(
        serve: Callable[..., Served], fake: FakeCopilot) -> None:
    port = closed_port()
    served = serve("--port", str(port), "--workers", "2", COLALAMO_PREMIUM_BUDGET="1")
    wait_until(lambda: "(2 worker processes)" in "".join(served.stdout), timeout=30)

    async def on_new_connections(times: int, method: str, path: str, body: Any = None) -> list[tuple[int, int, Any]]:
        answers = []
        for _ in range(times):  # a new connection each time: the kernel picks a worker
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{served.url}/health") as response:
                    pid = (await response.json())["pid"]
                async with http.request(method, f"{served.url}{path}", json=body) as response:
                    answers.append((pid, response.status, await response.json()))
        return answers

    premium = {"model": "claude-sonnet-4", "messages": USER_HELLO}
    assert asyncio.run(on_new_connections(1, "POST", "/v1/chat/completions", premium))[0][1] == 200

    def every_worker_counts_it() -> bool:  # each re-reads the day's counts within a second
        answers = asyncio.run(on_new_connections(12, "GET", "/usage"))
        counted = {a[2]["colalamo"]["premium_requests_today"] for a in answers}
        return counted == {1} and len({a[0] for a in answers}) == 2

    wait_until(every_worker_counts_it, timeout=10)
    refused = asyncio.run(on_new_connections(12, "POST", "/v1/chat/completions", premium))
    assert {(status, body["error"]["code"]) for _, status, body in refused} == {(429, "premium_budget_exceeded")}
    assert len({pid for pid, _, _ in refused}) == 2

    stored = asyncio.run(on_new_connections(1, "POST", "/v1/responses", {"model": "gpt-4.1", "input": "remember 42"}))
    first_id = stored[0][2]["id"]
    continued = asyncio.run(on_new_connections(12, "POST", "/v1/responses", {
        "model": "gpt-4.1", "input": "which number?", "previous_response_id": first_id}))
    assert {status for _, status, _ in continued} == {200}  # whichever worker answers has it
    assert len({pid for pid, _, _ in continued}) == 2
    assert all("remember 42" in json.dumps(r.body) for r in fake.recorded("chat")[-12:])
    assert served.stop() == 0
