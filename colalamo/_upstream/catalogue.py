"""Copilot's model catalogue (`GET /models`): one lookup per request gives the model's id,
what it accepts and where it is served; the list is refreshed in the background.

A request never waits on `/models` for longer than the connect timeout: with no list yet it
waits that long for one, then goes on without (Copilot then decides); a failed fetch is
remembered for a few seconds, so a broken `/models` is not asked again by every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..exceptions import BadUpstreamReply, UpstreamError
from .model_names import resolve_model

log = logging.getLogger(__name__)

Json = dict[str, Any]
REFRESH_EVERY = 1800.0  # seconds between background refreshes, as editors do
FAILURE_MEMORY = 5.0  # seconds a failed fetch is remembered
MISS_REFRESH_GAP = 60.0  # at most one refresh a minute for names the list does not know
CHAT_ONLY = ("/chat/completions",)  # models that do not say: chat completions only
NAMES_KEPT = 1024  # model names resolved against one list (clients choose them: bounded)


class SharedModels(Protocol):
    """The list as another replica fetched it (Redis), asked before Copilot is."""

    async def get(self) -> Any | None: ...
    async def put(self, models: Any, ttl: float) -> None: ...


@dataclass(frozen=True)
class ModelEntry:
    """What a request needs to know of its model: Copilot's id, and its catalogue entry
    (None when the model or the whole list is unknown)."""

    id: str
    info: Json | None

    # Worked out once per entry: a catalogue keeps its entries for as long as its list
    # (`Catalogue.lookup`), and each request asks these.
    @functools.cached_property
    def endpoints(self) -> tuple[str, ...]:
        listed = (self.info or {}).get("supported_endpoints")
        return tuple(e for e in listed if isinstance(e, str)) if isinstance(listed, list) and listed else CHAT_ONLY

    @functools.cached_property
    def max_output_tokens(self) -> int | None:
        limits = ((self.info or {}).get("capabilities") or {}).get("limits") or {}
        value = limits.get("max_output_tokens")
        return value if isinstance(value, int) and value > 0 else None


class Catalogue:
    def __init__(
        self,
        fetch: Callable[[], Awaitable[Any]],
        *,
        wait_limit: float,
        refresh_every: float = REFRESH_EVERY,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedModels | None = None,
    ) -> None:
        self._fetch = fetch
        self._shared = shared
        self._shared_is_stale = False  # after `forget`: the shared copy is as wrong as ours
        self._wait_limit = wait_limit
        self._refresh_every = refresh_every
        self._clock = clock
        self._models: list[Json] | None = None
        self._entries: dict[str, ModelEntry] = {}  # names resolved against `_entries_of`
        self._entries_of: list[Json] | None = None
        self._fetched_at = 0.0
        self._failed_until = 0.0
        self._last_error: UpstreamError | None = None
        self._last_miss_refresh = -MISS_REFRESH_GAP
        self._inflight: asyncio.Task[list[Json]] | None = None
        self._refresher: asyncio.Task[None] | None = None

    @property
    def cached(self) -> list[Json] | None:
        """The list as last fetched, without fetching (None before the first fetch)."""
        return self._models

    # lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh_forever(), name="colalamo-models")

    async def stop(self) -> None:
        for task in (self._refresher, self._inflight):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._refresher = self._inflight = None

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_every)
            with contextlib.suppress(UpstreamError):
                await self._refresh()

    # reading ------------------------------------------------------------------------------

    async def models(self) -> list[Json]:
        """The list, fetched if there is none or it is older than the refresh interval;
        raises UpstreamError when it cannot be had."""
        if self._models is not None and self._clock() - self._fetched_at < self._refresh_every:
            return self._models
        if self._clock() < self._failed_until and self._last_error is not None:
            if self._models is not None:
                return self._models
            raise self._last_error
        return await self._refresh()

    async def lookup(self, name: str) -> ModelEntry:
        """The model a client named, from the list at hand (waiting at most the connect
        timeout for one when there is none yet)."""
        models = self._models
        if models is None:
            models = await self._available_within_limit()
        if models is None:
            return ModelEntry(name, None)
        entry = self._entry(name, models)
        if entry.info is None:
            self._refresh_after_miss(name)
        return entry

    def _entry(self, name: str, models: list[Json]) -> ModelEntry:
        """`name` resolved against `models`, once per list: clients name the same few models
        on every request, and resolving walks the whole list."""
        if models is not self._entries_of:  # another list: what was resolved against the old one goes
            self._entries_of, self._entries = models, {}
        entry = self._entries.get(name)
        if entry is None:
            if len(self._entries) >= NAMES_KEPT:
                self._entries.clear()
            model_id = resolve_model(name, models)
            info = next((m for m in models if m["id"] == model_id), None)
            entry = self._entries[name] = ModelEntry(model_id, info)
        return entry

    def forget(self) -> None:
        """The list is wrong (Copilot refused a model where the list said it was served):
        the next lookup fetches it again."""
        self._fetched_at = -self._refresh_every
        self._shared_is_stale = True

    async def _available_within_limit(self) -> list[Json] | None:
        if self._clock() < self._failed_until:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(self._refresh_task()), self._wait_limit)
        except (UpstreamError, asyncio.TimeoutError) as exc:
            log.warning("no model list from Copilot yet (%s); going on without it", _describe(exc))
            return None

    def _refresh_after_miss(self, name: str) -> None:
        now = self._clock()
        if now - self._last_miss_refresh >= MISS_REFRESH_GAP and now >= self._failed_until:
            self._last_miss_refresh = now
            log.info("model %r is not in the list; refreshing it in the background", name)
            task = self._refresh_task()
            task.add_done_callback(_consume)

    # fetching -----------------------------------------------------------------------------

    def _refresh_task(self) -> asyncio.Task[list[Json]]:
        """One fetch at a time, shared by everyone who needs it."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.create_task(self._fetch_list(), name="colalamo-models-fetch")
        return self._inflight

    async def _refresh(self) -> list[Json]:
        return await asyncio.shield(self._refresh_task())

    async def _fetch_list(self) -> list[Json]:
        try:
            shared = await self._shared_list()
            reply = shared if shared is not None else await self._fetch()
            data = reply.get("data") if isinstance(reply, Mapping) else None
            if not isinstance(data, list):
                raise BadUpstreamReply("Copilot's model list is malformed")
            if shared is None and self._shared is not None:
                await self._shared.put(reply, self._refresh_every)  # the other replicas need not ask
        except UpstreamError as exc:
            self._failed_until = self._clock() + FAILURE_MEMORY
            self._last_error = exc
            raise
        self._models = [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
        self._fetched_at = self._clock()
        self._failed_until, self._last_error = 0.0, None
        return self._models

    async def _shared_list(self) -> Any | None:
        """The list another replica fetched, unless ours was found wrong (then Copilot's)."""
        if self._shared is None:
            return None
        if self._shared_is_stale:
            self._shared_is_stale = False
            return None
        found = await self._shared.get()
        return found if isinstance(found, Mapping) and isinstance(found.get("data"), list) else None


def _describe(exc: BaseException) -> str:
    return exc.message if isinstance(exc, UpstreamError) else "it took longer than the connect timeout"


def _consume(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # a failed background refresh is logged where it happened
