"""The Redis-shared state pieces against a real redis-server: budgets, back-off, rate limit,
stored responses and models, shared between two "replicas" (two links, two local states, one
Redis), and their fallback to the local state while Redis is down."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from redis import asyncio as aioredis

from colalamo._state.redis import open_redis
from colalamo._state.redis_budgets import ADMIT, RedisBudgets
from colalamo._state.redis_guard import RedisBackoff, RedisLimiter
from colalamo._state.redis_link import RedisLink
from colalamo._state.redis_responses import RedisModels, RedisResponses
from colalamo._state.responses import ResponseStore
from colalamo._upstream.guard import AccountBackoff, RateLimiter
from colalamo._upstream.ledger import Ledger
from colalamo.config import Settings
from colalamo.exceptions import RateLimited
from colalamo.testing import wait_until_async

T = TypeVar("T")
PREFIX = "test:"


@asynccontextmanager
async def linked(url: str, prefix: str = PREFIX) -> AsyncIterator[RedisLink]:
    link = RedisLink(url, prefix)
    await link.start()
    try:
        yield link
    finally:
        await link.drain()
        await link.aclose()


async def replica(stack: AsyncExitStack, url: str, ledger: Ledger, **options: Any) -> RedisBudgets:
    """One replica's budgets, on a Redis link of its own that `stack` closes."""
    return RedisBudgets(await stack.enter_async_context(linked(url)), ledger, **options)


def run(scenario: Callable[[AsyncExitStack], Awaitable[T]]) -> T:
    async def main() -> T:
        async with AsyncExitStack() as stack:
            return await scenario(stack)
    return asyncio.run(main())


# budgets ---------------------------------------------------------------------------------------

async def _interleaved_call(budgets: RedisBudgets) -> bool:
    """One premium call among others sent at once: whether it was admitted (and settled)."""
    try:
        reservation = await budgets.admit("k", premium=1, credits=0)
    except RateLimited as exc:
        assert exc.code == "premium_budget_exceeded"  # by this replica's count, or all of them
        return False
    await asyncio.sleep(0)  # a yield, not a wait: the other calls' admissions interleave
    await reservation.settle(model="claude-sonnet-4", credits=0, premium=1)
    return True



def test_two_replicas_admit_exactly_the_premium_budget_between_them(redis_server: Any, tmp_path: Path) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        replicas = [await replica(stack, redis_server.url, Ledger(premium_budget=5)) for _ in range(2)]

        admitted = await asyncio.gather(*(_interleaved_call(replicas[n % 2]) for n in range(20)))
        assert sum(admitted) == 5
        for budgets in replicas:
            await budgets._link.drain()
        shared = await replicas[0].today("k")
        assert shared["premium_requests_today"] == 5 and shared["held_by_calls_in_flight"]["premium_requests"] == 0
        assert not await replicas[1].would_admit("k", premium=1, credits=0)
        assert await replicas[1].would_admit("k", premium=0, credits=0)  # a free call is never refused

    run(scenario)


def test_credits_are_shared_and_shown_per_model_and_key(redis_server: Any, tmp_path: Path) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        a = await replica(stack, redis_server.url, Ledger(credit_budget=1.0))
        b = await replica(stack, redis_server.url, Ledger(credit_budget=1.0))
        first = await a.admit("k1", premium=0, credits=0.6)
        with pytest.raises(RateLimited) as refused:  # 0.6 held by a call in flight on the other replica
            await b.admit("k1", premium=0, credits=0.6)
        assert refused.value.code == "credit_budget_exceeded"
        await first.settle(model="gpt-5", credits=0.25, premium=0)
        await a._link.drain()
        second = await b.admit("k1", premium=0, credits=0.6)  # 0.25 spent + 0.6 fits
        await second.settle(model="gpt-4.1", credits=0.5, premium=0)
        await b._link.drain()
        today = await a.today()
        assert today["ai_credits_by_model"] == {"gpt-4.1": 0.5, "gpt-5": 0.25}
        assert today["ai_credits_by_key"] == {"k1": 0.75}
        assert today["day"] == dt.datetime.now(dt.timezone.utc).date().isoformat()

    run(scenario)


