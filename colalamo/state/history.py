"""The request ledger: one row per API request (never message content, never a key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestRow:
    at: float  # epoch seconds, when it ended
    key_id: str  # "default", or "key-" and a hash of the key (as in the metrics)
    client: str  # from the User-Agent: claude-code, codex, openai-python, ...
    surface: str  # chat, messages, responses, ...
    model_asked: str | None
    model_used: str | None  # the Copilot model charged (after aliases and budget fallback)
    endpoint: str | None  # the Copilot endpoint that answered: /chat/completions, /responses, /v1/messages
    initiator: str | None  # user or agent, as Copilot was told
    interaction: str | None  # the interaction type Copilot was told (conversation-agent, ...)
    status: int
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None
    credits: float
    premium: float
    latency_ms: float | None
    ttft_ms: float | None


class NoHistory:
    """Keeps nothing (a process with no data directory to write to)."""

    def record(self, row: RequestRow) -> None:
        pass

    async def summary(self, days: int, key_id: str | None = None) -> dict[str, Any]:
        return {"days": days, "rows": []}
