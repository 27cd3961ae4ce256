"""`colalamo login`: the GitHub device flow, then the token stored for later runs."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..config import Settings
from ..exceptions import (
    CopilotNotEnabled,
    GitHubTokenRejected,
    LoginFailed,
)

if TYPE_CHECKING:
    import aiohttp

    from .._auth import DeviceCode

HELP = "log in to GitHub (device flow) and store the token"
EPILOG = """\
examples:
  colalamo login
  colalamo login --no-browser        print the code and address; open nothing
  colalamo login --force             log in again (another account) though a token works
  COLALAMO_TOKEN_FILE=~/.secrets/gh-token colalamo login
"""
#: How often the time left is shown while waiting for the approval on a terminal.
TICK_SECONDS = 1.0
#: What to try when GitHub cannot be reached: added to the login's own message.
UNREACHABLE_HINT = (
    "check the network, or set HTTPS_PROXY if you need a proxy (COLALAMO_CA_BUNDLE for its CA); "
    "or skip the login with COLALAMO_GITHUB_TOKEN=gho_...; to try colalamo offline, run the fake: "
    "python -m colalamo.testing --help"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-browser", action="store_true", help="do not open the browser at the login page")
    parser.add_argument("--force", action="store_true", help="log in again even when a stored token works")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from .._auth import login_and_store
    from .._auth.device_id import load_identity
    from .._core import new_http_session  # imported when run: `colalamo --help` stays quick
    from .._upstream.token_manager import TokenManager

    async with new_http_session(settings) as http:
        if not args.force and (who := await _logged_in_as(http, settings)) is not None:
            print(who)
            return 0
        waiting = _Waiting(open_browser=not args.no_browser)
        try:
            with _what_to_try(settings):
                token = await login_and_store(http, settings, on_code=waiting.show)
        finally:
            await waiting.stop()
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


async def _logged_in_as(http: aiohttp.ClientSession, settings: Settings) -> str | None:
    from .._auth import GitHubToken, find_github_token
    from .._auth.device_id import load_identity
    from .._upstream.quota import fetch_quota

    """"already logged in as <login>" when a token is found and GitHub accepts it; None: log in."""
    found: GitHubToken | None = await asyncio.to_thread(find_github_token, settings)
    if found is None:
        return None
    try:
        account = await fetch_quota(http, settings.github_api_url, found.value, await load_identity(settings))
    except GitHubTokenRejected:
        print(f"the GitHub token from {found.source} is no longer accepted; logging in again", file=sys.stderr)
        return None
    except CopilotNotEnabled:
        account = {}
    login = f" as {account['login']}" if account.get("login") else ""
    return (f"already logged in{login} (the GitHub token from {found.source}); "
            "`colalamo login --force` logs in again")


@contextmanager
def _what_to_try(settings: Settings) -> Iterator[None]:
    """The login's failures, with what to do about them."""
    try:
        yield
    except LoginFailed as exc:
        if exc.message.startswith("could not start the GitHub login"):
            raise LoginFailed(f"{exc.message}\n{UNREACHABLE_HINT}") from None
        if exc.message.endswith(": http_404"):  # an intercepting proxy, or not a GitHub at all
            raise LoginFailed(
                f"{settings.github_url}/login/device/code was not found (404): is COLALAMO_GITHUB_URL a "
                "GitHub, and does a proxy intercept it? " + UNREACHABLE_HINT
            ) from None
        raise


class _Waiting:
    """Shows the code, opens the browser, and keeps showing that the login waits."""

    def __init__(self, *, open_browser: bool) -> None:
        self.open_browser = open_browser
        self._ticker: asyncio.Task[None] | None = None

    def show(self, code: DeviceCode) -> None:
        print(code.prompt, file=sys.stderr, flush=True)
        if self.open_browser and _has_a_browser():
            # opening may block (a browser starting): off the event loop; failures are harmless
            asyncio.get_running_loop().run_in_executor(None, _open_quietly, code.verification_uri)
        deadline = time.monotonic() + code.expires_in
        print(f"waiting for you to approve it on GitHub ({_left(deadline)} left; Ctrl-C to stop)",
              file=sys.stderr, flush=True)
        if sys.stderr.isatty():
            self._ticker = asyncio.get_running_loop().create_task(_tick(deadline))

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)


async def _tick(deadline: float) -> None:
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(TICK_SECONDS)
            print(f"\rwaiting: {_left(deadline)} left ", end="", file=sys.stderr, flush=True)
    finally:
        print(file=sys.stderr, flush=True)


def _left(deadline: float) -> str:
    seconds = max(0, int(deadline - time.monotonic()))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _has_a_browser() -> bool:
    """A graphical browser, or one named in BROWSER: a text browser would take the terminal."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_quietly(url: str) -> None:
    try:
        webbrowser.open(url)
    except Exception:  # noqa: BLE001 - no browser is no error: the address is printed
        pass
