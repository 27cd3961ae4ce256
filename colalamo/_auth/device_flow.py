"""GitHub's OAuth device flow (RFC 8628), as the Copilot editor plugins run it.

All four polling answers are handled: `authorization_pending` (keep polling),
`slow_down` (poll less often), `expired_token` and `access_denied` (stop, saying why). The flow
gives up when the code's `expires_in` has passed, never at a fixed time. Each call to GitHub
has its own short timeout (COLALAMO_GITHUB_TIMEOUT), never Copilot's read timeout, and
redirects are not followed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import aiohttp

from ..exceptions import LoginFailed
from .github_http import GITHUB_HINT, github_timeout, not_answered

log = logging.getLogger(__name__)

CLIENT_ID = "Iv1.b507a08c87ecfe98"  # the Copilot editor plugins' OAuth app
SCOPE = "read:user"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
MAX_ANSWER = 64 * 1024
SLOW_DOWN_STEP = 5.0  # seconds added on `slow_down` when GitHub names no new interval


@dataclass(frozen=True)
class DeviceCode:
    device_code: str
    user_code: str
    verification_uri: str
    expires_in: float
    interval: float

    @property
    def prompt(self) -> str:
        return (
            f'browse to {self.verification_uri} and enter this code "{self.user_code}" '
            "to authenticate"
        )


def print_prompt(code: DeviceCode) -> None:
    print(code.prompt, file=sys.stderr, flush=True)


async def _post_form(
    http: aiohttp.ClientSession, url: str, form: dict[str, str], timeout: aiohttp.ClientTimeout
) -> dict[str, Any]:
    # Without Accept: application/json GitHub answers form-encoded; read either.
    async with http.post(
        url, data=form, headers={"Accept": "application/json"}, timeout=timeout, allow_redirects=False
    ) as response:
        raw = await response.content.read(MAX_ANSWER)  # a login answer is a few hundred bytes
        text = raw.decode("utf-8", errors="replace")
        if response.status >= 500:
            raise _Transient(f"GitHub answered {response.status}")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = dict(parse_qsl(text))
        if not isinstance(parsed, dict):
            parsed = {}
        if response.status >= 300 and "error" not in parsed:  # 3xx too: redirects are not followed
            parsed["error"] = f"http_{response.status}"
        return parsed


class _Transient(Exception):
    """A failure worth polling through (GitHub 5xx, a dropped connection)."""


async def request_device_code(
    http: aiohttp.ClientSession, github_url: str, timeout: aiohttp.ClientTimeout | None = None
) -> DeviceCode:
    timeout = timeout or github_timeout()
    log.info("asking GitHub at %s for a login code (waiting up to %g s)", github_url, timeout.sock_read or 0)
    try:
        reply = await _post_form(
            http, f"{github_url}/login/device/code", {"client_id": CLIENT_ID, "scope": SCOPE}, timeout
        )
    except asyncio.TimeoutError:
        raise LoginFailed(not_answered(f"the login request at {github_url}", timeout)) from None
    except (_Transient, aiohttp.ClientError) as exc:
        raise LoginFailed(f"could not start the GitHub login at {github_url} ({exc}): {GITHUB_HINT}") from None
    try:
        return DeviceCode(
            device_code=str(reply["device_code"]),
            user_code=str(reply["user_code"]),
            verification_uri=str(reply["verification_uri"]),
            expires_in=float(reply.get("expires_in", 900)),
            interval=float(reply.get("interval", 5)),
        )
    except (KeyError, ValueError):
        detail = reply.get("error_description") or reply.get("error") or "an incomplete answer"
        raise LoginFailed(f"GitHub refused to start the login: {detail}") from None


async def device_flow_login(
    http: aiohttp.ClientSession,
    github_url: str,
    *,
    on_code: Callable[[DeviceCode], None] = print_prompt,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    timeout: aiohttp.ClientTimeout | None = None,
    on_answer: Callable[[str], None] | None = None,
) -> str:
    """Run the device flow and return the GitHub OAuth token the user granted.
    `on_answer` hears each polling answer that is not the token (`slow_down`, ...)."""
    timeout = timeout or github_timeout()
    code = await request_device_code(http, github_url, timeout)
    on_code(code)
    deadline = clock() + code.expires_in
    interval = code.interval
    form = {"client_id": CLIENT_ID, "device_code": code.device_code, "grant_type": GRANT_TYPE}
    while True:
        if clock() + interval > deadline:
            raise _expired()
        await sleep(interval)
        try:
            reply = await _post_form(http, f"{github_url}/login/oauth/access_token", form, timeout)
        except asyncio.TimeoutError:
            log.warning("%s; still waiting for the login, trying again", not_answered("the login poll", timeout))
            continue
        except (_Transient, aiohttp.ClientError) as exc:
            log.warning("polling GitHub for the login failed (%s); trying again", exc)
            continue
        token = reply.get("access_token")
        if isinstance(token, str) and token:
            return token
        error = reply.get("error")
        if on_answer is not None and isinstance(error, str):
            on_answer(error)
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval = _slower(interval, reply.get("interval"))
            continue
        if error == "expired_token":
            raise _expired()
        if error == "access_denied":
            raise LoginFailed("the login was refused on GitHub (access_denied); nothing was stored")
        detail = reply.get("error_description") or error or "no token in its answer"
        raise LoginFailed(f"GitHub ended the login: {detail}")


def _slower(interval: float, suggested: object) -> float:
    try:
        return max(float(suggested), interval)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return interval + SLOW_DOWN_STEP


def _expired() -> LoginFailed:
    return LoginFailed("the login code expired before it was entered; run `colalamo login` again")
