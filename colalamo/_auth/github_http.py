"""Calls to GitHub (device login, token exchange, usage): their own short timeouts, and what
to check when GitHub does not answer.

GitHub answers these in well under a second; the Copilot read timeout (minutes, for long
answers) would leave a login or a start-up hanging with no word of why.
"""

from __future__ import annotations

import aiohttp

from ..config import Settings

#: What a person should check when GitHub cannot be reached or does not answer.
GITHUB_HINT = (
    "check the network and the proxy settings (HTTPS_PROXY, and COLALAMO_CA_BUNDLE for a "
    "TLS-inspecting proxy), COLALAMO_GITHUB_URL and COLALAMO_GITHUB_TOKEN; to try colalamo "
    "offline, run the fake GitHub and Copilot: python -m colalamo.testing"
)


def github_timeout(settings: Settings | None = None) -> aiohttp.ClientTimeout:
    """Connect within COLALAMO_CONNECT_TIMEOUT, then a byte at least every COLALAMO_GITHUB_TIMEOUT."""
    settings = settings or Settings()
    return aiohttp.ClientTimeout(
        total=None, sock_connect=settings.connect_timeout, connect=settings.connect_timeout,
        sock_read=settings.github_timeout,
    )


def not_answered(what: str, timeout: aiohttp.ClientTimeout) -> str:
    """The message for a GitHub call that timed out."""
    return f"GitHub did not answer {what} within {_seconds(timeout)}: {GITHUB_HINT}"


def unreachable(what: str, exc: BaseException) -> str:
    return f"cannot reach GitHub for {what} ({exc}): {GITHUB_HINT}"


def _seconds(timeout: aiohttp.ClientTimeout) -> str:
    return f"{timeout.sock_read:g} s" if timeout.sock_read else "the time allowed"
