"""The fake's model list, shaped like Copilot's `GET /models`, and its account quota."""

from __future__ import annotations

from typing import Any


def _chat_model(
    model_id: str,
    name: str,
    vendor: str,
    version: str,
    family: str,
    *,
    context: int,
    output: int,
    premium: bool = False,
    multiplier: float = 0.0,
    vision: bool = True,
    endpoints: tuple[str, ...] = ("/chat/completions",),
) -> dict[str, Any]:
    return {
        "id": model_id,
        "name": name,
        "object": "model",
        "vendor": vendor,
        "version": version,
        "preview": False,
        "model_picker_enabled": True,
        "policy": {"state": "enabled", "terms": ""},
        "billing": {"is_premium": premium, "multiplier": multiplier},
        "supported_endpoints": list(endpoints),
        "capabilities": {
            "family": family,
            "object": "model_capabilities",
            "type": "chat",
            "tokenizer": "o200k_base",
            "limits": {
                "max_context_window_tokens": context,
                "max_output_tokens": output,
                "max_prompt_tokens": context - output,
                **({"vision": {"max_prompt_images": 1, "max_prompt_image_size": 3145728}} if vision else {}),
            },
            "supports": {
                "streaming": True,
                "tool_calls": True,
                "parallel_tool_calls": True,
                "vision": vision,
                "structured_outputs": True,
            },
        },
    }


def default_models() -> list[dict[str, Any]]:
    return [
        _chat_model("gpt-4.1", "GPT-4.1", "Azure OpenAI", "gpt-4.1-2025-04-14", "gpt-4.1",
                    context=128000, output=16384),
        _chat_model("gpt-4o", "GPT-4o", "Azure OpenAI", "gpt-4o-2024-11-20", "gpt-4o",
                    context=128000, output=4096),
        _chat_model("claude-sonnet-4", "Claude Sonnet 4", "Anthropic", "claude-sonnet-4",
                    "claude-sonnet-4", context=216000, output=16000, premium=True, multiplier=1.0,
                    endpoints=("/chat/completions", "/v1/messages")),
        _chat_model("o3-mini", "o3-mini", "Azure OpenAI", "o3-mini-2025-01-31", "o3-mini",
                    context=200000, output=100000, premium=True, multiplier=0.33, vision=False),
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


def default_quota() -> dict[str, Any]:
    """An individual Pro plan, mid-month, as `copilot_internal/user` reports it."""

    def snapshot(entitlement: float, remaining: float, unlimited: bool = False) -> dict[str, Any]:
        return {
            "entitlement": entitlement,
            "remaining": remaining,
            "percent_remaining": round(100 * remaining / entitlement, 1) if entitlement else 100.0,
            "unlimited": unlimited,
            "overage_permitted": False,
            "overage_count": 0,
        }

    return {
        "login": "octocat",
        "copilot_plan": "individual_pro",
        "access_type_sku": "plus_monthly_subscriber_quota",
        "chat_enabled": True,
        "quota_reset_date": "2026-12-01",
        "quota_snapshots": {
            "chat": snapshot(0, 0, unlimited=True),
            "completions": snapshot(0, 0, unlimited=True),
            "premium_interactions": snapshot(300, 212),
        },
    }
