"""Stored responses (`previous_response_id`, `item_reference`) and Copilot's model list, in
Redis, so any replica continues a conversation another one answered.

A response is one key (its whole conversation as JSON) expiring with the store's TTL; each of
its items with an id is a key naming the response; a sorted set of response ids by the time
they were stored enforces the size cap (the oldest go first). Every response is also kept in
the local store: it answers while Redis is down, and the responses stored meanwhile are
pushed to Redis when it is back.
"""

from __future__ import annotations

import logging
from typing import Any

from .._json import dumps, loads
from .base import ResponsesStore
from .redis_link import RedisDown, RedisLink

log = logging.getLogger(__name__)

Items = list[dict[str, Any]]
MODELS_TTL = 1800.0  # seconds the model list is shared for (the catalogue refreshes it as often)
UNSYNCED_CAP = 1000  # responses stored while Redis was away, remembered for the push on its return

# KEYS: the response, the index, then its items' keys. ARGV: the id, the JSON, the TTL (ms),
# the cap, the prefix of response keys.
PUT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
for i = 3, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'PX', ttl) end
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  for i, v in ipairs(redis.call('ZPOPMIN', KEYS[2], over)) do
    if i % 2 == 1 then redis.call('DEL', ARGV[5] .. v) end
  end
end
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
"""

# KEYS: the item's key. ARGV: the prefix of response keys. The conversation holding it, or nil.
ITEM = """
local response = redis.call('GET', KEYS[1])
if not response then return false end
return redis.call('GET', ARGV[1] .. response)
"""


class RedisResponses:
    """A `ResponsesStore` every replica shares; `local` while Redis is down."""

    def __init__(self, link: RedisLink, local: ResponsesStore, *, ttl: float, max_entries: int) -> None:
        self.local = local
        self._link = link
        self._ttl_ms = int(ttl * 1000)
        self._max = max_entries
        self._index = link.key("responses")
        self._prefix = link.key("response", "")
        self._put, self._item = link.client.register_script(PUT), link.client.register_script(ITEM)
        self._unsynced: dict[str, None] = {}  # ids stored only here, oldest first
        link.on_up(self._push_unsynced)

    async def put(self, response_id: str, conversation: Items) -> None:
        await self.local.put(response_id, conversation)
        try:
            await self._link.run(lambda: self._store(response_id, conversation))
        except RedisDown:
            self._unsynced[response_id] = None
            while len(self._unsynced) > UNSYNCED_CAP:
                del self._unsynced[next(iter(self._unsynced))]

    async def _store(self, response_id: str, conversation: Items) -> None:
        items = [self._link.key("item", item["id"]) for item in conversation if isinstance(item.get("id"), str)]
        await self._put(keys=[self._prefix + response_id, self._index, *items],
                        args=[response_id, dumps(conversation), self._ttl_ms, self._max, self._prefix])

    async def get(self, response_id: str) -> Items | None:
        try:
            raw = await self._link.run(lambda: self._link.client.get(self._prefix + response_id))
        except RedisDown:
            raw = None
        if raw is not None:
            return _conversation(raw)
        return await self.local.get(response_id)  # stored while Redis was away, or it is down

    async def item(self, item_id: str) -> dict[str, Any] | None:
        try:
            raw = await self._link.run(lambda: self._item(keys=[self._link.key("item", item_id)], args=[self._prefix]))
        except RedisDown:
            raw = None
        found = next((i for i in _conversation(raw) or [] if i.get("id") == item_id), None) if raw else None
        return found if found is not None else await self.local.item(item_id)

    async def _push_unsynced(self) -> None:
        while self._unsynced:
            response_id = next(iter(self._unsynced))
            conversation = await self.local.get(response_id)
            if conversation is not None:
                await self._store(response_id, conversation)
            del self._unsynced[response_id]


class RedisModels:
    """Copilot's model list as one replica fetched it, for the others (a `ModelsCache`)."""

    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._key = link.key("models")

    async def get(self) -> Any | None:
        try:
            raw = await self._link.run(lambda: self._link.client.get(self._key))
        except RedisDown:
            return None
        try:
            return loads(raw) if raw is not None else None
        except ValueError:
            return None

    async def put(self, models: Any, ttl: float = MODELS_TTL) -> None:
        try:
            await self._link.run(lambda: self._link.client.set(self._key, dumps(models), px=max(int(ttl * 1000), 1)))
        except RedisDown:
            pass


def _conversation(raw: Any) -> Items | None:
    try:
        value = loads(raw)
    except ValueError:
        log.warning("ignoring a stored response in Redis that is not JSON")
        return None
    return value if isinstance(value, list) else None