def test_a_hold_of_a_replica_that_died_lapses(redis_server: Any, tmp_path: Path) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        dying = await replica(stack, redis_server.url, Ledger(premium_budget=1), hold_ttl=0.3)
        other = await replica(stack, redis_server.url, Ledger(premium_budget=1))
        await dying.admit("k", premium=1, credits=0)  # never settled nor released: its replica "died"
        assert not await other.would_admit("k", premium=1, credits=0)
        await wait_until_async(lambda: other.would_admit("k", premium=1, credits=0), timeout=5, interval=0.05)
        assert (await other.today("k"))["held_by_calls_in_flight"]["premium_requests"] == 0

    run(scenario)


def test_a_released_call_frees_its_hold_everywhere(redis_server: Any, tmp_path: Path) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        a = await replica(stack, redis_server.url, Ledger(premium_budget=1))
        b = await replica(stack, redis_server.url, Ledger(premium_budget=1))
        held = await a.admit("k", premium=1, credits=0)
        assert not await b.would_admit("k", premium=1, credits=0)
        held.release()
        await wait_until_async(lambda: b.would_admit("k", premium=1, credits=0), timeout=2)
        assert (await b.today())["premium_requests_today"] == 0

    run(scenario)


async def _settled_calls(budgets: RedisBudgets, count: int, key: str = "k") -> int:
    """`count` premium calls one after another, each settled; how many were admitted."""
    admitted = 0
    for _ in range(count):
        try:
            reservation = await budgets.admit(key, premium=1, credits=0)
        except RateLimited:
            continue
        await reservation.settle(model="claude-sonnet-4", credits=0, premium=1)
        admitted += 1
    return admitted


async def _held(budgets: RedisBudgets) -> float:
    """Premium requests held: by calls in flight and by leases."""
    today = await budgets.today("k")
    held: float = today["held_by_calls_in_flight"]["premium_requests"] + today["held_by_leases"]["premium_requests"]
    return held


async def _leased(budgets: RedisBudgets) -> float:
    leased: float = (await budgets.today("k"))["held_by_leases"]["premium_requests"]
    return leased


@asynccontextmanager
async def admissions_seen(url: str) -> AsyncIterator[list[str]]:
    """The budget admissions Redis runs meanwhile (its MONITOR: what reaches the server)."""
    seen: list[str] = []
    admit_sha = hashlib.sha1(ADMIT.encode()).hexdigest()
    client = aioredis.from_url(url)
    async with client.monitor() as monitor:
        async def watch() -> None:
            while True:
                command = (await monitor.next_command())["command"]
                if command.lower().startswith("evalsha " + admit_sha):
                    seen.append(command)
        watcher = asyncio.get_running_loop().create_task(watch())  # MONITOR was answered: it is in place
        try:
            yield seen
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    await client.aclose()


def test_a_busy_replica_admits_from_a_lease_without_asking_redis_each_time(redis_server: Any,
                                                                          tmp_path: Path) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        budgets = await replica(stack, redis_server.url, Ledger(premium_budget=1000))
        async with admissions_seen(redis_server.url) as seen:
            assert await _settled_calls(budgets, 100) == 100
            await wait_until_async(lambda: _premium_today(budgets, 100), timeout=5)
        # the first call asks alone, the second takes a lease of 32 calls, renewed half-way (calls
        # that come faster than the renewal's round trip ask one by one meanwhile)
        assert 3 <= len(seen) <= 40, len(seen)  # without leases: 100 (one per call)

    run(scenario)


