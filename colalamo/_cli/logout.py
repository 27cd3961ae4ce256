"""`colalamo logout`: remove the stored GitHub token."""

from __future__ import annotations

import argparse
import asyncio

from .._files import remove_orphans
from ..config import Settings

HELP = "remove the stored GitHub token"
EPILOG = """\
examples:
  colalamo logout
  COLALAMO_TOKEN_FILE=~/.secrets/gh-token colalamo logout
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from .._auth import delete_github_token  # imported when run: `colalamo --help` stays quick

    if await asyncio.to_thread(delete_github_token, settings.token_file):
        print(f"removed the GitHub token from {settings.token_file}")
    else:
        print(f"no GitHub token was stored in {settings.token_file}")
    # a copy a killed write left beside it holds the token too
    await asyncio.to_thread(remove_orphans, settings.token_file, 0.0)
    if settings.github_token:
        print("note: COLALAMO_GITHUB_TOKEN is still set in the environment or .env")
    return 0
