"""Copilot's refusals, made into errors a client can act on.

Clients act on their own wording: OpenAI clients look for `context_length_exceeded`, Claude
Code compacts its conversation only on Anthropic's `prompt is too long: N tokens > M maximum`
(the server's Anthropic renderer words it so from `ContextTooLong`), and a 402 must say that
retrying is useless.
"""

from __future__ import annotations

import re
from typing import Any

from .._translate.responses import ENDPOINT as RESPONSES
from ..exceptions import ContextTooLong, OutOfCredits, UpstreamStatusError
from .catalogue import ModelEntry
from .pricing import prompt_tokens

OVERFLOW_CODES = frozenset({"model_max_prompt_tokens_exceeded", "context_length_exceeded"})
_COUNTS = re.compile(r"prompt token count of (\d+) exceeds the limit of (\d+)")
_CONTEXT_WINDOW = re.compile(r"context (window|length)", re.IGNORECASE)


def refine(exc: UpstreamStatusError, client_endpoint: str, entry: ModelEntry, body: Any) -> UpstreamStatusError:
    if exc.status == 402:
        return OutOfCredits(exc.message)
    if exc.status == 400 and _is_overflow(exc):
        prompt, limit = _counts(exc.message, entry, body)
        return ContextTooLong(prompt, limit, param="input" if client_endpoint == RESPONSES else "messages",
                              upstream_message=exc.message)
    return exc


def _is_overflow(exc: UpstreamStatusError) -> bool:
    if exc.code in OVERFLOW_CODES:
        return True
    return exc.code == "invalid_request_body" and bool(_CONTEXT_WINDOW.search(exc.message))


def _counts(message: str, entry: ModelEntry, body: Any) -> tuple[int, int]:
    """N and M of the overflow: from Copilot's message, else the model's limit and an estimate
    (which errs high, so a client compacts enough)."""
    found = _COUNTS.search(message)
    if found:
        return int(found.group(1)), int(found.group(2))
    limits = ((entry.info or {}).get("capabilities") or {}).get("limits") or {}
    limit = int(limits.get("max_prompt_tokens") or limits.get("max_context_window_tokens") or 0)
    return max(prompt_tokens(body), limit + 1), limit
