"""What one request carries across layers without threading it through every call: who is
asking (a key id, for per-key budgets) and what colalamo did about it (premium cost, model
fallback). The server sets it per request; library calls get a fresh one each."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass
class CallContext:
    key_id: str = "default"
    premium_cost: float = 0.0
    fallback_from: str | None = None
    fallback_to: str | None = None
    copilot_usage: Any = None  # what Copilot billed for the call, as it reported it


_current: ContextVar[CallContext | None] = ContextVar("colalamo_call", default=None)


def current_call() -> CallContext:
    """The context of the request being served; a throw-away one outside the server."""
    context = _current.get()
    return context if context is not None else CallContext()


def begin_call(key_id: str) -> CallContext:
    context = CallContext(key_id=key_id)
    _current.set(context)
    return context
