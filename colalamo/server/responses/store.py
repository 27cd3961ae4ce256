"""Past conversations, kept in memory for `previous_response_id`: bounded in size and time."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

Messages = list[dict[str, Any]]


class ResponseStore:
    """A least-recently-stored cache of response id -> the conversation up to that response."""

    def __init__(self, max_entries: int = 1000, ttl: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[float, Messages]] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl
        self._clock = clock

    def put(self, response_id: str, conversation: Messages) -> None:
        self._entries[response_id] = (self._clock() + self._ttl, conversation)
        self._entries.move_to_end(response_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def get(self, response_id: str) -> Messages | None:
        entry = self._entries.get(response_id)
        if entry is None:
            return None
        expires, conversation = entry
        if self._clock() >= expires:
            del self._entries[response_id]
            return None
        return conversation

    def __len__(self) -> int:
        return len(self._entries)
