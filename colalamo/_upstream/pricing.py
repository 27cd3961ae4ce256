"""What a call costs, in both of Copilot's units: premium requests and AI credits.

Pure functions of the model's `/models` entry (`billing`) and a request body or an answer.

- Premium requests (plans billed per request): the model's `billing.multiplier` for a
  person's turn on a premium model.
- AI credits (billed by tokens since 2026-06-01): the answer says what it cost in
  `copilot_usage.total_nano_aiu` (1e9 per credit). Before the call, only an estimate is
  possible: the prompt's tokens at the input price plus the most output the call may produce
  at the output price, with `billing.token_prices` (credits per `batch_size` tokens; the
  `long_context` prices apply once the prompt is past `default.context_max`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._json import MAPPING
from .._token_estimate import estimate_tokens

NANO_PER_CREDIT = 1e9
#: Request fields whose content the model reads, in any of the three wire formats
#: (chat `messages`; Responses `input`/`instructions`; Anthropic `messages`/`system`).
PROMPT_FIELDS = ("messages", "input", "instructions", "system", "tools")
#: Output limits a request may set, by format (chat, chat's newer name, Responses; Anthropic
#: uses `max_tokens` too).
OUTPUT_LIMIT_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
#: Output assumed when neither the request nor the model names a limit.
DEFAULT_OUTPUT_TOKENS = 4096


def premium_cost(info: Mapping[str, Any] | None, initiator: str) -> float:
    """Premium requests one call costs: the multiplier for a person's turn on a premium model."""
    billing = (info or {}).get("billing") or {}
    if initiator != "user" or not billing.get("is_premium"):
        return 0.0
    try:
        return float(billing.get("multiplier", 1.0))
    except (TypeError, ValueError):
        return 1.0


@dataclass(frozen=True)
class PriceTier:
    """Credits per batch of tokens, up to a prompt of `context_max` tokens (None: no limit)."""

    input: float
    cache: float
    output: float
    context_max: float | None


@dataclass(frozen=True)
class TokenPrices:
    batch_size: float
    default: PriceTier
    long_context: PriceTier | None

    def tier(self, prompt_tokens: float) -> PriceTier:
        """The prices for a prompt of this size: long-context ones past the default's limit."""
        limit = self.default.context_max
        if self.long_context is not None and limit is not None and prompt_tokens > limit:
            return self.long_context
        return self.default

    def cost(self, *, input: float = 0, cached: float = 0, output: float = 0) -> float:
        """Credits for so many uncached input, cached input and output tokens."""
        tier = self.tier(input + cached)
        return (input * tier.input + cached * tier.cache + output * tier.output) / self.batch_size


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _tier(raw: Any) -> PriceTier | None:
    if not isinstance(raw, MAPPING):
        return None
    input_price, output_price = _number(raw.get("input_price")), _number(raw.get("output_price"))
    if input_price is None or output_price is None:
        return None
    cache_price = _number(raw.get("cache_price"))
    return PriceTier(
        input=input_price,
        cache=input_price if cache_price is None else cache_price,  # no cache price: as input
        output=output_price,
        context_max=_number(raw.get("context_max")),
    )


#: Prices read from a model's entry, by the entry's id (the entry is kept with them, so the id
#: stays its own): every call of a priced model reads them, and the catalogue's entries are
#: the same objects from one refresh to the next.
_read: dict[int, tuple[Mapping[str, Any], TokenPrices | None]] = {}
_READ_MOST = 1024


def token_prices(info: Mapping[str, Any] | None) -> TokenPrices | None:
    """The model's `billing.token_prices`; None when it has none (or they are malformed)."""
    if info is None:
        return None
    known = _read.get(id(info))
    if known is not None and known[0] is info:
        return known[1]
    if len(_read) >= _READ_MOST:
        _read.clear()
    prices = _read_prices(info)
    _read[id(info)] = (info, prices)
    return prices


