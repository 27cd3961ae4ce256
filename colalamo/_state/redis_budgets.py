"""The daily budgets, shared through Redis: a budget of N holds for every replica together.

Admission and settlement are one Lua script each (atomic): admission checks spent + held +
this call against the budget and takes a hold; settlement frees the hold and charges what the
call cost. Admission is the request's one round trip; settlements are sent in the background,
those of SETTLE_BATCH_DELAY together in one round trip (carrying them on the next admission
instead measured slower: a longer script on the request's way). Until then the call's hold
stands in for its cost, so a budget is never overspent, at most refused a few milliseconds
early when a call cost less than its hold. A hold carries an expiry (HOLD_TTL), so one taken by a replica
that died lapses instead of holding the budget forever; every script first lets lapsed holds go.

Redis is asked only when it matters: a call that no budget applies to (a free model, or no
budget set) is admitted without a round trip and charged in the background, for the shared
counts `/usage` shows. The local budgets (this process's own) are always kept too, and admit
first: they are what enforces the budget while Redis is down, and a call this process alone
would refuse costs no round trip. Charges made while Redis was away are pushed to it when it
is back.

Keys, per UTC day D (they expire after DAY_TTL): `budget:D` (a hash: spent premium requests
`p␟key`, credits `ct␟key` and `c␟key␟model`, held `hp␟key` / `hc␟key`), `holds:D` (a sorted
set of hold ids by expiry) and `hold:D` (hold id -> "premium credits key").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._upstream.ledger import DIGITS, credit_refusal, premium_refusal, utc_today
from ..exceptions import RateLimited
from .base import Budgets, Reservation
from .redis_link import RedisDown, RedisLink

log = logging.getLogger(__name__)

ACROSS_REPLICAS = ", across every replica"

SETTLE_BATCH_DELAY = 0.02  # seconds settlements wait, to share one round trip
HOLD_TTL = 900.0  # seconds: longer than any call; a hold of a replica that died lapses after it
DAY_TTL = 2 * 86400  # seconds a day's counts are kept
SEP = "\x1f"  # between the parts of a field name (a key id or a model name may hold ':')

# Helpers every script starts with.
FUNCTIONS = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function add(hash, field, amount)
  if amount == 0 then return end
  local total = tonumber(redis.call('HINCRBYFLOAT', hash, field, amount))
  if math.abs(total) < 1e-9 then redis.call('HDEL', hash, field) end
end
local function unhold(counts, sizes, id)
  local size = redis.call('HGET', sizes, id)
  if not size then return end
  local premium, credits, key = string.match(size, '^(%S+) (%S+) (.*)$')
  add(counts, 'hp\\31' .. key, -tonumber(premium))
  add(counts, 'hc\\31' .. key, -tonumber(credits))
  redis.call('HDEL', sizes, id)
end
"""

# The lapsed holds of the day (KEYS[1..3]: counts, holds, hold sizes) go first.
LET_LAPSED_GO = FUNCTIONS + """
local now = now_ms()
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do unhold(KEYS[1], KEYS[3], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
"""

# ARGV: key, premium, credits, premium budget ('' none), credit budget ('' none), hold id
# ('' : only ask), hold TTL (ms), day TTL (s). {'ok'} or {'premium'|'credits', spent, held}.
ADMIT = LET_LAPSED_GO + """
local key, premium, credits = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local function count(field) return tonumber(redis.call('HGET', KEYS[1], field) or '0') end
if premium > 0 and ARGV[4] ~= '' then
  local spent, held = count('p\\31' .. key), count('hp\\31' .. key)
  if spent + held + premium > tonumber(ARGV[4]) + 1e-9 then return {'premium', tostring(spent), tostring(held)} end
end
if credits > 0 and ARGV[5] ~= '' then
  local spent, held = count('ct\\31' .. key), count('hc\\31' .. key)
  if spent + held + credits > tonumber(ARGV[5]) + 1e-9 then return {'credits', tostring(spent), tostring(held)} end
end
if ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[7]), ARGV[6])
  redis.call('HSET', KEYS[3], ARGV[6], ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. key)
  add(KEYS[1], 'hp\\31' .. key, premium)
  add(KEYS[1], 'hc\\31' .. key, credits)
  for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[8]) end
end
return {'ok'}
"""

# Settlements, several at once. ARGV: the key prefix, the day TTL (s), then per settlement
# seven values: the hold's day, the hold id ('' none), key, model, premium, credits, the day
# the call was answered (charged there).
SETTLE = FUNCTIONS + """
local prefix, ttl = ARGV[1], ARGV[2]
for i = 3, #ARGV, 7 do
  local held_on, hold, key, model = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local premium, credits, counts = tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]), prefix .. 'budget:' .. ARGV[i + 6]
  if hold ~= '' and redis.call('ZREM', prefix .. 'holds:' .. held_on, hold) == 1 then
    unhold(prefix .. 'budget:' .. held_on, prefix .. 'hold:' .. held_on, hold)
  end
  if premium > 0 then add(counts, 'p\\31' .. key, premium) end
  if credits > 0 then
    add(counts, 'ct\\31' .. key, credits)
    add(counts, 'c\\31' .. key .. '\\31' .. model, credits)
  end
  if premium > 0 or credits > 0 then redis.call('EXPIRE', counts, ttl) end
end
return 1
"""

