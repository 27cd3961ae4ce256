"""`colalamo usage`: the account's plan, quotas and when they reset."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..config import Settings
from ..library import AsyncCopilot

HELP = "show your Copilot plan and quotas (premium requests left, reset date)"
EPILOG = """\
examples:
  colalamo usage
  colalamo usage --json | jq .quotas.premium_interactions.remaining
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print it as JSON")


def _amount(value: Any, unlimited: bool) -> str:
    if unlimited:
        return "unlimited"
    return "-" if value is None else f"{value:g}"


def table(usage: dict[str, Any]) -> str:
    lines = [
        f"account      {usage.get('login') or '-'}",
        f"plan         {usage.get('plan') or '-'}",
        f"resets on    {usage.get('quota_reset_date') or '-'}",
        "",
        f"{'QUOTA':22}{'ENTITLEMENT':>13}{'REMAINING':>11}{'LEFT':>8}",
    ]
    for name, quota in usage.get("quotas", {}).items():
        unlimited = bool(quota.get("unlimited"))
        percent = "" if unlimited or quota.get("percent_remaining") is None else f"{quota['percent_remaining']:g}%"
        lines.append(
            f"{name.replace('_', ' '):22}{_amount(quota.get('entitlement'), unlimited):>13}"
            f"{_amount(quota.get('remaining'), unlimited):>11}{percent:>8}"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    async with AsyncCopilot(settings) as copilot:
        usage = await copilot.usage()
    print(json.dumps(usage, indent=2) if args.json else table(usage))
    return 0
