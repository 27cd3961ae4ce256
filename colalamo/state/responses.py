"""Past responses, kept in memory for `previous_response_id` and `item_reference`: each
response's whole conversation as Responses input items, and each item by its id. Bounded in
size and time."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

Items = list[dict[str, Any]]


class ResponseStore:
    """A least-recently-stored cache of response id -> the conversation up to that response."""

    def __init__(self, max_entries: int = 1000, ttl: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
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
