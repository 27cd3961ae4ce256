"""Several colalamo replicas sharing one Redis (COLALAMO_REDIS_URL), each a real `colalamo
serve` process in front of the fake Copilot, against a real redis-server: budgets, the 429
back-off, `previous_response_id` and a Redis that dies and comes back under load."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from helpers import USER_HELLO, Served

from colalamo.testing import FakeCopilot, wait_until, wait_until_async

INFERENCE_ROUTES = ("chat", "messages", "responses")


@pytest.fixture
def replicas(redis_server: Any, fake: FakeCopilot, tmp_path: Path) -> Iterator[Callable[..., list[Served]]]:
    """Start `n` replicas sharing the Redis, each with its own data directory; wait until each
    says Redis is up."""
    started: list[Served] = []

    def start(n: int = 2, **env: str) -> list[Served]:
        group = []
        for _ in range(n):
            home = tmp_path / f"replica{len(started)}"
            home.mkdir()
            full = {**os.environ, **fake.env(), "COLALAMO_TOKEN_FILE": str(home / "github-token"),
                    "COLALAMO_REDIS_URL": redis_server.url, **env}
            served = Served(["serve", "--port", "0"], full)
            started.append(served)
            group.append(served)
        for served in group:
            wait_until(lambda s=served: health(s.url).get("redis") == "up", timeout=10)
        return group

    yield start
    for served in started:
        served.stop()


def health(url: str) -> dict[str, Any]:
    return asyncio.run(_get_json(f"{url}/health"))


async def _get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return await response.json()


async def _post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(url, json=body) as response:
        if body.get("stream"):
            return response.status, await response.text()
        return response.status, await response.json()


def upstream_calls(fake: FakeCopilot) -> int:
    return sum(len(fake.recorded(route)) for route in INFERENCE_ROUTES)


def test_two_replicas_admit_exactly_the_premium_budget_between_them(replicas, fake: FakeCopilot) -> None:
    a, b = replicas(COLALAMO_PREMIUM_BUDGET="3")
    fake.piece_delay = 0.05  # the calls overlap: each holds the budget while it streams
    body = {"model": "claude-sonnet-4", "messages": USER_HELLO, "stream": True}

    async def main() -> list[tuple[int, Any]]:
        async with aiohttp.ClientSession() as http:
            calls = [_post(http, f"{(a, b)[n % 2].url}/v1/chat/completions", body) for n in range(12)]
            return await asyncio.gather(*calls)

    results = asyncio.run(main())
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 3 + [429] * 9, statuses
    assert all("premium_budget_exceeded" in str(text) for status, text in results if status == 429)
    assert upstream_calls(fake) == 3
    for served in (a, b):  # each replica's /usage shows the shared count (settlements are sent in batches)
        wait_until(lambda s=served: _premium_today(s.url) == 3, timeout=5, interval=0.02)


def _premium_today(url: str) -> float:
    usage = asyncio.run(_get_json(f"{url}/usage"))["colalamo"]
    assert usage["premium_budget"] == 3 and usage["held_by_calls_in_flight"]["premium_requests"] + \
        usage["premium_requests_today"] == 3  # held until settled, never more
    return usage["premium_requests_today"]


def test_a_429_seen_by_one_replica_holds_the_other_back_within_100_ms(replicas, fake: FakeCopilot) -> None:
    a, b = replicas()
    fake.fail_next("chat", status=429, body='{"error": {"message": "rate limited"}}', headers={"Retry-After": "30"})
    body = {"model": "gpt-4.1", "messages": USER_HELLO}

    async def main() -> float:
        async with aiohttp.ClientSession() as http:
            status, _ = await _post(http, f"{a.url}/v1/chat/completions", body)
            assert status == 429
            seen = time.monotonic()
            held: list[Any] = []

            async def b_holds_back() -> bool:
                status, answer = await _post(http, f"{b.url}/v1/chat/completions", body)
                if status == 429:
                    held.append(answer)
                return status == 429

            await wait_until_async(b_holds_back, timeout=2, interval=0.005)
            assert held[0]["error"]["code"] == "upstream_backoff"
            return time.monotonic() - seen

    calls_before = upstream_calls(fake)
    took = asyncio.run(main())
    assert took < 0.1, f"the other replica held back only after {took * 1000:.0f} ms"
    # what b answered while it held back never reached Copilot: at most the requests sent
    # in the moments before the pause reached it did
    assert upstream_calls(fake) - calls_before <= took / 0.005 + 1


def test_a_response_stored_through_one_replica_is_continued_through_the_other(replicas, fake: FakeCopilot) -> None:
    a, b = replicas()

    async def main() -> tuple[int, Any]:
        async with aiohttp.ClientSession() as http:
            status, first = await _post(http, f"{a.url}/v1/responses", {"model": "gpt-4.1", "input": "my name is Ada"})
            assert status == 200
            return await _post(http, f"{b.url}/v1/responses",
                               {"model": "gpt-4.1", "input": "what is my name?", "previous_response_id": first["id"]})

    status, second = asyncio.run(main())
    assert status == 200, second
    sent = fake.recorded("chat")[-1].body["messages"]  # b sent the whole conversation
    assert [m["content"] for m in sent if m["role"] == "user"] == ["my name is Ada", "what is my name?"]


def test_killing_redis_mid_load_loses_no_request_and_health_follows_it(replicas, fake: FakeCopilot,
                                                                        redis_server: Any) -> None:
    a, b = replicas(COLALAMO_PREMIUM_BUDGET="1000", COLALAMO_RATE_LIMIT="100000")
    bodies = [("/v1/chat/completions", {"model": "claude-sonnet-4", "messages": USER_HELLO}),
              ("/v1/chat/completions", {"model": "gpt-4.1", "messages": USER_HELLO, "stream": True}),
              ("/v1/responses", {"model": "gpt-4.1", "input": "hi"})]
    answered: list[int] = []

    async def load(http: aiohttp.ClientSession, worker: int, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            path, body = bodies[n % len(bodies)]
            status, answer = await _post(http, f"{(a, b)[(worker + n) % 2].url}{path}", body)
            assert status == 200, answer
            answered.append(status)
            n += 1

    async def main() -> None:
        stop = asyncio.Event()
        async with aiohttp.ClientSession() as http:
            workers = [asyncio.create_task(load(http, w, stop)) for w in range(4)]
            await wait_until_async(lambda: len(answered) >= 20 or any(w.done() for w in workers), timeout=30)
            redis_server.kill()
            killed_at = len(answered)
            for served in (a, b):
                await wait_until_async(lambda s=served: _redis_is(s.url, "down"), timeout=10)
                async with http.get(f"{served.url}/ready") as response:
                    assert response.status == 200  # Redis down: the replica still serves, on its own state
            await wait_until_async(lambda: len(answered) >= killed_at + 20 or any(w.done() for w in workers),
                                   timeout=30)
            redis_server.start()
            for served in (a, b):
                await wait_until_async(lambda s=served: _redis_is(s.url, "up"), timeout=10)
            restarted_at = len(answered)
            await wait_until_async(lambda: len(answered) >= restarted_at + 20 or any(w.done() for w in workers),
                                   timeout=30)
            stop.set()
            await asyncio.gather(*workers)  # raises if any request was not answered 200

    asyncio.run(main())
    assert len(answered) >= 60


async def _redis_is(url: str, state: str) -> bool:
    health = await _get_json(f"{url}/health")
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        metrics = await response.text()
    gauge = "colalamo_redis_up 1.0" if state == "up" else "colalamo_redis_up 0.0"
    return health.get("redis") == state and gauge in metrics


def test_one_replica_fetches_the_model_list_for_both(replicas, fake: FakeCopilot) -> None:
    a, b = replicas()

    async def main() -> list[int]:
        async with aiohttp.ClientSession() as http:
            statuses = []
            for served in (a, b, b):
                body = {"model": "gpt-4.1", "messages": USER_HELLO}
                status, _ = await _post(http, f"{served.url}/v1/chat/completions", body)
                statuses.append(status)
            return statuses

    models_before = len(fake.recorded("models"))
    assert asyncio.run(main()) == [200, 200, 200]
    assert len(fake.recorded("models")) - models_before == 1  # a asked Copilot; b took a's answer from Redis