def _read_prices(info: Mapping[str, Any]) -> TokenPrices | None:
    billing = info.get("billing")
    raw = billing.get("token_prices") if isinstance(billing, MAPPING) else None
    if not isinstance(raw, MAPPING):
        return None
    batch_size = _number(raw.get("batch_size"))
    default = _tier(raw.get("default"))
    if not batch_size or default is None:
        return None
    return TokenPrices(batch_size, default, _tier(raw.get("long_context")))


def _output_limit(info: Mapping[str, Any] | None, body: Mapping[str, Any]) -> float:
    for name in OUTPUT_LIMIT_FIELDS:
        asked = _number(body.get(name))
        if asked is not None:
            return asked
    limits = ((info or {}).get("capabilities") or {}).get("limits") or {}
    model_limit = _number(limits.get("max_output_tokens")) if isinstance(limits, MAPPING) else None
    return model_limit if model_limit is not None else DEFAULT_OUTPUT_TOKENS


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """An estimate (on the high side) of the prompt's tokens, in any of the three formats."""
    return sum(estimate_tokens(body[name]) for name in PROMPT_FIELDS if body.get(name) is not None)


def estimate_credits(info: Mapping[str, Any] | None, body: Mapping[str, Any]) -> float:
    """The most one request is expected to cost, in AI credits: what admission holds back.

    The prompt's estimated tokens at the input price, plus the request's output limit (else
    the model's) at the output price. A model without `token_prices` costs 0.
    """
    prices = token_prices(info)
    if prices is None:
        return 0.0
    return prices.cost(input=prompt_tokens(body), output=_output_limit(info, body))


def credits_of(copilot_usage: Any) -> float | None:
    """The credits an answer says it cost: `total_nano_aiu` / 1e9, else the sum of its
    `token_details`; None when it carries neither in a usable shape."""
    if not isinstance(copilot_usage, MAPPING):
        return None
    total = _number(copilot_usage.get("total_nano_aiu"))
    if total is not None:
        return total / NANO_PER_CREDIT
    details = copilot_usage.get("token_details")
    if not isinstance(details, list) or not details:
        return None
    nano = 0.0
    for detail in details:
        if not isinstance(detail, MAPPING):
            return None
        count, cost, batch = (_number(detail.get(k)) for k in ("token_count", "cost_per_batch", "batch_size"))
        if count is None or cost is None or not batch:
            return None
        nano += count * cost / batch
    return nano / NANO_PER_CREDIT


def _count(usage: Mapping[str, Any], *names: str) -> float | None:
    for name in names:
        value = _number(usage.get(name))
        if value is not None:
            return value
    return None


def _cached(usage: Mapping[str, Any]) -> float:
    for details in ("prompt_tokens_details", "input_tokens_details"):
        inner = usage.get(details)
        if isinstance(inner, MAPPING) and _number(inner.get("cached_tokens")) is not None:
            return _number(inner["cached_tokens"]) or 0.0
    return 0.0


def credits_from_usage(info: Mapping[str, Any] | None, usage: Any) -> float | None:
    """Credits by pricing an answer's `usage` token counts (for answers without
    `copilot_usage`); None when `usage` counts no tokens. A model without prices costs 0.

    OpenAI formats count cached tokens inside `prompt_tokens`/`input_tokens`; Anthropic's
    counts them apart (`cache_read_input_tokens`, `cache_creation_input_tokens`).
    """
    if not isinstance(usage, MAPPING):
        return None
    prompt = _count(usage, "prompt_tokens", "input_tokens")
    output = _count(usage, "completion_tokens", "output_tokens")
    if prompt is None and output is None:
        return None
    prices = token_prices(info)
    if prices is None:
        return 0.0
    prompt = prompt or 0.0
    if "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage:  # Anthropic's way
        cached = _count(usage, "cache_read_input_tokens") or 0.0
        prompt += _count(usage, "cache_creation_input_tokens") or 0.0
    else:
        cached = min(_cached(usage), prompt)
        prompt -= cached
    return prices.cost(input=prompt, cached=cached, output=output or 0.0)
