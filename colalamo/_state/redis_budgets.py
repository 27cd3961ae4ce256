"""The daily budgets, shared through Redis: a budget of N holds for every replica together.

Admission and settlement are one Lua script each (atomic): admission checks spent + held +
this call against the budget and takes a hold; settlement frees the hold and charges what the
call cost. Settlements are sent in the background, those of SETTLE_BATCH_DELAY together in one
round trip. Until then the call's hold stands in for its cost, so a budget is never overspent,
at most refused a few milliseconds early when a call cost less than its hold. A hold carries an
expiry (HOLD_TTL), so one taken by a replica that died lapses instead of holding the budget
forever; every script first lets lapsed holds go.

Leases keep Redis off a busy replica's request path. An admission that finds calls of the same
key coming often (the last one less than LEASE_SECONDS ago) also takes, in the same round trip,
a lease: one hold of the budget sized for up to LEASE_CALLS more calls like it. The replica then
admits such calls from the lease in memory, each settlement freeing its share of the lease's
hold, and takes the next lease in the background before this one runs out. A lease never takes
more than 1/LEASE_RESERVE of the room left under a budget, so the last calls of a day's budget
are admitted one round trip each, exactly. What a lease has not used goes back after
LEASE_SECONDS without calls. Near the end of a budget, a call that only leases stand in the way
of waits (up to LEASE_SECONDS and a little) for them to come back instead of being refused, so
a budget of N still admits N calls, and never more.

Redis is asked only when it matters: a call that no budget applies to (a free model, or no
budget set) is admitted without a round trip and charged in the background, for the shared
counts `/usage` shows. The local budgets (this process's own) are always kept too, and admit
first: they are what enforces the budget while Redis is down, and a call this process alone
would refuse costs no round trip. Charges and freed holds of the time Redis was away are sent
to it when it is back.

Keys, per UTC day D (they expire after DAY_TTL): `budget:D` (a hash: spent premium requests
`p␟key`, credits `ct␟key` and `c␟key␟model`, held `hp␟key` / `hc␟key`), `holds:D` (a sorted
set of hold ids by expiry) and `hold:D` (hold id -> "premium credits key": what it still holds).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._upstream.ledger import DIGITS, credit_refusal, premium_refusal, utc_today
from ..exceptions import RateLimited
from .base import Budgets, Reservation
from .redis_link import RedisDown, RedisLink

log = logging.getLogger(__name__)

ACROSS_REPLICAS = " and replicas' leases, across every replica"

SETTLE_BATCH_DELAY = 0.05  # seconds settlements wait, to share one round trip
HOLD_TTL = 900.0  # seconds: longer than any call; a hold of a replica that died lapses after it
DAY_TTL = 2 * 86400  # seconds a day's counts are kept
LEASE_CALLS = 64  # the most calls one lease is taken for
LEASE_RESERVE = 8  # a lease takes at most 1/8 of a budget's room: the last calls go one by one
LEASE_SECONDS = 2.0  # a lease unused for this long gives back what it has left
LEASE_WAIT_SLACK = 0.5  # a call only other replicas' leases refuse waits LEASE_SECONDS and this
LEASE_WAIT_POLL = 0.1  # seconds between its tries meanwhile
EPSILON = 1e-9  # credits are floats: sums of them are compared with this much play
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
-- A hold's size: "premium credits kind key", kind C (a call's) or L (a lease's, also counted
-- under lp/lc: what leases hold ahead).
local function size_of(premium, credits, kind, key)
  return string.format('%.17g %.17g ', premium, credits) .. kind .. ' ' .. key
end
-- Frees up to `premium` and `credits` of hold `id`; the hold goes once it holds nothing.
local function free(counts, holds, sizes, id, premium, credits)
  local size = redis.call('HGET', sizes, id)
  if not size then return end
  local held_p, held_c, kind, key = string.match(size, '^(%S+) (%S+) ([CL]) (.*)$')
  held_p, held_c = tonumber(held_p), tonumber(held_c)
  premium, credits = math.min(premium, held_p), math.min(credits, held_c)
  add(counts, 'hp\\31' .. key, -premium)
  add(counts, 'hc\\31' .. key, -credits)
  if kind == 'L' then
    add(counts, 'lp\\31' .. key, -premium)
    add(counts, 'lc\\31' .. key, -credits)
  end
  held_p, held_c = held_p - premium, held_c - credits
  if held_p < 1e-9 and held_c < 1e-9 then
    redis.call('HDEL', sizes, id)
    redis.call('ZREM', holds, id)
  else
    redis.call('HSET', sizes, id, size_of(held_p, held_c, kind, key))
  end
end
"""

