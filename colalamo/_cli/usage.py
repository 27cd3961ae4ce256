"""`colalamo usage`: the account's plan, quotas and when they reset, and the AI credits and
premium requests colalamo counted today; with `--days N`, its request history of the last N
days per day, model, key and client (its database, shared with a server on the same data
directory)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from ..config import Settings
from ..exceptions import UpstreamError

HELP = "show your Copilot plan and quotas (reset date, premium requests left) and AI credits spent today"
EPILOG = """\
examples:
  colalamo usage
  colalamo usage --json | jq .quotas.premium_interactions.remaining
  colalamo usage --json | jq .colalamo.ai_credits_by_model
  colalamo usage --days 7
  colalamo usage --days 30 --json | jq '.history.rows[] | select(.client == "claude-code")'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print it as JSON")
    parser.add_argument("--days", type=_days, metavar="N",
                        help="also the request history of the last N days (UTC), per day, model, key and client")


def _days(raw: str) -> int:
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if days < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of days, at least 1, not {raw!r}")
    return days


def _amount(value: Any, unlimited: bool) -> str:
    if unlimited:
        return "unlimited"
    return "-" if value is None else f"{value:g}"


def _budget(value: Any) -> str:
    return "" if value is None else f" of {value:g} a day"


def today_table(today: dict[str, Any]) -> list[str]:
    """What colalamo counted today: credits (per model, per key) and premium requests."""
    lines = [
        "",
        f"today (UTC)  {today.get('day') or '-'}",
        f"ai credits   {today.get('ai_credits_today', 0):g}{_budget(today.get('credit_budget'))}",
        f"premium      {today.get('premium_requests_today', 0):g}{_budget(today.get('premium_budget'))}",
    ]
    for title, counts in (("MODEL", today.get("ai_credits_by_model")), ("KEY", today.get("ai_credits_by_key"))):
        if counts:
            lines += ["", f"{title:30}{'AI CREDITS':>14}"]
            lines += [f"{name:30}{amount:>14.6g}" for name, amount in counts.items()]
    return lines


def table(usage: dict[str, Any]) -> str:
    if "quota_error" in usage:  # GitHub could not be asked: only what colalamo counted
        history = usage.get("history")
        return "\n".join(["quotas       unknown: GitHub could not be asked (see below)",
                          *today_table(usage.get("colalamo") or {}),
                          *(history_table(history) if isinstance(history, dict) else [])])
    by_tokens = usage.get("token_based_billing")
    billing = "-" if by_tokens is None else "AI credits (by tokens)" if by_tokens else "premium requests"
    lines = [
        f"account      {usage.get('login') or '-'}",
        f"plan         {usage.get('plan') or '-'}",
        f"billed in    {billing}",
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
    if isinstance(usage.get("colalamo"), dict):
        lines += today_table(usage["colalamo"])
    if isinstance(usage.get("history"), dict):
        lines += history_table(usage["history"])
    return "\n".join(lines)


def history_table(history: dict[str, Any]) -> list[str]:
    """The request ledger's summary: a line per day, model, key and client."""
    title = f"history      the last {history.get('days')} day(s) since {history.get('since') or '-'}"
    lines = ["", title + (f" on {history['machine']}" if history.get("machine") else "")]
    if history.get("error"):
        return [*lines, history["error"]]
    rows = history.get("rows") or []
    if not rows:
        return [*lines, "no requests"]
    lines += ["", f"{'DAY':12}{'MODEL':26}{'KEY':14}{'CLIENT':16}{'REQUESTS':>9}{'ERRORS':>7}"
                  f"{'TOKENS IN':>11}{'TOKENS OUT':>11}{'AI CREDITS':>12}{'PREMIUM':>9}"]
    for row in [*rows, {"day": "total", "model": "", "key": "", "client": "", **(history.get("totals") or {})}]:
        lines.append(f"{row['day']:12}{str(row['model'])[:25]:26}{str(row['key'])[:13]:14}{str(row['client'])[:15]:16}"
                     f"{row.get('requests') or 0:>9}{row.get('errors') or 0:>7}{row.get('prompt_tokens') or 0:>11}"
                     f"{row.get('completion_tokens') or 0:>11}{row.get('ai_credits') or 0:>12.6g}"
                     f"{row.get('premium_requests') or 0:>9.6g}")
    return lines


NOT_LOGGED_IN = "not logged in to GitHub: `colalamo login` first, then `colalamo usage` shows your quotas too"


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from .._auth import find_github_token  # imported when run: `colalamo --help` stays quick
    from .._library import AsyncCopilot

    async with AsyncCopilot(settings) as copilot:
        if await asyncio.to_thread(find_github_token, settings) is None:  # no login prompt to see counts
            usage, status = {"quota_error": NOT_LOGGED_IN, **await copilot.counted(args.days)}, 1
        else:
            try:
                usage, status = await copilot.usage(args.days), 0
            except UpstreamError as exc:  # GitHub cannot say: what colalamo counted is still shown
                usage = {"quota_error": str(exc), **await copilot.counted(args.days)}
                status = 1
    print(json.dumps(usage, indent=2) if args.json else table(usage))
    if status:
        print(f"colalamo: {usage['quota_error']}", file=sys.stderr)
    return status