def test_leases_never_overspend_and_what_they_hold_comes_back(redis_server: Any, tmp_path: Path) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        a = await replica(stack, redis_server.url, Ledger(premium_budget=80), lease_seconds=0.3)
        b = await replica(stack, redis_server.url, Ledger(premium_budget=80), lease_seconds=0.3)
        assert await _settled_calls(a, 5) == 5  # a took a lease, then went quiet
        assert await _leased(a) >= 1  # held ahead for a's next calls

        burst = sum(await asyncio.gather(*(_interleaved_call((a, b)[n % 3 == 0]) for n in range(150))))
        assert 5 + burst <= 80  # never more than the budget, leases or not
        # what the leases held comes back (0.3 s after their last use): the rest is admitted
        later = 0
        async def budget_used_up() -> bool:
            nonlocal later
            later += await _settled_calls(b, 10)
            return not await b.would_admit("k", premium=1, credits=0) and await _held(b) == 0
        await wait_until_async(budget_used_up, timeout=10, interval=0.1)
        assert 5 + burst + later == 80
        await wait_until_async(lambda: _premium_today(a, 80), timeout=5)

    run(scenario)


def test_a_call_only_another_replicas_lease_stands_in_the_way_of_waits_for_it(redis_server: Any,
                                                                              tmp_path: Path) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        a = await replica(stack, redis_server.url, Ledger(premium_budget=100), lease_seconds=0.3)
        b = await replica(stack, redis_server.url, Ledger(premium_budget=100), lease_seconds=0.3)
        assert await _settled_calls(a, 3) == 3  # a took a lease, then went quiet
        leased = await _leased(b)
        assert leased >= 5
        # b's last calls find a's lease in the way: they wait for it to come back, not refused
        assert await _settled_calls(b, 97) == 97
        assert await _settled_calls(b, 1) == 0  # now the budget is used up: refused
        today = await b.today("k")
        assert today["premium_requests_today"] == 100 and today["held_by_leases"]["premium_requests"] == 0

    run(scenario)


def test_a_lease_held_while_redis_was_unresponsive_is_given_back_when_it_answers(redis_server: Any,
                                                                                 tmp_path: Path) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        budgets = await replica(stack, redis_server.url, Ledger(premium_budget=100), lease_seconds=60)
        assert await _settled_calls(budgets, 3) == 3
        assert await _leased(budgets) >= 1  # which nothing but Redis's return would free now
        pauser = aioredis.from_url(redis_server.url)
        await pauser.execute_command("CLIENT", "PAUSE", "1500", "ALL")  # Redis stops answering, keeps its data
        await pauser.aclose()
        assert (await budgets.today("k")).get("shared_by") != "redis"  # timed out: the local count
        assert not budgets._link.up
        assert await _settled_calls(budgets, 1) == 1  # the local budgets admit meanwhile
        await wait_until_async(lambda: _premium_today(budgets, 4), timeout=10)
        assert await _held(budgets) == 0

    run(scenario)


def test_a_replica_that_stops_gives_its_lease_back(redis_server: Any, tmp_path: Path) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        other = await replica(stack, redis_server.url, Ledger(premium_budget=100))
        state = await open_redis(Settings(redis_url=redis_server.url, redis_prefix=PREFIX), backoff=AccountBackoff(),
                                 limiter=None, budgets=Ledger(premium_budget=100), responses=ResponseStore())
        try:
            assert await _settled_calls(state.budgets, 3) == 3
            assert await _leased(other) >= 1  # its lease
        finally:
            await state.aclose()
        assert await _held(other) == 0  # at once, not after the 15 minutes a dead replica's takes
        assert (await other.today("k"))["premium_requests_today"] == 3

    run(scenario)


# back-off and rate limit ----------------------------------------------------------------------

