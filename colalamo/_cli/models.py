"""`colalamo models`: the models this account can use."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..config import Settings

HELP = "list the models your Copilot account can use"
EPILOG = """\
examples:
  colalamo models
  colalamo models --json | jq '.[].id'
"""

COLUMNS = ("ID", "NAME", "VENDOR", "TYPE", "CONTEXT", "PREMIUM")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print Copilot's full JSON")


def _row(model: dict[str, Any]) -> tuple[str, ...]:
    capabilities = model.get("capabilities") or {}
    limits = capabilities.get("limits") or {}
    billing = model.get("billing") or {}
    context = limits.get("max_context_window_tokens")
    premium = f"x{billing.get('multiplier', 1)}" if billing.get("is_premium") else "no"
    return (
        str(model.get("id", "")),
        str(model.get("name", "")),
        str(model.get("vendor", "")),
        str(capabilities.get("type", "")),
        f"{context:,}" if isinstance(context, int) else "",
        premium,
    )


def table(models: list[dict[str, Any]]) -> str:
    rows = [COLUMNS, *(_row(m) for m in models)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from .._library import AsyncCopilot  # imported when run: `colalamo --help` stays quick

    async with AsyncCopilot(settings) as copilot:
        models = await copilot.models()
    print(json.dumps(models, indent=2) if args.json else table(models))
    return 0