TODAY = LET_LAPSED_GO + "return redis.call('HGETALL', KEYS[1])"


@dataclass
class _Charge:
    premium: float = 0.0
    credits: float = 0.0


@dataclass
class _Settlement:
    held_on: dt.date
    hold: str  # "": no hold in Redis
    key_id: str
    model: str
    premium: float
    credits: float
    answered_on: dt.date


class RedisReservation:
    """A call's hold on the shared budgets (`hold` None: none in Redis) and on the local ones."""

    def __init__(self, budgets: RedisBudgets, local: Reservation, key_id: str, day: dt.date, hold: str | None) -> None:
        self._budgets = budgets
        self._local = local
        self.key_id = key_id
        self.day = day
        self.hold = hold
        self.open = True

    async def settle(self, *, model: str, credits: float, premium: float) -> None:
        """Charge the call here and (in the background: it never waits) in Redis."""
        if not self.open:
            return
        self.open = False
        await self._local.settle(model=model, credits=credits, premium=premium)
        self._budgets.settle_shared(self, model=model, credits=credits, premium=premium)

    def release(self) -> None:
        if self.open:
            self.open = False
            self._local.release()
            if self.hold is not None:
                self._budgets.settle_shared(self, model="", credits=0.0, premium=0.0)


class RedisBudgets:
    """`Budgets` shared by every replica; this process's own (`local`) while Redis is down."""

    def __init__(self, link: RedisLink, local: Budgets, *, hold_ttl: float = HOLD_TTL,
                 today: Callable[[], dt.date] = utc_today) -> None:
        self.local = local
        self.premium_budget, self.credit_budget = local.premium_budget, local.credit_budget
        self._link = link
        self._hold_ttl_ms = int(hold_ttl * 1000)
        self._today = today
        client = link.client
        self._admit, self._settle, self._read = (client.register_script(s) for s in (ADMIT, SETTLE, TODAY))
        self._unsynced: dict[tuple[dt.date, str, str], _Charge] = {}  # charged while Redis was away
        self._pending: list[_Settlement] = []  # settlements for the next round trip
        self._flusher: asyncio.Task[None] | None = None
        link.on_up(self._push_unsynced)

    # admission ------------------------------------------------------------------------------

    def _applies(self, premium: float, credits: float) -> bool:
        return (premium > 0 and self.premium_budget is not None) or (credits > 0 and self.credit_budget is not None)

    def _day_keys(self, day: dt.date) -> list[str]:
        iso = day.isoformat()
        return [self._link.key("budget", iso), self._link.key("holds", iso), self._link.key("hold", iso)]

    async def _ask(self, key_id: str, premium: float, credits: float, hold: str) -> list[Any]:
        budgets = ["" if b is None else repr(float(b)) for b in (self.premium_budget, self.credit_budget)]
        args: list[str | int] = [key_id, repr(float(premium)), repr(float(credits)), *budgets, hold,
                                 self._hold_ttl_ms, DAY_TTL]
        keys = self._day_keys(self._today())
        return list(await self._link.run(lambda: self._admit(keys=keys, args=args)))

    async def would_admit(self, key_id: str, *, premium: float, credits: float) -> bool:
        if not await self.local.would_admit(key_id, premium=premium, credits=credits):
            return False
        if not self._applies(premium, credits):
            return True
        try:
            return _text(( await self._ask(key_id, premium, credits, ""))[0]) == "ok"
        except RedisDown:
            return True  # the local budgets, which just said yes, decide

    async def admit(self, key_id: str, *, premium: float, credits: float) -> RedisReservation:
        local = await self.local.admit(key_id, premium=premium, credits=credits)  # or RateLimited
        day = self._today()
        if not self._applies(premium, credits):
            return RedisReservation(self, local, key_id, day, None)
        hold = uuid.uuid4().hex
        try:
            answer = await self._ask(key_id, premium, credits, hold)
        except RedisDown:
            return RedisReservation(self, local, key_id, day, None)
        if _text(answer[0]) != "ok":
            local.release()
            raise self._refusal(_text(answer[0]), float(answer[1]), float(answer[2]), credits)
        return RedisReservation(self, local, key_id, day, hold)

    def _refusal(self, unit: str, spent: float, held: float, credits: float) -> RateLimited:
        if unit == "premium":
            assert self.premium_budget is not None
            return premium_refusal(self.premium_budget, spent, held, where=ACROSS_REPLICAS)
        assert self.credit_budget is not None
        return credit_refusal(self.credit_budget, spent, held, credits, where=ACROSS_REPLICAS)

    # settlement ------------------------------------------------------------------------------

    def settle_shared(self, reservation: RedisReservation, *, model: str, credits: float, premium: float) -> None:
        """Free the call's hold in Redis and charge it there, in the background: the
        settlements of SETTLE_BATCH_DELAY go in one round trip (at concurrency 1 that keeps
        them off the next request's way). While Redis is away, the charge waits for its return."""
        if reservation.hold is None and premium <= 0 and credits <= 0:
            return
        settlement = _Settlement(reservation.day, reservation.hold or "", reservation.key_id, model, premium, credits,
                                 self._today())
        if not self._link.up:
            self._keep_for_later([settlement])
            return
        self._pending.append(settlement)
        if self._flusher is None or self._flusher.done():
            self._flusher = self._link.spawn(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(SETTLE_BATCH_DELAY)
        await self._flush()

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            try:
                await self._link.run(lambda: self._send(batch))
            except RedisDown:
                self._keep_for_later(batch)

    async def _send(self, batch: list[_Settlement]) -> None:
        args: list[str | int] = [self._link.prefix, DAY_TTL]
        for one in batch:
            args += [one.held_on.isoformat(), one.hold, one.key_id, one.model, repr(float(one.premium)),
                     repr(float(one.credits)), one.answered_on.isoformat()]
        await self._settle(args=args)

    def _keep_for_later(self, batch: list[_Settlement]) -> None:
        for one in batch:
            if one.premium > 0 or one.credits > 0:
                charge = self._unsynced.setdefault((one.answered_on, one.key_id, one.model), _Charge())
                charge.premium += one.premium
                charge.credits += one.credits

    async def _push_unsynced(self) -> None:
        """Redis is back: charge it with what was spent while it was away (yesterday's too)."""
        oldest = self._today() - dt.timedelta(days=1)
        batch = [_Settlement(day, "", key_id, model, charge.premium, charge.credits, day)
                 for (day, key_id, model), charge in self._unsynced.items() if day >= oldest]
        if batch:
            await self._send(batch)
        self._unsynced.clear()

    # what /usage shows ---------------------------------------------------------------------

    async def today(self, key_id: str | None = None) -> dict[str, Any]:
        day = self._today()
        await self._flush()  # this replica's settlements under way are counted
        try:
            raw = await self._link.run(lambda: self._read(keys=self._day_keys(day)))
        except RedisDown:
            return await self.local.today(key_id)
        fields = {_text(raw[i]): float(raw[i + 1]) for i in range(0, len(raw), 2)}
        return summary(day, fields, key_id, self.premium_budget, self.credit_budget)


def summary(day: dt.date, fields: dict[str, float], key_id: str | None,
            premium_budget: float | None, credit_budget: float | None) -> dict[str, Any]:
    """The day's counts as `Ledger.today` shows them, from the fields of `budget:D`."""
    premium_by_key: dict[str, float] = {}
    credits_by_key: dict[str, float] = {}
    held_premium: dict[str, float] = {}
    held_credits: dict[str, float] = {}
    by_key_model: dict[tuple[str, str], float] = {}
    for name, value in fields.items():
        kind, _, rest = name.partition(SEP)
        if kind == "p":
            premium_by_key[rest] = value
        elif kind == "ct":
            credits_by_key[rest] = value
        elif kind == "hp":
            held_premium[rest] = value
        elif kind == "hc":
            held_credits[rest] = value
        elif kind == "c":
            key, _, model = rest.partition(SEP)
            by_key_model[(key, model)] = value
    keys = [key_id] if key_id is not None else sorted(set(premium_by_key) | set(credits_by_key))
    by_model: dict[str, float] = {}
    for (key, model), credits in by_key_model.items():
        if key in keys:
            by_model[model] = by_model.get(model, 0.0) + credits
    held_keys = [key_id] if key_id is not None else list(held_premium.keys() | held_credits.keys())
    return {
        "day": day.isoformat(),
        "key": key_id,
        "premium_requests_today": round(sum(premium_by_key.get(k, 0.0) for k in keys), DIGITS),
        "premium_budget": premium_budget,
        "ai_credits_today": round(sum(by_model.values()), DIGITS),
        "credit_budget": credit_budget,
        "ai_credits_by_model": {m: round(c, DIGITS) for m, c in sorted(by_model.items())},
        "ai_credits_by_key": {k: round(v, DIGITS) for k, v in sorted(credits_by_key.items())},
        "premium_requests_by_key": {k: round(v, DIGITS) for k, v in sorted(premium_by_key.items())},
        "held_by_calls_in_flight": {
            "premium_requests": round(sum(held_premium.get(k, 0.0) for k in held_keys), DIGITS),
            "ai_credits": round(sum(held_credits.get(k, 0.0) for k in held_keys), DIGITS),
        },
        "shared_by": "redis",
    }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
