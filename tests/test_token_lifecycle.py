"""The Copilot token: exchanged once, refreshed ahead of expiry, single flight, 401 retry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openai
import pytest
from helpers import QUICK, USER_HELLO, closed_port

from colalamo import Copilot, GitHubTokenRejected
from colalamo.testing import (
    GITHUB_TOKEN,
    FakeCopilot,
    running_server,
    wait_until,
)


def _ask(client: openai.OpenAI) -> str:
    return client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO).choices[0].message.content or ""


def test_exchange_uses_the_github_token_and_the_token_api_base(client: openai.OpenAI, fake: FakeCopilot) -> None:
    _ask(client)
    _ask(client)

    (exchange,) = fake.recorded("token")  # one exchange serves many requests
    assert exchange.headers["Authorization"] == f"token {GITHUB_TOKEN}"
    assert exchange.headers["Editor-Version"]
    assert len(fake.recorded("chat")) == 2  # reached through endpoints.api, which is the fake


def test_copilot_api_url_setting_overrides_endpoints_api(start_server, fake: FakeCopilot) -> None:
    fake.endpoints_api = f"http://127.0.0.1:{closed_port()}"  # the account's API is elsewhere
    by_token = start_server(pacing=QUICK)  # its connections are retried before the 502
    by_setting = start_server(copilot_api_url=fake.url)

    with openai.OpenAI(base_url=f"{by_token}/v1", api_key="unused", max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as raised:
            _ask(client)
        assert raised.value.status_code == 502  # endpoints.api was followed
    with openai.OpenAI(base_url=f"{by_setting}/v1", api_key="unused", max_retries=0) as client:
        assert _ask(client) == "echo: hello there"


def test_expired_token_is_refreshed_once_and_the_request_retried(client: openai.OpenAI, fake: FakeCopilot) -> None:
    _ask(client)
    fake.expire_copilot_tokens()

    assert _ask(client) == "echo: hello there"
    assert fake.expired_token_calls == 1
    assert fake.exchanges == 2
    assert len(fake.recorded("chat")) == 3  # the refused call, then the retry


def test_hundred_concurrent_requests_on_an_expired_token_cause_one_exchange(server: str, fake: FakeCopilot) -> None:
    async def main() -> list[str]:
        async with openai.AsyncOpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:
            await client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO)
            fake.expire_copilot_tokens()
            fake.exchange_delay = 0.3  # the exchange is slow: every request piles up behind it
            replies = await asyncio.gather(
                *(client.chat.completions.create(model="gpt-4.1", messages=USER_HELLO) for _ in range(100))
            )
            return [r.choices[0].message.content or "" for r in replies]

    replies = asyncio.run(main())

    assert replies == ["echo: hello there"] * 100
    assert fake.exchanges == 2


def test_short_lived_tokens_are_refreshed_in_the_background_for_as_long_as_it_runs(
    start_server, fake: FakeCopilot
) -> None:
    # minutes become seconds: many lifetimes pass; each refresh comes 1.4 s before expiry
    # (the quick pacing's floor lets it), so only a stall longer than that could let a
    # request meet an expired token
    fake.token_ttl, fake.refresh_in = 2.0, 1.2
    server = start_server(pacing=QUICK)
    with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:

        def answered_through_many_refreshes() -> bool:
            assert _ask(client) == "echo: hello there"
            return fake.exchanges >= 6

        wait_until(answered_through_many_refreshes, timeout=20)

    assert fake.expired_token_calls == 0  # always refreshed ahead of expiry, never after


def test_failed_refreshes_are_retried_while_the_old_token_still_works(start_server, fake: FakeCopilot) -> None:
    fake.token_ttl, fake.refresh_in = 4.0, 1.0
    server = start_server(pacing=QUICK)
    fake.fail_next("token", times=2, status=502, body="bad gateway", content_type="text/plain")
    with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:

        def recovered() -> bool:
            assert _ask(client) == "echo: hello there"  # never fails meanwhile
            return fake.exchanges >= 4  # first, two failures, then a success

        wait_until(recovered, timeout=10)
    assert fake.expired_token_calls == 0


def test_revoked_github_token_says_to_log_in_again(client: openai.OpenAI, fake: FakeCopilot) -> None:
    fake.revoke_github_token()
    fake.expire_copilot_tokens()

    with pytest.raises(openai.AuthenticationError) as raised:
        _ask(client)
    assert "colalamo login" in raised.value.body["message"]


def test_rejected_github_token_stops_the_server_at_start(fake: FakeCopilot, token_file: Path) -> None:
    fake.revoke_github_token()
    with pytest.raises(GitHubTokenRejected, match="colalamo login"):
        with running_server(fake.settings(token_file=token_file)):
            pass


@pytest.mark.parametrize("status", [403, 404])
def test_account_without_copilot_is_told_plainly(fake: FakeCopilot, token_file: Path, status: int) -> None:
    fake.copilot_denied_status = status
    with Copilot(fake.settings(token_file=token_file)) as copilot:
        answer = copilot.ask(USER_HELLO)

    assert answer["status"] == 403
    assert "no access to GitHub Copilot" in answer["text"]["text"]


def test_github_down_at_start_does_not_stop_the_server(start_server, fake: FakeCopilot) -> None:
    fake.fail_next("token", status=503, body="down", content_type="text/plain")
    server = start_server(pacing=QUICK)
    with openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0) as client:
        wait_until(lambda: fake.exchanges >= 2, timeout=5)  # the background task tried again
        assert _ask(client) == "echo: hello there"
