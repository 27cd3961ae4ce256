"""One upstream call's bill: the hold admission took, what the answer says it cost, and the
settlement, in both units.

The client opens a `Bill` right after admission and uses it as an async context manager
around the call:

    async with bill:                       # on the way out: settle, or release
        response = await send(...)
        bill.answered()                    # Copilot accepted the call (2xx): it will be charged
        for payload in answer: bill.observe(payload)

Leaving the block settles the call when Copilot answered it (whatever happened after: a
stream that broke or a client that left still cost tokens), or when the client left while
Copilot was working on it (`sent()` was called; the estimate is kept), and releases the hold
when Copilot refused it (an error status) or could not be reached: that costs nothing.

`observe` takes any whole answer or SSE payload of any of the three wire formats: it keeps
`copilot_usage` wherever a payload carries it at the top level (chat: the chunk with
`finish_reason`; `/responses`: `response.completed`; `/v1/messages`: the last
`message_delta`), and the token `usage` as a fallback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from .._json import MAPPING
from .._state.base import Reservation
from .context import CallContext
from .pricing import credits_from_usage, credits_of

Json = dict[str, Any]
#: Where answers nest their token usage besides the top level: Anthropic's `message_start`
#: (`message.usage`) and the Responses events (`response.usage`).
USAGE_HOMES = ("message", "response")
#: The keys under which a payload may say what it cost; a payload with none of them says nothing.
_COST_KEYS = frozenset({"copilot_usage", "usage", *USAGE_HOMES})


class Bill:
    def __init__(
        self,
        reservation: Reservation,
        call: CallContext,
        *,
        model: str,
        info: Mapping[str, Any] | None,
        premium: float,
        estimate: float,
    ) -> None:
        self._reservation = reservation
        self._done = False  # settled or released: the hold is gone
        self._call = call
        self.model = model
        self._info = info
        self.premium = premium
        self.estimate = estimate
        self.copilot_usage: Any = None
        self.usage: Json = {}
        self._answered = False
        self._sent = False

    def sent(self) -> None:
        """The request is on its way to Copilot: if the caller gives up now, Copilot may still
        answer it and charge for it."""
        self._sent = True

    def answered(self) -> None:
        """Copilot accepted the call: from here on it is charged, even if the answer breaks."""
        self._answered = True

    def observe(self, payload: Any) -> None:
        """Look at a whole answer or one stream payload for what the call cost."""
        if type(payload) is dict and _COST_KEYS.isdisjoint(payload):
            return  # most stream chunks: one look at their keys, in C
        if not isinstance(payload, MAPPING):
            return
        if payload.get("copilot_usage") is not None:
            self.copilot_usage = payload["copilot_usage"]
        for home in (payload, *map(payload.get, USAGE_HOMES)):  # map: no generator frame
            usage = home.get("usage") if isinstance(home, MAPPING) else None
            if isinstance(usage, MAPPING):  # Anthropic splits it: input first, output at the end
                self.usage.update({k: v for k, v in usage.items() if v is not None})

    @property
    def credits(self) -> float:
        """The call's cost in AI credits: what Copilot said, else its token usage priced,
        else the estimate admission held."""
        cost = credits_of(self.copilot_usage)
        if cost is None:  # priced from the tokens only when Copilot did not say
            cost = credits_from_usage(self._info, self.usage)
        return cost if cost is not None else self.estimate

    async def settle(self) -> None:
        """Charge the call's real cost (idempotent) and note it on the call's context."""
        if self._done:
            return
        self._done = True
        credits = self.credits
        self._call.credits += credits
        self._call.premium_cost += self.premium
        self._call.billed_model = self.model
        self._call.copilot_usage = self.copilot_usage
        await self._reservation.settle(model=self.model, credits=credits, premium=self.premium)

    def release(self) -> None:
        self._done = True
        self._reservation.release()

    async def __aenter__(self) -> Bill:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        abandoned = self._sent and exc_type is not None and issubclass(exc_type, asyncio.CancelledError)
        if self._answered or abandoned:
            await self.settle()  # never waits, so it holds even in a cancelled task
        else:
            self.release()
