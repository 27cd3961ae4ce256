"""Running the fake and the real colalamo server on a background event loop, for
synchronous tests (pytest without an asyncio plugin, notebooks, scripts)."""

from __future__ import annotations

import asyncio
import inspect
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .._loop_thread import LoopThread
from .._server import create_app, start_server
from .._server.app_keys import CORE
from .._upstream.pacing import PACING, Pacing
from ..config import Settings
from .fake import FakeCopilot


@contextmanager
def running_fake(*, ssl_context: ssl.SSLContext | None = None, **options: Any) -> Iterator[FakeCopilot]:
    """A `FakeCopilot` serving on a free loopback port until the block ends."""
    loop = LoopThread("colalamo-fake")
    fake = FakeCopilot(**options)
    try:
        loop.run(fake.start(ssl_context=ssl_context))
        yield fake
    finally:
        loop.run(fake.stop())
        loop.stop()


@contextmanager
def running_server(settings: Settings, *, login_from_page: bool = False, pacing: Pacing = PACING) -> Iterator[str]:
    """The real colalamo server on a free loopback port; yields its base URL. With
    `login_from_page`, as `colalamo serve`: no GitHub token, no terminal login (the page's).
    `pacing`: quicker retries and token refreshes than the product's, for tests that wait on them."""
    loop = LoopThread("colalamo-server")
    try:
        app = create_app(settings, login_from_page=login_from_page, pacing=pacing)
        runner, port = loop.run(start_server(app, "127.0.0.1", 0))
        try:
            loop.run(app[CORE].first_token())  # as `colalamo serve` does once bound
            yield f"http://127.0.0.1:{port}"
        finally:
            loop.run(runner.cleanup())
    finally:
        loop.stop()


def wait_until(condition: Callable[[], object], *, timeout: float = 10.0, interval: float = 0.01) -> None:
    """Wait for `condition()` to be true; fail with AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


async def wait_until_async(condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.01) -> None:
    """`wait_until` inside an event loop; `condition` may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
