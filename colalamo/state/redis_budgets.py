"""The daily budgets, shared through Redis: a budget of N holds for every replica together.

Admission and settlement are one Lua script each (one round trip, atomic): admission checks
spent + held + this call against the budget and takes a hold; settlement frees the hold and
charges what the call cost. A hold carries an expiry (HOLD_TTL), so one taken by a replica
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

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..exceptions import RateLimited
from ..upstream.ledger import DIGITS, seconds_to_utc_midnight, utc_today
from .base import Budgets, Reservation
from .redis_link import RedisDown, RedisLink

log = logging.getLogger(__name__)

HOLD_TTL = 900.0  # seconds: longer than any call; a hold of a replica that died lapses after it
DAY_TTL = 2 * 86400  # seconds a day's counts are kept
SEP = "\x1f"  # between the parts of a field name (a key id or a model name may hold ':')

# The lapsed holds of the day (KEYS[1..3]: counts, holds, hold sizes) go first, in every script.
LET_LAPSED_GO = """
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

# KEYS[1..3]: the hold's day; KEYS[4]: the counts of the day the call was answered.
# ARGV: hold id ('' none), key, model, premium, credits, day TTL (s).
SETTLE = LET_LAPSED_GO + """
if ARGV[1] ~= '' and redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then unhold(KEYS[1], KEYS[3], ARGV[1]) end
local key, model, premium, credits = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
if premium > 0 then add(KEYS[4], 'p\\31' .. key, premium) end
if credits > 0 then
  add(KEYS[4], 'ct\\31' .. key, credits)
  add(KEYS[4], 'c\\31' .. key .. '\\31' .. model, credits)
end
if premium > 0 or credits > 0 then redis.call('EXPIRE', KEYS[4], ARGV[6]) end
return 1
"""

TODAY = LET_LAPSED_GO + "return redis.call('HGETALL', KEYS[1])"


@dataclass
class _Charge:
    premium: float = 0.0
    credits: float = 0.0


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
            return RateLimited(
                f"the daily budget of {self.premium_budget:g} premium requests is used up ({spent:g} spent, "
                f"{held:g} held by calls in flight, across every replica); it renews at midnight UTC",
                code="premium_budget_exceeded", retry_after=seconds_to_utc_midnight())
        return RateLimited(
            f"the daily budget of {self.credit_budget:g} AI credits is used up: {spent:.4g} spent today, "
            f"{held:.4g} held by calls in flight (across every replica), and this call may cost up to "
            f"{credits:.4g}; it renews at midnight UTC", code="credit_budget_exceeded", retry_after=seconds_to_utc_midnight())

    # settlement ------------------------------------------------------------------------------

    def settle_shared(self, reservation: RedisReservation, *, model: str, credits: float, premium: float) -> None:
        """Free the call's hold in Redis and charge it there, in the background; if Redis is
        away, the charge waits for its return."""
        if reservation.hold is None and premium <= 0 and credits <= 0:
            return
        answered = self._today()
        keys = [*self._day_keys(reservation.day), self._link.key("budget", answered.isoformat())]
        args: list[str | int] = [reservation.hold or "", reservation.key_id, model, repr(float(premium)),
                                 repr(float(credits)), DAY_TTL]

        def keep_for_later() -> None:
            if premium > 0 or credits > 0:
                charge = self._unsynced.setdefault((answered, reservation.key_id, model), _Charge())
                charge.premium += premium
                charge.credits += credits

        self._link.soon(lambda: self._settle(keys=keys, args=args), on_down=keep_for_later)

    async def _push_unsynced(self) -> None:
        """Redis is back: charge it with what was spent while it was away (yesterday's too)."""
        oldest = self._today() - dt.timedelta(days=1)
        for (day, key_id, model), charge in list(self._unsynced.items()):
            if day >= oldest:
                keys = [*self._day_keys(day), self._link.key("budget", day.isoformat())]
                args: list[str | int] = ["", key_id, model, repr(charge.premium), repr(charge.credits), DAY_TTL]
                await self._settle(keys=keys, args=args)
            del self._unsynced[(day, key_id, model)]

    # what /usage shows ---------------------------------------------------------------------

    async def today(self, key_id: str | None = None) -> dict[str, Any]:
        day = self._today()
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
