"""Admission: the model a call will use, held against the daily budgets before it is sent.

Policy, apart from sending (`transport`) and from routing (`routing`): what a call is
expected to cost, whether the budgets let it through, and the cheaper model that answers
instead when one is set (COLALAMO_BUDGET_FALLBACK_MODEL)."""

from __future__ import annotations

import logging

from .._state.base import Budgets
from .billing import Bill
from .catalogue import Catalogue, ModelEntry
from .context import current_call
from .normalize import Json
from .pricing import estimate_credits, premium_cost

log = logging.getLogger(__name__)


class Admission:
    def __init__(self, budgets: Budgets, catalogue: Catalogue, fallback: str | None) -> None:
        self._budgets = budgets
        self._catalogue = catalogue
        self._fallback = fallback

    async def admit(self, entry: ModelEntry, initiator: str, body: Json) -> tuple[ModelEntry, Bill]:
        """The model a call will use, admitted against the daily budgets.

        Admission holds the call's expected cost (premium requests; AI credits estimated from
        the body) until the call is settled or released through its `Bill`. Over a budget, the
        call is refused (429 until midnight UTC), or moved to COLALAMO_BUDGET_FALLBACK_MODEL
        when one is set.
        """
        premium, credits = premium_cost(entry.info, initiator), estimate_credits(entry.info, body)
        call = current_call()
        fallback = self._fallback
        if fallback and fallback != entry.id and not await self._budgets.would_admit(
                call.key_id, premium=premium, credits=credits):
            log.info("daily budget used up; %s answers instead of %s", fallback, entry.id)
            call.fallback_from, call.fallback_to = entry.id, fallback
            entry = await self._catalogue.lookup(fallback)
            premium, credits = premium_cost(entry.info, initiator), estimate_credits(entry.info, body)
        reservation = await self._budgets.admit(call.key_id, premium=premium, credits=credits)  # or RateLimited
        return entry, Bill(reservation, call, model=entry.id, info=entry.info, premium=premium, estimate=credits)
