"""The fake's model list, shaped like Copilot's 2026 `GET /models`, and its account quota.

The catalogue mixes the three kinds of models a 2026 client meets: older chat-only models
without `supported_endpoints` (and not billed), Claude served natively on `/v1/messages`,
and GPT-5 models on `/responses` (one of them responses-only).
"""

from __future__ import annotations

from typing import Any

#: The `X-GitHub-Api-Version` from which `/models` shows `billing.token_prices`.
TOKEN_PRICES_SINCE = "2026-06-01"
#: Prices travel per batch of this many tokens.
PRICE_BATCH = 1_000_000


def token_prices(input_price: float, cache_price: float, output_price: float, context_max: int,
                 long_context: tuple[float, float, float, int] | None = None) -> dict[str, Any]:
    """A model's `billing.token_prices`: AI credits per batch of a million tokens."""

    def tier(i: float, c: float, o: float, m: int) -> dict[str, Any]:
        return {"input_price": i, "cache_price": c, "output_price": o, "context_max": m}

    default = tier(input_price, cache_price, output_price, context_max)
    prices: dict[str, Any] = {"batch_size": PRICE_BATCH, "default": default}
    if long_context:
        prices["long_context"] = tier(*long_context)
    return prices


def _chat_model(
    model_id: str,
    name: str,
    vendor: str,
    version: str,
    family: str,
    *,
    context: int,
    output: int,
    prompt: int,
    multiplier: float = 0,
    prices: dict[str, Any] | None = None,
    price_category: str | None = None,
    vision: bool = True,
    endpoints: tuple[str, ...] | None = None,
    supports: dict[str, Any] | None = None,
) -> dict[str, Any]:
    billing: dict[str, Any] = {"is_premium": multiplier > 0, "multiplier": multiplier}
    if price_category:
        billing["model_picker_price_category"] = price_category
    if prices:
        billing["token_prices"] = prices
    model: dict[str, Any] = {
        "id": model_id,
        "name": name,
        "object": "model",
        "vendor": vendor,
        "version": version,
        "preview": False,
        "model_picker_enabled": True,
        "model_picker_category": "versatile",
        "policy": {"state": "enabled", "terms": ""},
        "billing": billing,
        "capabilities": {
            "family": family,
            "object": "model_capabilities",
            "type": "chat",
            "tokenizer": "o200k_base",
            "limits": {
                "max_context_window_tokens": context,
                "max_output_tokens": output,
                "max_prompt_tokens": prompt,
                **({"vision": {"max_prompt_images": 1, "max_prompt_image_size": 3145728}} if vision else {}),
            },
            "supports": {
                "streaming": True,
                "tool_calls": True,
                "parallel_tool_calls": True,
                "vision": vision,
                "structured_outputs": True,
                **(supports or {}),
            },
        },
    }
    if endpoints is not None:  # older models leave the field out: chat completions only
        model["supported_endpoints"] = list(endpoints)
    return model


def default_models() -> list[dict[str, Any]]:
    effort = {"reasoning_effort": ["low", "medium", "high"]}
    return [
        _chat_model("gpt-4.1", "GPT-4.1", "Azure OpenAI", "gpt-4.1-2025-04-14", "gpt-4.1",
                    context=128000, output=16384, prompt=111616),
        _chat_model("gpt-4o", "GPT-4o", "Azure OpenAI", "gpt-4o-2024-11-20", "gpt-4o",
                    context=128000, output=4096, prompt=64000),
        _chat_model("claude-sonnet-4", "Claude Sonnet 4", "Anthropic", "claude-sonnet-4",
                    "claude-sonnet-4", context=216000, output=16000, prompt=128000, multiplier=1.0,
                    prices=token_prices(300, 30, 1500, 200000, (600, 60, 2250, 1000000)), price_category="medium",
                    endpoints=("/v1/messages", "/chat/completions"),
                    supports={"thinking": True, "adaptive_thinking": False, "context_editing": True}),
        _chat_model("o3-mini", "o3-mini", "Azure OpenAI", "o3-mini-2025-01-31", "o3-mini",
                    context=200000, output=100000, prompt=64000, multiplier=0.33, vision=False,
                    prices=token_prices(110, 55, 440, 200000), price_category="low"),
        _chat_model("gpt-5.4", "GPT-5.4", "Azure OpenAI", "gpt-5.4-2026-03-05", "gpt-5.4",
                    context=400000, output=128000, prompt=272000, multiplier=1.0,
                    prices=token_prices(250, 25, 1500, 272000, (500, 50, 2250, 1050000)), price_category="medium",
                    endpoints=("/responses", "/chat/completions", "ws:/responses"), supports=effort),
        _chat_model("gpt-5.3-codex", "GPT-5.3-Codex", "OpenAI", "gpt-5.3-codex", "gpt-5.3-codex",
                    context=400000, output=128000, prompt=272000, multiplier=1.0,
                    prices=token_prices(175, 18, 1400, 272000), price_category="medium",
                    endpoints=("/responses", "ws:/responses"), supports=effort),
        {
            "id": "text-embedding-3-small",
            "name": "Embedding V3 small",
            "object": "model",
            "vendor": "Azure OpenAI",
            "version": "text-embedding-3-small",
            "preview": False,
            "model_picker_enabled": False,
            "billing": {"is_premium": False, "multiplier": 0.0},
            "supported_endpoints": ["/embeddings"],
            "capabilities": {
                "family": "text-embedding-3-small",
                "object": "model_capabilities",
                "type": "embeddings",
                "tokenizer": "cl100k_base",
                "limits": {"max_inputs": 512},
                "supports": {"dimensions": True},
            },
        },
    ]


def without_token_prices(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The catalogue as a client on an API version before 2026-06-01 sees it."""
    hidden = []
    for model in models:
        billing = {k: v for k, v in (model.get("billing") or {}).items() if k != "token_prices"}
        hidden.append({**model, "billing": billing})
    return hidden


def default_quota() -> dict[str, Any]:
    """An individual Pro plan on AI credits, mid-month, as `copilot_internal/user` reports it.

    `premium_interactions` counts AI credits since 2026-06-01 (1 credit = $0.01)."""

    def snapshot(quota_id: str, entitlement: float, remaining: float, unlimited: bool = False) -> dict[str, Any]:
        return {
            "quota_id": quota_id,
            "entitlement": entitlement,
            "remaining": remaining,
            "percent_remaining": round(100 * remaining / entitlement, 1) if entitlement else 100.0,
            "unlimited": unlimited,
            "overage_permitted": False,
            "overage_count": 0,
            "token_based_billing": quota_id == "premium_interactions",
            "timestamp_utc": "2026-11-14T09:30:00.000Z",
        }

    return {
        "login": "octocat",
        "copilot_plan": "individual_pro",
        "access_type_sku": "plus_monthly_subscriber_quota",
        "chat_enabled": True,
        "token_based_billing": True,
        "quota_reset_date": "2026-12-01",
        "quota_reset_date_utc": "2026-12-01T00:00:00.000Z",
        "quota_snapshots": {
            "chat": snapshot("chat", 0, 0, unlimited=True),
            "completions": snapshot("completions", 0, 0, unlimited=True),
            "premium_interactions": snapshot("premium_interactions", 4000, 3830),
        },
    }