def test_a_429_on_one_replica_holds_the_other_back_within_100_ms(redis_server: Any) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        backoffs = []
        for _ in range(2):
            backoff = RedisBackoff(await stack.enter_async_context(linked(redis_server.url)), AccountBackoff())
            backoff.start()
            stack.push_async_callback(backoff.stop)
            backoffs.append(backoff)
        for backoff in backoffs:
            await asyncio.wait_for(backoff.subscribed.wait(), 5)
        seen, held = backoffs
        held.check()  # nothing yet
        pause = seen.rate_limited({"Retry-After": "30"}, sent_at=seen.now())
        assert pause == 30

        def holds_back() -> bool:
            try:
                held.check()
            except RateLimited as exc:
                return exc.code == "upstream_backoff" and exc.headers["Retry-After"] in ("29", "30")
            return False

        await wait_until_async(holds_back, timeout=0.1, interval=0.002)

        # a replica that starts mid-pause reads it from the key
        late = RedisBackoff(await stack.enter_async_context(linked(redis_server.url)), AccountBackoff())
        late.start()
        stack.push_async_callback(late.stop)
        await asyncio.wait_for(late.subscribed.wait(), 5)
        with pytest.raises(RateLimited):
            late.check()

    run(scenario)


def test_the_429_streak_is_the_accounts_not_a_replicas(redis_server: Any) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        a, b = [RedisBackoff(await stack.enter_async_context(linked(redis_server.url)), AccountBackoff())
                for _ in range(2)]
        for backoff in (a, b):
            backoff.start()
            stack.push_async_callback(backoff.stop)
            await asyncio.wait_for(backoff.subscribed.wait(), 5)

        def after_the_pause(backoff: RedisBackoff) -> float:
            """A 429 to a request sent once the pause under way is over: the pause it opens."""
            return backoff.rate_limited({}, sent_at=backoff.now() + 3600)

        assert a.rate_limited({}, sent_at=a.now()) == 1  # the first 429: 1 s
        await wait_until_async(lambda: b.local.consecutive == 1, timeout=2, interval=0.005)
        assert after_the_pause(b) == 2  # the account's second 429 in a row, on the other replica
        await wait_until_async(lambda: a.local.consecutive == 2, timeout=2, interval=0.005)
        assert after_the_pause(a) == 4
        await wait_until_async(lambda: b.local.consecutive == 3, timeout=2, interval=0.005)
        b.succeeded()  # a success anywhere ends the streak everywhere
        await wait_until_async(lambda: a.local.consecutive == 0, timeout=2, interval=0.005)
        assert after_the_pause(a) == 1

    run(scenario)


def test_the_rate_limit_counts_every_replica(redis_server: Any) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        links = [await stack.enter_async_context(linked(redis_server.url)) for _ in range(2)]
        limiters = [RedisLimiter(link, RateLimiter(3, "reject"), 3, "reject") for link in links]
        for n in range(3):
            await limiters[n % 2].acquire()
        for limiter in limiters:
            with pytest.raises(RateLimited) as refused:
                await limiter.acquire()
            assert refused.value.code == "local_rate_limit" and 55 < int(refused.value.headers["Retry-After"]) <= 60

    run(scenario)


# responses and models ---------------------------------------------------------------------------

def test_a_response_stored_by_one_replica_is_found_by_the_other(redis_server: Any) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        link_a = await stack.enter_async_context(linked(redis_server.url))
        link_b = await stack.enter_async_context(linked(redis_server.url))
        a = RedisResponses(link_a, ResponseStore(), ttl=60, max_entries=2)
        b = RedisResponses(link_b, ResponseStore(), ttl=60, max_entries=2)
        turn = [{"type": "message", "role": "user", "content": "hi"},
                {"type": "message", "id": "msg_1", "content": "ho"}]
        await a.put("resp_1", turn)
        assert await b.get("resp_1") == turn
        assert await b.item("msg_1") == turn[1]
        assert await b.get("resp_unknown") is None and await b.item("msg_unknown") is None
        await a.put("resp_2", [])
        await a.put("resp_3", [])  # over the cap of 2: the oldest goes
        assert await b.get("resp_1") is None and await b.item("msg_1") is None
        assert await b.get("resp_3") == []

    run(scenario)