# The lapsed holds of the day (KEYS[1..3]: counts, holds, hold sizes) go first.
LET_LAPSED_GO = FUNCTIONS + """
local now = now_ms()
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  free(KEYS[1], KEYS[2], KEYS[3], id, math.huge, math.huge)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
"""

# ARGV: key, premium, credits, premium budget ('' none), credit budget ('' none), hold id
# ('' : only ask), hold TTL (ms), day TTL (s), lease id ('' none), most calls a lease is for,
# the reserve (a lease takes at most 1/reserve of a budget's room).
# {'ok', calls the lease was taken for (0: none)} or {'premium'|'credits', spent, held, of which
# leases hold}.
ADMIT = LET_LAPSED_GO + """
local key, premium, credits = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local function count(field) return tonumber(redis.call('HGET', KEYS[1], field) or '0') end
-- the room this call leaves under a budget (nil: no budget); or the refusal
local function room(budget, cost, spent_field, held_field, leased_field, unit)
  if budget == '' then return nil end
  local spent, held = count(spent_field .. key), count(held_field .. key)
  local left = tonumber(budget) - spent - held - cost
  if cost > 0 and left < -1e-9 then
    return nil, {unit, tostring(spent), tostring(held), tostring(count(leased_field .. key))}
  end
  return left
end
local premium_room, refused = room(ARGV[4], premium, 'p\\31', 'hp\\31', 'lp\\31', 'premium')
if refused then return refused end
local credit_room
credit_room, refused = room(ARGV[5], credits, 'ct\\31', 'hc\\31', 'lc\\31', 'credits')
if refused then return refused end
local function hold(id, p, c, kind)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[7]), id)
  redis.call('HSET', KEYS[3], id, size_of(p, c, kind, key))
  add(KEYS[1], 'hp\\31' .. key, p)
  add(KEYS[1], 'hc\\31' .. key, c)
  if kind == 'L' then
    add(KEYS[1], 'lp\\31' .. key, p)
    add(KEYS[1], 'lc\\31' .. key, c)
  end
end
if ARGV[6] ~= '' then hold(ARGV[6], premium, credits, 'C') end
local calls = 0
if ARGV[9] ~= '' then
  calls = tonumber(ARGV[10])
  local reserve = tonumber(ARGV[11])
  if premium_room and premium > 0 then calls = math.min(calls, math.floor(premium_room / (reserve * premium))) end
  if credit_room and credits > 0 then calls = math.min(calls, math.floor(credit_room / (reserve * credits))) end
  if calls >= 1 then
    hold(ARGV[9], premium_room and calls * premium or 0, credit_room and calls * credits or 0, 'L')
  else
    calls = 0
  end
end
if ARGV[6] ~= '' or calls > 0 then
  for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[8]) end
end
return {'ok', calls}
"""

