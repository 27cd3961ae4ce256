"""Logging in: the device flow, then storing its token where colalamo will look for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp

from ..config import Settings
from .device_flow import DeviceCode, device_flow_login, print_prompt
from .github_http import github_timeout
from .token_store import GitHubToken, save_github_token

log = logging.getLogger(__name__)


async def login_and_store(
    http: aiohttp.ClientSession,
    settings: Settings,
    *,
    on_code: Callable[[DeviceCode], None] = print_prompt,
    on_answer: Callable[[str], None] | None = None,
) -> GitHubToken:
    """Run the device flow and write the token to `settings.token_file` (atomically, 0600)."""
    token = await device_flow_login(http, settings.github_url, on_code=on_code, on_answer=on_answer,
                                    timeout=github_timeout(settings))
    await asyncio.to_thread(save_github_token, settings.token_file, token)
    log.info("logged in; the GitHub token is stored in %s", settings.token_file)
    return GitHubToken(token, str(settings.token_file))