def test_the_model_list_is_shared_with_its_ttl(redis_server: Any) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        a = RedisModels(await stack.enter_async_context(linked(redis_server.url)))
        b = RedisModels(await stack.enter_async_context(linked(redis_server.url)))
        assert await b.get() is None
        await a.put({"data": [{"id": "gpt-4.1"}]}, 0.2)
        assert await b.get() == {"data": [{"id": "gpt-4.1"}]}
        await wait_until_async(lambda: _is_none(b.get()), timeout=5, interval=0.05)

    run(scenario)


async def _is_none(value: Awaitable[Any]) -> bool:
    return await value is None


# Redis down -------------------------------------------------------------------------------------

def test_with_redis_down_everything_falls_back_and_resyncs_when_it_returns(redis_server: Any, tmp_path: Path) -> None:
    async def scenario(stack: AsyncExitStack) -> None:
        link_a = await stack.enter_async_context(linked(redis_server.url))
        link_b = await stack.enter_async_context(linked(redis_server.url))
        budgets = RedisBudgets(link_a, Ledger(premium_budget=10))
        store_a = RedisResponses(link_a, ResponseStore(), ttl=60, max_entries=10)
        store_b = RedisResponses(link_b, ResponseStore(), ttl=60, max_entries=10)
        backoff = RedisBackoff(link_a, AccountBackoff())
        backoff.start()
        stack.push_async_callback(backoff.stop)
        await asyncio.wait_for(backoff.subscribed.wait(), 5)

        redis_server.kill()
        await wait_until_async(lambda: not link_a.up, timeout=5)  # the listener notices at once
        reservation = await budgets.admit("k", premium=1, credits=0)  # the local budgets decide
        await reservation.settle(model="o3", credits=0, premium=1)
        assert (await budgets.today("k"))["premium_requests_today"] == 1  # the local count
        await store_a.put("resp_down", [{"type": "message", "id": "msg_down", "content": "x"}])
        assert await store_a.get("resp_down") is not None  # from the local store
        backoff.rate_limited({"Retry-After": "30"}, sent_at=backoff.now())

        redis_server.start()
        await wait_until_async(lambda: link_a.up and link_b.up, timeout=10)
        await wait_until_async(lambda: _found(store_b.get("resp_down")), timeout=5)  # pushed on return
        assert await store_b.item("msg_down") == {"type": "message", "id": "msg_down", "content": "x"}
        await wait_until_async(lambda: _premium_today(budgets, 1), timeout=5)  # the charge made meanwhile
        late = RedisBackoff(link_b, AccountBackoff())  # the pause was published again
        late.start()
        stack.push_async_callback(late.stop)
        await asyncio.wait_for(late.subscribed.wait(), 5)
        with pytest.raises(RateLimited):
            late.check()

    run(scenario)


async def _found(value: Awaitable[Any]) -> bool:
    return await value is not None


async def _premium_today(budgets: RedisBudgets, expected: float) -> bool:
    today = await budgets.today("k")
    return today.get("shared_by") == "redis" and today["premium_requests_today"] == expected


def test_redis_down_is_warned_about_at_most_once_a_minute_without_its_password(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    link = RedisLink("redis://:s3cret@127.0.0.1:1/0", PREFIX, clock=lambda: now[0])
    with caplog.at_level("WARNING", logger="colalamo._state.redis_link"):
        for _ in range(5):
            link.mark_down(ConnectionError("refused"))
        now[0] += 59
        link.mark_down(ConnectionError("refused"))
        assert len(caplog.records) == 1
        now[0] += 1
        link.mark_down(ConnectionError("refused"))
    assert len(caplog.records) == 2
    assert "s3cret" not in caplog.text and "redis://:***@127.0.0.1:1/0" in caplog.text