# Settlements, several at once. ARGV: the key prefix, the day TTL (s), then per settlement
# nine values: the hold's day, the hold id ('' none), the premium and credits to free of it,
# key, model, premium, credits, the day the call was answered (charged there).
SETTLE = FUNCTIONS + """
local prefix, ttl = ARGV[1], ARGV[2]
for i = 3, #ARGV, 9 do
  local held_on, hold, key, model = ARGV[i], ARGV[i + 1], ARGV[i + 4], ARGV[i + 5]
  local premium, credits, counts = tonumber(ARGV[i + 6]), tonumber(ARGV[i + 7]), prefix .. 'budget:' .. ARGV[i + 8]
  if hold ~= '' then
    free(prefix .. 'budget:' .. held_on, prefix .. 'holds:' .. held_on, prefix .. 'hold:' .. held_on, hold,
         tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]))
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
    free_premium: float  # what to free of the hold
    free_credits: float
    key_id: str
    model: str
    premium: float  # what to charge
    credits: float
    answered_on: dt.date


@dataclass
class _Lease:
    """Budget this replica holds ahead for one key: the calls it admits without asking Redis.
    What is left under a budget that is not set is infinite (nothing of it is held)."""

    hold: str
    day: dt.date
    premium_left: float
    credits_left: float
    calls: int  # how many calls like the one that took it it was taken for
    expires: float  # loop time after which what is left goes back
    used: int = 0
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def fits(self, premium: float, credits: float) -> bool:
        return premium <= self.premium_left + EPSILON and credits <= self.credits_left + EPSILON

    def take(self, premium: float, credits: float) -> tuple[float, float]:
        """Admit one call; what of the lease's hold it now stands on."""
        self.used += 1
        share = (premium if math.isfinite(self.premium_left) else 0.0,
                 credits if math.isfinite(self.credits_left) else 0.0)
        self.premium_left -= share[0]
        self.credits_left -= share[1]
        return share

    def leftover(self) -> tuple[float, float]:
        """What the lease still holds for calls it has not admitted, and nothing from now on."""
        left = (max(self.premium_left, 0.0) if math.isfinite(self.premium_left) else 0.0,
                max(self.credits_left, 0.0) if math.isfinite(self.credits_left) else 0.0)
        self.premium_left = self.credits_left = 0.0
        return left


