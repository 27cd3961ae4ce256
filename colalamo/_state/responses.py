"""Past responses, for `previous_response_id` and `item_reference`: each response's whole
conversation as Responses input items, and each item by its id. Bounded in size and time.
In memory (`ResponseStore`), and in the database behind it (`PersistentResponses`)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from .._json import dumps, loads
from .database import Database

Items = list[dict[str, Any]]
T = TypeVar("T")


class ResponseStore:
    """A least-recently-stored cache of response id -> the conversation up to that response."""

    def __init__(self, max_entries: int = 1000, ttl: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[float, Items]] = OrderedDict()
        self._items: dict[str, tuple[str, dict[str, Any]]] = {}  # item id -> (response id, item)
        self._max = max_entries
        self._ttl = ttl
        self._clock = clock

    async def put(self, response_id: str, conversation: Items) -> None:
        self.keep(response_id, conversation)

    async def get(self, response_id: str) -> Items | None:
        return self.find(response_id)

    async def item(self, item_id: str) -> dict[str, Any] | None:
        """An item of a stored response, by its id (for `item_reference`)."""
        return self.find_item(item_id)

    # the synchronous core, for a store kept on disk that caches in front of it ---------------

    def keep(self, response_id: str, conversation: Items) -> None:
        self._entries[response_id] = (self._clock() + self._ttl, conversation)
        self._entries.move_to_end(response_id)
        for item in conversation:
            if isinstance(item.get("id"), str):
                self._items[item["id"]] = (response_id, item)
        while len(self._entries) > self._max:
            dropped, (_, items) = self._entries.popitem(last=False)
            self._forget_items(dropped, items)

    def find(self, response_id: str) -> Items | None:
        entry = self._entries.get(response_id)
        if entry is None:
            return None
        expires, conversation = entry
        if self._clock() >= expires:
            del self._entries[response_id]
            self._forget_items(response_id, conversation)
            return None
        return conversation

    def find_item(self, item_id: str) -> dict[str, Any] | None:
        found = self._items.get(item_id)
        if found is None or self.find(found[0]) is None:
            return None
        return found[1]

    def _forget_items(self, response_id: str, items: Items) -> None:
        for item in items:
            item_id = item.get("id")
            if isinstance(item_id, str) and self._items.get(item_id, (None,))[0] == response_id:
                del self._items[item_id]

    def __len__(self) -> int:
        return len(self._entries)


MISS_WAIT = 0.5  # seconds a miss waits for another worker's write of the same response
MISS_POLL = 0.025


class PersistentResponses:
    """The store kept in the database too, so `previous_response_id` and `item_reference`
    survive a restart and work across `--workers`. This process's responses are answered
    from memory (no I/O); a response is written in the background as soon as it is stored,
    and only one this process does not have is looked up in the database."""

    def __init__(self, database: Database, max_entries: int = 1000, ttl: float = 3600.0) -> None:
        self._database = database
        self._memory = ResponseStore(max_entries, ttl)
        self._max = max_entries
        self._ttl = ttl

    async def put(self, response_id: str, conversation: Items) -> None:
        self._memory.keep(response_id, conversation)
        self._database.enqueue(partial(_insert, response_id, conversation, time.time(), self._ttl, self._max),
                               at_once=True)

    async def get(self, response_id: str) -> Items | None:
        found = self._memory.find(response_id)
        if found is not None:
            return found
        return await self._looked_up(lambda connection: _conversation(connection, response_id, time.time()))

    async def item(self, item_id: str) -> dict[str, Any] | None:
        found = self._memory.find_item(item_id)
        if found is not None:
            return found
        return await self._looked_up(lambda connection: _item(connection, item_id, time.time()))

    async def _looked_up(self, query: Callable[[sqlite3.Connection], T | None]) -> T | None:
        """`query`'s answer, waiting a moment for a write a sibling worker may be making."""
        deadline = time.monotonic() + MISS_WAIT
        while True:
            found = await self._database.run(query)
            if found is not None or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(MISS_POLL)


def _insert(response_id: str, conversation: Items, now: float, ttl: float, cap: int,
            connection: sqlite3.Connection) -> None:
    packed = zlib.compress(dumps(conversation), 1)
    connection.execute("INSERT OR REPLACE INTO responses (id, stored, expires, conversation) VALUES (?, ?, ?, ?)",
                       (response_id, now, now + ttl, packed))
    connection.executemany("INSERT OR REPLACE INTO response_items (item_id, response_id) VALUES (?, ?)",
                           [(item["id"], response_id) for item in conversation if isinstance(item.get("id"), str)])
    # the size cap: the oldest go (their items are swept by prune_responses)
    connection.execute("DELETE FROM responses WHERE id IN (SELECT id FROM responses ORDER BY stored DESC "
                       "LIMIT -1 OFFSET ?)", (cap,))


def _conversation(connection: sqlite3.Connection, response_id: str, now: float) -> Items | None:
    row = connection.execute("SELECT conversation FROM responses WHERE id = ? AND expires > ?",
                             (response_id, now)).fetchone()
    return _unpacked(row[0]) if row is not None else None


def _item(connection: sqlite3.Connection, item_id: str, now: float) -> dict[str, Any] | None:
    row = connection.execute(
        "SELECT r.conversation FROM response_items i JOIN responses r ON r.id = i.response_id "
        "WHERE i.item_id = ? AND r.expires > ?", (item_id, now)).fetchone()
    if row is None:
        return None
    return next((item for item in _unpacked(row[0]) if item.get("id") == item_id), None)


def _unpacked(blob: bytes) -> Items:
    conversation = loads(zlib.decompress(blob))
    return conversation if isinstance(conversation, list) else []


def prune_responses(connection: sqlite3.Connection, now: float | None = None) -> None:
    """Drop the expired responses, and the items of responses gone."""
    connection.execute("DELETE FROM responses WHERE expires <= ?", (time.time() if now is None else now,))
    connection.execute("DELETE FROM response_items WHERE response_id NOT IN (SELECT id FROM responses)")
