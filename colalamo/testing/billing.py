"""AI credits (since 2026-06-01): the `copilot_usage` Copilot attaches to every successful
inference answer, computed from the model's `billing.token_prices`."""

from __future__ import annotations

from typing import Any

from .catalogue import PRICE_BATCH

Json = dict[str, Any]
NANO_PER_CREDIT = 1_000_000_000


def _tier(prices: Json, input_tokens: int) -> Json:
    """The prices that apply: `long_context` once the prompt passes `default.context_max`."""
    default: Json = prices.get("default") or {}
    long_context = prices.get("long_context")
    if long_context and input_tokens > default.get("context_max", input_tokens):
        return dict(long_context)
    return default


def copilot_usage(model: Json, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> Json:
    """`{"token_details": [...], "total_nano_aiu": N}` for one answer of `model`.

    A model without `token_prices` (an included model) is charged nothing: its entries cost 0.
    """
    prices: Json = (model.get("billing") or {}).get("token_prices") or {}
    batch = int(prices.get("batch_size") or PRICE_BATCH)
    tier = _tier(prices, input_tokens) if prices else {}
    counts = (
        ("input", input_tokens - cached_tokens, tier.get("input_price", 0)),
        ("cache_read", cached_tokens, tier.get("cache_price", 0)),
        ("output", output_tokens, tier.get("output_price", 0)),
    )
    details = [
        {"batch_size": batch, "cost_per_batch": round(price * NANO_PER_CREDIT), "model": model["id"],
         "token_count": count, "token_type": kind}
        for kind, count, price in counts
    ]
    exact = sum(d["token_count"] * d["cost_per_batch"] for d in details)
    return {"token_details": details, "total_nano_aiu": (exact + batch // 2) // batch}
