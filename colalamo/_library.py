"""The Python library: `Copilot` (synchronous) and `AsyncCopilot`.

    >>> from colalamo import Copilot
    >>> Copilot().ask([{"role": "user", "content": "Hi"}], temperature=0.6)
    {'status': 200, 'text': {'reply': '...', 'usage': {...}}}
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Literal, overload

import aiohttp

from ._core import Core
from ._legacy import legacy_error, legacy_reply
from ._loop_thread import LoopThread
from ._state import SharedState, open_state
from ._upstream.normalize import Json
from .config import Settings, load_settings
from .exceptions import ColalamoError

Messages = list[dict[str, Any]]


class AsyncCopilot:
    """Copilot's chat models from asyncio code.

    Settings come from `settings`, or else from the environment and `.env`; keyword
    overrides use the setting's field name (`AsyncCopilot(model="gpt-4o")`). The first call
    logs in (GitHub device flow) when no GitHub token is found. Use one instance per event
    loop, and close it (`await client.aclose()` or `async with`).

    `session`: an `aiohttp.ClientSession` to send through instead of colalamo's own (which
    sets its timeouts, proxy and CA settings); the caller keeps it and closes it. Tests hand
    it `FakeCopilot.in_memory()`'s, to run without a socket or a thread.
    """

    def __init__(self, settings: Settings | None = None, *, session: aiohttp.ClientSession | None = None,
                 **overrides: Any) -> None:
        self.settings = settings.replace(**overrides) if settings else load_settings(overrides)
        self._session = session
        self._core: Core | None = None
        self._start_lock = asyncio.Lock()

    async def _started(self) -> Core:
        async with self._start_lock:
            if self._core is None:
                core = Core(self.settings, http=self._session)
                await core.start()
                self._core = core
            return self._core

    @overload
    async def ask(self, messages: Messages, *, stream: Literal[False] = False, **params: Any) -> dict[str, Any]: ...
    @overload
    async def ask(self, messages: Messages, *, stream: Literal[True], **params: Any) -> AsyncIterator[str]: ...
    @overload
    async def ask(self, messages: Messages, *, stream: bool, **params: Any) -> dict[str, Any] | AsyncIterator[str]: ...

    async def ask(
        self, messages: Messages, *, stream: bool = False, **params: Any
    ) -> dict[str, Any] | AsyncIterator[str]:
        """The original colalamo call.

        Returns `{'status': 200, 'text': {'reply': ..., 'usage': {...}}}`, or on failure
        `{'status': <code>, 'text': {'reason': ..., 'text': ...}}`. With `stream=True` it
        returns an async iterator of the reply's text pieces, and failures raise
        `ColalamoError`.
        """
        body = {**params, "messages": messages}
        if stream:
            return _text_pieces(await self._open_stream(body))
        try:
            completion = await (await self._started()).copilot.chat_completion(body)
        except ColalamoError as exc:
            status, text = legacy_error(exc)
            return {"status": status, "text": text}
        return {"status": 200, "text": legacy_reply(completion)}

    @overload
    async def chat(self, *, stream: Literal[False] = False, **params: Any) -> Json: ...
    @overload
    async def chat(self, *, stream: Literal[True], **params: Any) -> AsyncIterator[Json]: ...
    @overload
    async def chat(self, *, stream: bool, **params: Any) -> Json | AsyncIterator[Json]: ...

    async def chat(self, *, stream: bool = False, **params: Any) -> Json | AsyncIterator[Json]:
        """An OpenAI chat completion (the `chat.completions.create` parameters).

        Returns the `chat.completion` dict, or with `stream=True` an async iterator of
        `chat.completion.chunk` dicts. Failures raise `ColalamoError`.
        """
        if stream:
            return await self._open_stream(params)
        return await (await self._started()).copilot.chat_completion(params)

    async def models(self) -> list[Json]:
        """Copilot's models, as Copilot describes them."""
        return list(await (await self._started()).copilot.models())

    async def usage(self, days: int | None = None) -> dict[str, Any]:
        """The account's plan, quota reset date and quota snapshots (chat, completions,
        premium interactions), and under `colalamo` what was counted today (UTC) by this
        process and any other using the same data directory: AI credits per model and per
        key, premium requests, the budgets. With `days`, under `history` the request ledger
        of the last `days` UTC days, per day, model, key and client."""
        if days is not None and days < 1:
            raise ValueError("days must be at least 1")
        core = await self._started()
        account = await core.quota()
        account.update(await self.counted(days))
        return account

    async def counted(self, days: int | None = None) -> dict[str, Any]:
        """What colalamo counted, without asking GitHub: it answers offline, and with no login
        (it starts none of its own). Under `colalamo`, today's counts and budgets as in
        `usage`; with `days`, under `history`, the request ledger of the last `days` UTC days."""
        if days is not None and days < 1:
            raise ValueError("days must be at least 1")
        if self._core is not None:
            return await _counted(self._core.state, days)
        async with open_state(self.settings) as state:  # no login, no token: the state alone
            return await _counted(state, days)

    async def _open_stream(self, body: dict[str, Any]) -> AsyncIterator[Json]:
        core = await self._started()
        options = body.get("stream_options") or {}
        include_usage = bool(options.get("include_usage")) if isinstance(options, dict) else False
        stack = AsyncExitStack()
        chunks = await stack.enter_async_context(
            core.copilot.stream_chat_completion(body, include_usage=include_usage)
        )
        return _closing(chunks, stack)

    async def aclose(self) -> None:
        if self._core is not None:
            await self._core.aclose()
            self._core = None

    async def __aenter__(self) -> AsyncCopilot:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


