"""State that outlives a request: see `base.py` for the seam, `open_state` to open it."""

from .base import (
                   Backoff,
                   Budgets,
                   Limiter,
                   ModelsCache,
                   RequestHistory,
                   Reservation,
                   ResponsesStore,
                   SharedState,
                   open_state,
)

__all__ = ["Backoff", "Budgets", "Limiter", "ModelsCache", "RequestHistory", "Reservation", "ResponsesStore",
           "SharedState", "open_state"]
