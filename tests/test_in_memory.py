"""A user's own async test needs no socket and no background loop: `FakeCopilot.in_memory()`
gives an aiohttp session wired to the fake through memory on the test's own event loop, and
`AsyncCopilot(session=...)` sends through it (the seam httpx calls a transport)."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from colalamo import AsyncCopilot
from colalamo.exceptions import UpstreamStatusError
from colalamo.testing import FakeCopilot

HELLO = [{"role": "user", "content": "hello there"}]


def refuse_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, opening a socket fails the test."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a socket was opened")
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def run_in_memory(token_file: Path, work: Any, monkeypatch: pytest.MonkeyPatch | None = None) -> Any:
    async def main() -> Any:
        fake = FakeCopilot()
        async with fake.in_memory() as session:
            async with AsyncCopilot(fake.settings(token_file=token_file), session=session) as copilot:
                return await work(fake, copilot)
    loop = asyncio.new_event_loop()
    try:
        if monkeypatch is not None:
            refuse_sockets(monkeypatch)  # after the loop is made: its self-pipe is a socket pair
        return loop.run_until_complete(main())
    finally:
        if monkeypatch is not None:
            monkeypatch.undo()
        loop.close()


def test_a_whole_answer_a_stream_and_a_refusal_without_a_socket(token_file: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    async def work(fake: FakeCopilot, copilot: AsyncCopilot) -> Any:
        answer = await copilot.ask(HELLO, temperature=0.6)
        pieces = [piece async for piece in await copilot.ask(HELLO, stream=True)]
        fake.fail_next("chat", status=400, body='{"error": {"message": "no such thing"}}')
        refused = await copilot.ask(HELLO)
        loops = {thread.name for thread in threading.enumerate()
                 if thread.name in ("colalamo-fake", "colalamo-server", "colalamo-loop")}  # LoopThreads
        return answer, pieces, refused, fake.recorded("chat")[0].body, loops

    answer, pieces, refused, sent, loop_threads = run_in_memory(token_file, work, monkeypatch)

    assert answer == {"status": 200, "text": {"reply": "echo: hello there", "usage": answer["text"]["usage"]}}
    assert "".join(pieces) == "echo: hello there"
    assert refused["status"] == 400 and "no such thing" in refused["text"]["text"]
    assert sent["temperature"] == 0.6  # it went the whole way to the fake's Copilot API
    assert loop_threads == set()  # no LoopThread ran the fake or the client (running_fake would)


def test_the_callers_session_is_left_open(token_file: Path) -> None:
    async def main() -> bool:
        fake = FakeCopilot()
        async with fake.in_memory() as session:
            async with AsyncCopilot(fake.settings(token_file=token_file), session=session) as copilot:
                await copilot.ask(HELLO)
            still_open = not session.closed
            async with AsyncCopilot(fake.settings(token_file=token_file), session=session) as again:
                await again.ask(HELLO)  # the same session serves a second client
            return still_open
    assert asyncio.run(main())


def test_copilot_errors_reach_the_caller_in_memory_too(token_file: Path) -> None:
    async def work(fake: FakeCopilot, copilot: AsyncCopilot) -> Any:
        fake.fail_next("chat", status=500, body="kaput", content_type="text/plain")
        with pytest.raises(UpstreamStatusError) as raised:
            await copilot.chat(messages=HELLO, stream=True)
        return raised.value.status
    assert run_in_memory(token_file, work) == 500
