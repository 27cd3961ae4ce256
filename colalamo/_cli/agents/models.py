"""Which of the catalogue's models a coding agent gets: pure functions of `GET /v1/models`.

Claude Code wants a main model (the newest Claude Sonnet, else Opus, else any Claude) and a
small one for its background calls (one the catalogue does not bill, else the cheapest).
Codex speaks only the Responses API: a model Copilot serves on `/responses`, a -codex one
first, else a GPT-5 one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Model = Mapping[str, Any]

#: What `colalamo env` prints when no colalamo answers: models a 2026 Copilot catalogue has.
DEFAULT_CLAUDE_MODEL = "claude-sonnet-4.5"
DEFAULT_SMALL_MODEL = "gpt-4.1"
DEFAULT_CODEX_MODEL = "gpt-5.3-codex"


@dataclass(frozen=True)
class ClaudeCodeModels:
    main: str  # ANTHROPIC_MODEL, and what the `sonnet` alias names
    opus: str  # what the `opus` alias names (subagents and /model may ask for it)
    small: str  # the `haiku` alias: titles, summaries, the start-up warmup


DEFAULT_CLAUDE_CODE = ClaudeCodeModels(DEFAULT_CLAUDE_MODEL, DEFAULT_CLAUDE_MODEL, DEFAULT_SMALL_MODEL)


def pick_claude_code(
    catalogue: Sequence[Model], *, main: str | None = None, small: str | None = None
) -> ClaudeCodeModels:
    """Claude Code's models from the catalogue; `main` / `small` (the user's choice) win."""
    chat = chat_models(catalogue)
    if not chat:  # no catalogue to read: the documented defaults
        fallback = main or DEFAULT_CLAUDE_CODE.main
        return ClaudeCodeModels(fallback, main or DEFAULT_CLAUDE_CODE.opus, small or DEFAULT_CLAUDE_CODE.small)
    claude = [m for m in chat if _id(m).startswith("claude")]
    sonnet = _newest([m for m in claude if "sonnet" in _id(m)])
    opus = _newest([m for m in claude if "opus" in _id(m)])
    picked_main = main or sonnet or opus or _newest(claude) or _id(chat[0])
    return ClaudeCodeModels(
        main=picked_main,
        opus=opus or picked_main,
        small=small or pick_small(chat) or picked_main,
    )


def pick_codex(catalogue: Sequence[Model], *, model: str | None = None) -> str:
    """Codex's model: the user's, else the newest -codex model on `/responses`, else a GPT-5
    one there, else any model on `/responses`, else any chat model (colalamo translates)."""
    if model:
        return model
    chat = chat_models(catalogue)
    responses = [m for m in chat if "/responses" in (m.get("supported_endpoints") or ())]
    return (
        _newest([m for m in responses if "codex" in _id(m)])
        or _newest([m for m in responses if _id(m).startswith("gpt-5")])
        or _newest(responses)
        or _first_id(chat)
        or DEFAULT_CODEX_MODEL
    )


def pick_small(catalogue: Sequence[Model]) -> str | None:
    """A cheap model that can call tools: unbilled first, then the lowest token price; the
    catalogue's order breaks ties (Copilot lists its everyday models first)."""
    usable = [m for m in chat_models(catalogue) if _supports(m, "tool_calls")]
    ranked = sorted(usable, key=lambda m: (_is_billed(m), _price(m)))
    return _id(ranked[0]) if ranked else None


def chat_models(catalogue: Sequence[Model]) -> list[Model]:
    """The models that chat (no embeddings) and are not disabled, in catalogue order."""
    return [
        m for m in catalogue
        if isinstance(m, Mapping) and _id(m)
        and (m.get("capabilities") or {}).get("type", "chat") == "chat"
        and (m.get("policy") or {}).get("state") != "disabled"
    ]


def version_of(model_id: str) -> tuple[int, ...]:
    """`gpt-5.3-codex` -> (5, 3); `claude-sonnet-4` -> (4,). Long numbers (dates) are left out
    so that a dated id does not outrank a newer version."""
    return tuple(int(n) for n in re.findall(r"\d+", model_id) if len(n) <= 3)


def _newest(models: Sequence[Model]) -> str | None:
    """The newest version; a released model before a preview, a full one before a -mini, and
    the plain id before its variants (gpt-5.3-codex before gpt-5.3-codex-max)."""
    def rank(m: Model) -> tuple[Any, ...]:
        return (not m.get("preview"), "mini" not in _id(m), version_of(_id(m)), -len(_id(m)))

    return _id(max(models, key=rank)) if models else None


def _id(model: Model) -> str:
    value = model.get("id")
    return value if isinstance(value, str) else ""


def _first_id(models: Sequence[Model]) -> str | None:
    return _id(models[0]) if models else None


def _supports(model: Model, feature: str) -> bool:
    supports = (model.get("capabilities") or {}).get("supports") or {}
    return bool(supports.get(feature, True))  # an older catalogue that does not say: assume yes


def _is_billed(model: Model) -> bool:
    billing = model.get("billing") or {}
    return bool(billing.get("is_premium")) or (billing.get("multiplier") or 0) > 0


def _price(model: Model) -> float:
    """AI credits per million input plus output tokens; 0 when the catalogue names no price."""
    prices = ((model.get("billing") or {}).get("token_prices") or {}).get("default") or {}
    return float(prices.get("input_price") or 0) + float(prices.get("output_price") or 0)