async def _counted(state: SharedState, days: int | None) -> dict[str, Any]:
    counted: dict[str, Any] = {"colalamo": await state.budgets.today()}
    if days is not None:
        counted["history"] = await state.history.summary(days)
    return counted


async def _closing(chunks: AsyncIterable[Json], stack: AsyncExitStack) -> AsyncIterator[Json]:
    async with stack:
        async for chunk in chunks:
            yield chunk


async def _text_pieces(chunks: AsyncIterator[Json]) -> AsyncIterator[str]:
    async for chunk in chunks:
        for choice in chunk["choices"]:
            content = choice["delta"].get("content")
            if choice["index"] == 0 and content:
                yield content


class Copilot:
    """Copilot's chat models from ordinary (synchronous) code.

    Safe to share between threads and to use in a Jupyter cell: the work runs on an event
    loop of its own, on a background thread. Close it with `close()` or a `with` block
    (it is also closed when garbage-collected or at exit).
    """

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self._async = AsyncCopilot(settings, **overrides)
        self._loop = LoopThread()
        self._finalizer = weakref.finalize(self, _shut_down, self._loop, self._async)

    @property
    def settings(self) -> Settings:
        return self._async.settings

    @overload
    def ask(self, messages: Messages, *, stream: Literal[False] = False, **params: Any) -> dict[str, Any]: ...
    @overload
    def ask(self, messages: Messages, *, stream: Literal[True], **params: Any) -> Iterator[str]: ...
    @overload
    def ask(self, messages: Messages, *, stream: bool, **params: Any) -> dict[str, Any] | Iterator[str]: ...

    def ask(self, messages: Messages, *, stream: bool = False, **params: Any) -> dict[str, Any] | Iterator[str]:
        """See `AsyncCopilot.ask`; with `stream=True` it returns an iterator of text pieces."""
        if stream:
            return self._loop.iterate(self._loop.run(self._async.ask(messages, stream=True, **params)))
        return self._loop.run(self._async.ask(messages, stream=False, **params))

    @overload
    def chat(self, *, stream: Literal[False] = False, **params: Any) -> Json: ...
    @overload
    def chat(self, *, stream: Literal[True], **params: Any) -> Iterator[Json]: ...
    @overload
    def chat(self, *, stream: bool, **params: Any) -> Json | Iterator[Json]: ...

    def chat(self, *, stream: bool = False, **params: Any) -> Json | Iterator[Json]:
        """See `AsyncCopilot.chat`; with `stream=True` it returns an iterator of chunk dicts."""
        if stream:
            return self._loop.iterate(self._loop.run(self._async.chat(stream=True, **params)))
        return self._loop.run(self._async.chat(stream=False, **params))

    def models(self) -> list[Json]:
        return self._loop.run(self._async.models())

    def usage(self, days: int | None = None) -> dict[str, Any]:
        """See `AsyncCopilot.usage`."""
        return self._loop.run(self._async.usage(days))

    def counted(self, days: int | None = None) -> dict[str, Any]:
        """See `AsyncCopilot.counted`."""
        return self._loop.run(self._async.counted(days))

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> Copilot:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _shut_down(loop: LoopThread, client: AsyncCopilot) -> None:
    try:
        loop.run(client.aclose(), timeout=10)
    finally:
        loop.stop()
