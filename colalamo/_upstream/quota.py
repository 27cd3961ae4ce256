"""The account's plan and quotas, from GitHub's `copilot_internal/user`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from .._auth.github_http import github_timeout, not_answered, unreachable
from ..exceptions import (
    BadUpstreamReply,
    CopilotNotEnabled,
    GitHubTokenRejected,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from .bodies import decoded, read_capped
from .headers import ClientIdentity

USAGE = "the usage request"
MAX_QUOTA_ANSWER = 1024 * 1024
QUOTAS = ("chat", "completions", "premium_interactions")
FIELDS = ("entitlement", "remaining", "percent_remaining", "unlimited", "overage_permitted", "overage_count",
          "token_based_billing")


async def fetch_quota(
    http: aiohttp.ClientSession,
    github_api_url: str,
    github_token: str,
    identity: ClientIdentity,
    *,
    timeout: aiohttp.ClientTimeout | None = None,
) -> dict[str, Any]:
    url = f"{github_api_url}/copilot_internal/user"
    timeout = timeout or github_timeout()
    try:
        async with http.get(
            url, headers=identity.github_headers(github_token), timeout=timeout, allow_redirects=False
        ) as response:
            raw, too_large = await read_capped(response, MAX_QUOTA_ANSWER)
            text = decoded(response, raw)
            if response.status == 401:
                raise GitHubTokenRejected()
            if response.status in (403, 404):
                raise CopilotNotEnabled(f"GitHub has no Copilot usage for this account (it answered {response.status})")
            if response.status != 200:
                raise UpstreamStatusError(502, f"GitHub answered {response.status} to the usage request: {text[:200]}")
            if too_large:
                raise BadUpstreamReply("GitHub's usage answer is over 1 MiB")
            reply = json.loads(text)
    except asyncio.TimeoutError:  # first: aiohttp's read timeouts are ClientErrors too
        raise UpstreamTimeout(not_answered(USAGE, timeout)) from None
    except aiohttp.ClientError as exc:
        raise UpstreamUnreachable(unreachable(USAGE, exc)) from None
    except ValueError:
        raise BadUpstreamReply("GitHub's usage answer is not JSON") from None
    return summarize(reply if isinstance(reply, dict) else {})


def summarize(reply: dict[str, Any]) -> dict[str, Any]:
    """The parts of GitHub's answer a person asks about, in a stable shape."""
    snapshots = reply.get("quota_snapshots") or {}
    return {
        "login": reply.get("login"),
        "plan": reply.get("copilot_plan"),
        "sku": reply.get("access_type_sku"),
        "chat_enabled": reply.get("chat_enabled"),
        "quota_reset_date": reply.get("quota_reset_date"),
        "token_based_billing": reply.get("token_based_billing"),  # AI credits by tokens (2026)
        "quotas": {
            name: {field: (snapshots.get(name) or {}).get(field) for field in FIELDS}
            for name in QUOTAS
            if name in snapshots
        },
    }
