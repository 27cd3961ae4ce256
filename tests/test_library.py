"""The library: Copilot (sync) and AsyncCopilot, against the fake."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import USER_HELLO

from colalamo import AsyncCopilot, Copilot, UpstreamStatusError
from colalamo.config import Settings
from colalamo.testing import FakeCopilot


@pytest.fixture
def copilot(settings: Settings):
    with Copilot(settings) as copilot:
        yield copilot


def test_ask_returns_the_original_shape(copilot: Copilot, fake: FakeCopilot) -> None:
    answer = copilot.ask(USER_HELLO, temperature=0.6)

    assert answer["status"] == 200
    assert answer["text"]["reply"] == "echo: hello there"
    assert answer["text"]["usage"]["total_tokens"] > 0
    assert fake.recorded("chat")[-1].body["temperature"] == 0.6


def test_ask_returns_upstream_errors_in_the_original_shape(copilot: Copilot, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=500, body="kaput", content_type="text/plain")

    assert copilot.ask(USER_HELLO) == {
        "status": 500,
        "text": {"reason": "Internal Server Error", "text": "kaput"},
    }


def test_ask_streams_text_pieces(copilot: Copilot) -> None:
    pieces = list(copilot.ask(USER_HELLO, stream=True))

    assert pieces == ["echo: ", "hello ", "there"]


def test_streaming_errors_raise(copilot: Copilot, fake: FakeCopilot) -> None:
    fake.fail_next("chat", status=429, body="slow down", content_type="text/plain")
    with pytest.raises(UpstreamStatusError) as raised:
        copilot.ask(USER_HELLO, stream=True)
    assert raised.value.status == 429


def test_chat_returns_openai_shapes(copilot: Copilot) -> None:
    completion = copilot.chat(model="gpt-4o", messages=USER_HELLO)
    chunks = list(copilot.chat(messages=USER_HELLO, stream=True, stream_options={"include_usage": True}))

    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"]["content"] == "echo: hello there"
    assert [c["object"] for c in chunks] == ["chat.completion.chunk"] * len(chunks)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3


def test_models(copilot: Copilot) -> None:
    assert "gpt-4.1" in [m["id"] for m in copilot.models()]


def test_one_client_from_a_thread_pool(copilot: Copilot, fake: FakeCopilot) -> None:
    def ask(n: int) -> str:
        return copilot.ask([{"role": "user", "content": f"question {n}"}])["text"]["reply"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(ask, range(40)))

    assert replies == [f"echo: question {n}" for n in range(40)]
    assert fake.exchanges == 1


def test_sync_client_works_where_an_event_loop_is_already_running(copilot: Copilot) -> None:
    # A Jupyter cell runs inside a running event loop; asyncio.run() would fail there.
    async def cell() -> dict:
        return copilot.ask(USER_HELLO)

    assert asyncio.run(cell())["text"]["reply"] == "echo: hello there"


def test_abandoning_a_stream_early_closes_it(copilot: Copilot, fake: FakeCopilot) -> None:
    fake.reply = lambda body: "word " * 50
    stream = copilot.ask(USER_HELLO, stream=True)
    assert next(stream) == "word "
    stream.close()  # the upstream connection is dropped, and the client stays usable

    assert copilot.ask(USER_HELLO)["text"]["reply"] == "word " * 50


def test_async_client(settings: Settings, fake: FakeCopilot) -> None:
    async def main() -> tuple[dict, list[str], list[dict]]:
        async with AsyncCopilot(settings) as copilot:
            answer = await copilot.ask(USER_HELLO)
            pieces = [p async for p in await copilot.ask(USER_HELLO, stream=True)]
            models = await copilot.models()
            return answer, pieces, models

    answer, pieces, models = asyncio.run(main())
    assert answer["text"]["reply"] == "".join(pieces) == "echo: hello there"
    assert [m["id"] for m in models] == [m["id"] for m in fake.models]  # Copilot's catalogue, as it sent it


def test_keyword_overrides_change_settings(settings: Settings, fake: FakeCopilot) -> None:
    with Copilot(settings, model="gpt-4o") as copilot:
        copilot.ask(USER_HELLO)
    assert fake.recorded("chat")[-1].body["model"] == "gpt-4o"
