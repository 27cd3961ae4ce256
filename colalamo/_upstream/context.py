"""What one request carries across layers without threading it through every call: who is
asking (a key id, for per-key budgets) and what colalamo did about it (what the calls it made
to Copilot cost, model fallback). The server sets it per request and reads it for the access
log and the metrics; library calls get a fresh one each.

One request may make several upstream calls (`/v1/completions` with several prompts): the
costs add up here, while each call's hold on the budgets stays with that call (`Bill`)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallContext:
    key_id: str = "default"
    premium_cost: float = 0.0  # premium requests charged (settled calls only)
    credits: float = 0.0  # AI credits charged (settled calls only)
    billed_model: str | None = None  # the Copilot model last charged
    copilot_usage: Any = None  # the last answer's `copilot_usage`, as Copilot sent it
    fallback_from: str | None = None
    fallback_to: str | None = None
    ignored_tools: list[str] = field(default_factory=list)  # left out: the model cannot take them
    client_session: str | None = None  # the session the client named in a header (x-session-id)
    # how the last call went to Copilot, for the request ledger
    endpoint: str | None = None  # /chat/completions, /responses or /v1/messages
    initiator: str | None = None  # user or agent
    interaction: str | None = None  # the X-Interaction-Type Copilot was told
    #: time.monotonic() when the first call to Copilot was handed to the HTTP client, and when
    #: the last one's answer was in (its headers for a stream, its whole body otherwise): what
    #: lies between is Copilot's time, the rest colalamo's own (the Server-Timing header)
    upstream_sent: float | None = None
    upstream_answered: float | None = None

    def note_sent(self, at: float) -> None:
        if self.upstream_sent is None:
            self.upstream_sent = at

    def note_answered(self, at: float) -> None:
        self.upstream_answered = at

    def own_time(self, started: float, now: float) -> float:
        """Seconds of `started`..`now` that colalamo spent itself: all of it when no call to
        Copilot was answered, else the time before the first call was sent and after the
        last answer was in."""
        if self.upstream_sent is None or self.upstream_answered is None:
            return now - started
        return max(0.0, self.upstream_sent - started) + max(0.0, now - self.upstream_answered)


_current: ContextVar[CallContext | None] = ContextVar("colalamo_call", default=None)


def current_call() -> CallContext:
    """The context of the request being served; a throw-away one outside the server."""
    context = _current.get()
    return context if context is not None else CallContext()


def begin_call(key_id: str, client_session: str | None = None) -> CallContext:
    context = CallContext(key_id=key_id, client_session=client_session)
    _current.set(context)
    return context
