"""`colalamo login`: the GitHub device flow, then the token stored for later runs."""

from __future__ import annotations

import argparse
import sys

from ..auth import login_and_store
from ..auth.device_id import load_identity
from ..config import Settings
from ..core import new_http_session
from ..exceptions import CopilotNotEnabled
from ..upstream import TokenManager

HELP = "log in to GitHub (device flow) and store the token"
EPILOG = """\
example:
  colalamo login
  COLALAMO_TOKEN_FILE=~/.secrets/gh-token colalamo login
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


async def run(args: argparse.Namespace, settings: Settings) -> int:
    async with new_http_session(settings) as http:
        token = await login_and_store(http, settings)
        print(f"logged in; the GitHub token is stored in {token.source} (mode 0600)")
        if settings.github_token:
            print("note: COLALAMO_GITHUB_TOKEN is set and takes precedence over the stored token")
        try:  # tell the user now, not at the first request, if the account has no Copilot
            identity = await load_identity(settings)
            await TokenManager(http, settings.github_api_url, token.value, identity=identity).get()
        except CopilotNotEnabled as exc:
            print(f"colalamo: {exc.message}", file=sys.stderr)
            return 1
    print("Copilot access: ok")
    return 0