class RedisReservation:
    """A call's hold on the shared budgets (`hold` None: none in Redis) and on the local ones.
    `share`: what of `hold` this call stands on (a hold of its own, or part of a lease)."""

    def __init__(self, budgets: RedisBudgets, local: Reservation, key_id: str, day: dt.date, hold: str | None,
                 share: tuple[float, float] = (0.0, 0.0)) -> None:
        self._budgets = budgets
        self._local = local
        self.key_id = key_id
        self.day = day
        self.hold = hold
        self.share = share
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
                 lease_seconds: float = LEASE_SECONDS, today: Callable[[], dt.date] = utc_today) -> None:
        self.local = local
        self.premium_budget, self.credit_budget = local.premium_budget, local.credit_budget
        self._link = link
        self._hold_ttl_ms = int(hold_ttl * 1000)
        self._lease_seconds = lease_seconds
        self._today = today
        client = link.client
        self._admit, self._settle, self._read = (client.register_script(s) for s in (ADMIT, SETTLE, TODAY))
        self._unsynced: dict[tuple[dt.date, str, str], _Charge] = {}  # charged while Redis was away
        self._unfreed: dict[tuple[dt.date, str, str], _Charge] = {}  # holds to free, by day, hold, key
        self._pending: list[_Settlement] = []  # settlements for the next round trip
        self._flusher: asyncio.Task[None] | None = None
        self._leases: dict[str, _Lease] = {}
        self._leasing: set[str] = set()  # keys whose lease is being asked for
        self._last_call: dict[str, float] = {}  # loop time of each key's last admission through Redis
        link.on_up(self._push_unsynced)

    # admission ------------------------------------------------------------------------------

    def _applies(self, premium: float, credits: float) -> bool:
        return (premium > 0 and self.premium_budget is not None) or (credits > 0 and self.credit_budget is not None)

    def _day_keys(self, day: dt.date) -> list[str]:
        iso = day.isoformat()
        return [self._link.key("budget", iso), self._link.key("holds", iso), self._link.key("hold", iso)]

    async def _ask(self, day: dt.date, key_id: str, premium: float, credits: float, hold: str,
                   lease: str = "") -> list[Any]:
        budgets = ["" if b is None else repr(float(b)) for b in (self.premium_budget, self.credit_budget)]
        args: list[str | int] = [key_id, repr(float(premium)), repr(float(credits)), *budgets, hold,
                                 self._hold_ttl_ms, DAY_TTL, lease, LEASE_CALLS, LEASE_RESERVE]
        keys = self._day_keys(day)
        return list(await self._link.run(lambda: self._admit(keys=keys, args=args)))

    def _lease_for(self, key_id: str, day: dt.date, premium: float, credits: float) -> _Lease | None:
        """This replica's lease for the key, when it can admit this call."""
        lease = self._leases.get(key_id)
        if lease is None or not self._link.up or lease.day != day or not lease.fits(premium, credits):
            return None
        return lease

    async def would_admit(self, key_id: str, *, premium: float, credits: float) -> bool:
        if not await self.local.would_admit(key_id, premium=premium, credits=credits):
            return False
        day = self._today()
        if not self._applies(premium, credits) or self._lease_for(key_id, day, premium, credits):
            return True
        try:
            return _text((await self._ask(day, key_id, premium, credits, ""))[0]) == "ok"
        except RedisDown:
            return True  # the local budgets, which just said yes, decide

    async def admit(self, key_id: str, *, premium: float, credits: float) -> RedisReservation:
        local = await self.local.admit(key_id, premium=premium, credits=credits)  # or RateLimited
        day = self._today()
        if not self._applies(premium, credits):
            return RedisReservation(self, local, key_id, day, None)
        lease = self._lease_for(key_id, day, premium, credits)
        if lease is not None:
            return self._admit_from(lease, local, key_id, premium, credits)
        hold, lease_id = uuid.uuid4().hex, self._lease_id(key_id)
        loop = asyncio.get_running_loop()
        waited_until = loop.time() + self._lease_seconds + LEASE_WAIT_SLACK
        while True:
            try:
                answer = await self._ask(day, key_id, premium, credits, hold, lease_id)
            except RedisDown:
                if lease_id:
                    self._leasing.discard(key_id)
                return RedisReservation(self, local, key_id, day, None)
            if _text(answer[0]) == "ok":
                break
            if lease_id:
                self._leasing.discard(key_id)
                lease_id = ""
            lease = self._lease_for(key_id, day, premium, credits)  # one may have come meanwhile
            if lease is not None:
                return self._admit_from(lease, local, key_id, premium, credits)
            unit, spent, held, leased = _text(answer[0]), float(answer[1]), float(answer[2]), float(answer[3])
            if not self._leases_in_the_way(key_id, unit, spent, held, leased, premium, credits) or \
                    loop.time() >= waited_until:
                local.release()
                raise self._refusal(unit, spent, held, credits)
            await asyncio.sleep(LEASE_WAIT_POLL)  # until the leases not used go back
        if lease_id:
            self._leased(key_id, day, lease_id, int(answer[1]), premium, credits)
        return RedisReservation(self, local, key_id, day, hold, (premium, credits))

    def _leases_in_the_way(self, key_id: str, unit: str, spent: float, held: float, leased: float, premium: float,
                           credits: float) -> bool:
        """Whether the call was refused only for what leases hold ahead: room the replicas that
        took them give back within LEASE_SECONDS unless their calls use it. This replica's own
        lease goes back at once."""
        budget, cost = ((self.premium_budget, premium) if unit == "premium" else (self.credit_budget, credits))
        if budget is None or leased <= EPSILON or spent + held - leased + cost > budget + EPSILON:
            return False
        own = self._leases.pop(key_id, None)
        if own is not None:
            self._give_back(key_id, own)
            self._link.spawn(self._flush())
        return True

    def _refusal(self, unit: str, spent: float, held: float, credits: float) -> RateLimited:
        if unit == "premium":
            assert self.premium_budget is not None
            return premium_refusal(self.premium_budget, spent, held, where=ACROSS_REPLICAS)
        assert self.credit_budget is not None
        return credit_refusal(self.credit_budget, spent, held, credits, where=ACROSS_REPLICAS)

    # leases ----------------------------------------------------------------------------------

    def _lease_id(self, key_id: str) -> str:
        """A lease to ask for along with this admission: only when the key's calls come often
        (one lease under way at a time)."""
        now = asyncio.get_running_loop().time()
        last, self._last_call[key_id] = self._last_call.get(key_id), now
        if last is None or now - last >= self._lease_seconds or key_id in self._leasing:
            return ""
        self._leasing.add(key_id)
        return uuid.uuid4().hex

    def _admit_from(self, lease: _Lease, local: Reservation, key_id: str, premium: float,
                    credits: float) -> RedisReservation:
        share = lease.take(premium, credits)
        self._keep_alive(key_id, lease)
        if 2 * lease.used >= lease.calls and key_id not in self._leasing:  # half used: the next one now
            self._leasing.add(key_id)
            self._link.spawn(self._renew(key_id, premium, credits))
        return RedisReservation(self, local, key_id, lease.day, lease.hold, share)

    async def _renew(self, key_id: str, premium: float, credits: float) -> None:
        """The next lease, taken before this one runs out (off the request's way)."""
        day, lease_id = self._today(), uuid.uuid4().hex
        try:
            answer = await self._ask(day, key_id, premium, credits, "", lease_id)
        except RedisDown:
            self._leasing.discard(key_id)
            return
        if _text(answer[0]) == "ok":
            self._leased(key_id, day, lease_id, int(answer[1]), premium, credits)
        else:
            self._leasing.discard(key_id)

    def _leased(self, key_id: str, day: dt.date, lease_id: str, calls: int, premium: float, credits: float) -> None:
        """Redis granted a lease of `calls` calls (0: none): it replaces the key's last one."""
        self._leasing.discard(key_id)
        if calls < 1:
            return
        inf = math.inf
        lease = _Lease(lease_id, day,
                       premium_left=inf if self.premium_budget is None else calls * premium,
                       credits_left=inf if self.credit_budget is None else calls * credits,
                       calls=calls, expires=0.0)
        old = self._leases.get(key_id)
        self._leases[key_id] = lease
        self._keep_alive(key_id, lease)
        if old is not None:
            self._give_back(key_id, old)

    def _keep_alive(self, key_id: str, lease: _Lease) -> None:
        """A lease in use stays LEASE_SECONDS more; then what it has left goes back."""
        loop = asyncio.get_running_loop()
        lease.expires = loop.time() + self._lease_seconds
        if lease.timer is None:
            lease.timer = loop.call_at(lease.expires, self._expire, key_id, lease)

    def _expire(self, key_id: str, lease: _Lease) -> None:
        lease.timer = None
        now = asyncio.get_running_loop().time()
        if self._leases.get(key_id) is lease and now < lease.expires:  # used since: wait on
            lease.timer = asyncio.get_running_loop().call_at(lease.expires, self._expire, key_id, lease)
            return
        if self._leases.get(key_id) is lease:
            del self._leases[key_id]
        self._give_back(key_id, lease)

    def give_back_leases(self) -> None:
        """Stopping: what the leases have not used goes back (sent with the settlements)."""
        for key_id in list(self._leases):
            self._give_back(key_id, self._leases.pop(key_id))

    def _give_back(self, key_id: str, lease: _Lease) -> None:
        if lease.timer is not None:
            lease.timer.cancel()
            lease.timer = None
        premium, credits = lease.leftover()
        if premium > EPSILON or credits > EPSILON:
            self._queue(_Settlement(lease.day, lease.hold, premium, credits, key_id, "", 0.0, 0.0, self._today()))

    # settlement ------------------------------------------------------------------------------

    def settle_shared(self, reservation: RedisReservation, *, model: str, credits: float, premium: float) -> None:
        """Free the call's share of its hold in Redis and charge it there, in the background:
        the settlements of SETTLE_BATCH_DELAY go in one round trip (at concurrency 1 that keeps
        them off the next request's way). While Redis is away, they wait for its return."""
        if reservation.hold is None and premium <= 0 and credits <= 0:
            return
        self._queue(_Settlement(reservation.day, reservation.hold or "", *reservation.share, reservation.key_id,
                                model, premium, credits, self._today()))

    def _queue(self, settlement: _Settlement) -> None:
        if not self._link.up:
            self._keep_for_later([settlement])
            return
        self._pending.append(settlement)
        if self._flusher is None or self._flusher.done():
            self._flusher = self._link.spawn(self._flush_soon())

    async def _flush_soon(self) -> None:
        # settlements queued while a batch is on its way go in the next one (no flusher is
        # started for them: this one is still running)
        while self._pending:
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
            args += [one.held_on.isoformat(), one.hold, repr(float(one.free_premium)), repr(float(one.free_credits)),
                     one.key_id, one.model, repr(float(one.premium)), repr(float(one.credits)),
                     one.answered_on.isoformat()]
        await self._settle(args=args)

    def _keep_for_later(self, batch: list[_Settlement]) -> None:
        """Redis is away: keep what to charge (summed per day, key and model) and what holds to
        free, for when it is back."""
        for one in batch:
            if one.premium > 0 or one.credits > 0:
                charge = self._unsynced.setdefault((one.answered_on, one.key_id, one.model), _Charge())
                charge.premium += one.premium
                charge.credits += one.credits
            if one.hold:
                freed = self._unfreed.setdefault((one.held_on, one.hold, one.key_id), _Charge())
                freed.premium += one.free_premium
                freed.credits += one.free_credits

    async def _push_unsynced(self) -> None:
        """Redis is back: charge it with what was spent while it was away (yesterday's too),
        and free the holds the calls of that time stood on."""
        self.give_back_leases()  # taken before Redis went away
        await self._flush()
        oldest = self._today() - dt.timedelta(days=1)
        batch = [_Settlement(day, "", 0.0, 0.0, key_id, model, charge.premium, charge.credits, day)
                 for (day, key_id, model), charge in self._unsynced.items() if day >= oldest]
        batch += [_Settlement(day, hold, freed.premium, freed.credits, key_id, "", 0.0, 0.0, day)
                  for (day, hold, key_id), freed in self._unfreed.items() if day >= oldest]
        if batch:
            await self._send(batch)
        self._unsynced.clear()
        self._unfreed.clear()

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
    # per key: spent premium (p) and credits (ct); held premium (hp) and credits (hc), of which
    # leases hold lp and lc; the credits per key and model (c) apart
    per_key: dict[str, dict[str, float]] = {kind: {} for kind in ("p", "ct", "hp", "hc", "lp", "lc")}
    by_key_model: dict[tuple[str, str], float] = {}
    for name, value in fields.items():
        kind, _, rest = name.partition(SEP)
        if kind == "c":
            key, _, model = rest.partition(SEP)
            by_key_model[(key, model)] = value
        elif kind in per_key:
            per_key[kind][rest] = value
    premium_by_key, credits_by_key = per_key["p"], per_key["ct"]
    keys = [key_id] if key_id is not None else sorted(set(premium_by_key) | set(credits_by_key))
    by_model: dict[str, float] = {}
    for (key, model), credits in by_key_model.items():
        if key in keys:
            by_model[model] = by_model.get(model, 0.0) + credits
    held_keys = [key_id] if key_id is not None else list(per_key["hp"].keys() | per_key["hc"].keys())

    def held(kind: str, less: str | None = None) -> float:
        """The sum over the keys shown of `kind`, less `less`."""
        return round(sum(per_key[kind].get(k, 0.0) - (per_key[less].get(k, 0.0) if less else 0.0)
                         for k in held_keys), DIGITS)

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
        "held_by_calls_in_flight": {"premium_requests": held("hp", less="lp"), "ai_credits": held("hc", less="lc")},
        # budget replicas took ahead for their next calls (see LEASE_SECONDS)
        "held_by_leases": {"premium_requests": held("lp"), "ai_credits": held("lc")},
        "shared_by": "redis",
    }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
