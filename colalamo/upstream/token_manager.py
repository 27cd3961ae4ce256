"""The Copilot token's lifecycle: exchange, background refresh, single flight.

The GitHub OAuth token is exchanged for a Copilot token that lives about 30 minutes. A
background task refreshes it ahead of expiry and retries failed refreshes with exponential
back-off while the old token still works. However many requests find the token stale at
once, only one exchange runs (single flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ..exceptions import (
    ColalamoError,
    CopilotNotEnabled,
    GitHubTokenRejected,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from .headers import ClientIdentity

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0


@dataclass(frozen=True)
class CopilotToken:
    value: str = field(repr=False)
    expires_at: float  # epoch seconds
    refresh_in: float  # seconds after `obtained_at` at which GitHub suggests refreshing
    obtained_at: float
    api_url: str | None = None  # endpoints.api: this account's Copilot API base
    sku: str | None = None

    @property
    def lifetime(self) -> float:
        return max(self.expires_at - self.obtained_at, 0.0)

    @property
    def refresh_at(self) -> float:
        # The editor plugins refresh at refresh_in - 60 s, and at the latest 5 minutes before
        # expiry; both margins shrink for short-lived tokens so they still apply.
        suggested = self.obtained_at + self.refresh_in - min(60.0, self.refresh_in / 2)
        latest = self.expires_at - min(300.0, self.lifetime / 4)
        return min(suggested, latest)

    def is_usable(self, now: float) -> bool:
        # A token about to expire could die in flight; treat its last moments as expired.
        return now < self.expires_at - min(30.0, self.lifetime / 10)

    @classmethod
    def from_reply(cls, reply: dict[str, Any], now: float) -> CopilotToken:
        try:
            value = str(reply["token"])
            expires_at = float(reply["expires_at"])
        except (KeyError, TypeError, ValueError):
            raise UpstreamStatusError(502, "GitHub's Copilot token answer has no token") from None
        refresh_in = float(reply.get("refresh_in") or max(expires_at - now - 300, 0))
        endpoints = reply.get("endpoints")
        api_url = endpoints.get("api") if isinstance(endpoints, dict) else None
        return cls(
            value=value,
            expires_at=expires_at,
            refresh_in=refresh_in,
            obtained_at=now,
            api_url=api_url.rstrip("/") if isinstance(api_url, str) and api_url else None,
            sku=reply.get("sku"),
        )


class TokenManager:
    """Holds a fresh Copilot token for one GitHub token, and the identity it is used with."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        github_api_url: str,
        github_token: str,
        *,
        identity: ClientIdentity,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._url = f"{github_api_url}/copilot_internal/v2/token"
        #: The client colalamo presents itself as, on this exchange and every Copilot call.
        self.identity = identity
        self._headers = identity.github_headers(github_token)
        self._clock = clock
        self._token: CopilotToken | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        #: Exchanges made, those that failed, and the last failure (None after a success).
        self.exchanges = 0
        self.failures = 0
        self.last_error: ColalamoError | None = None

    @property
    def token(self) -> CopilotToken | None:
        return self._token

    async def get(self) -> CopilotToken:
        """A token that is valid now, exchanging for a new one only when needed."""
        token = self._token
        if token is not None and token.is_usable(self._clock()):
            return token
        return await self.refresh(stale=token)

    async def refresh(self, stale: CopilotToken | None = None) -> CopilotToken:
        """Replace `stale` with a new token; callers that lost the race get the winner's."""
        async with self._lock:
            current = self._token
            if current is not None and current is not stale and current.is_usable(self._clock()):
                return current
            try:
                token = await self._exchange()
            except ColalamoError as exc:
                self.failures += 1
                self.last_error = exc
                raise
            self._token, self.last_error = token, None
            return token

    async def _exchange(self) -> CopilotToken:
        self.exchanges += 1
        try:
            async with self._http.get(self._url, headers=self._headers) as response:
                text = await response.text()
                if response.status == 200:
                    try:
                        reply = await response.json(content_type=None)
                    except ValueError:
                        reply = None
                    if not isinstance(reply, dict):
                        raise UpstreamStatusError(502, "GitHub's Copilot token answer is not JSON")
                    token = CopilotToken.from_reply(reply, self._clock())
                    log.info("got a Copilot token valid for %.0f s", token.lifetime)
                    return token
        except aiohttp.ClientConnectionError as exc:
            raise UpstreamUnreachable(f"cannot reach GitHub to refresh the Copilot token: {exc}") from None
        except asyncio.TimeoutError:
            raise UpstreamTimeout("GitHub did not answer the Copilot token request in time") from None
        raise _exchange_error(response.status, text)

    # background refresh -------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._refresh_forever(), name="colalamo-token-refresh"
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh_forever(self) -> None:
        failures = 0
        while True:
            token = self._token
            if failures:
                delay = self._retry_delay(failures, token)
            elif token is None:
                delay = 0.0
            else:
                delay = max(token.refresh_at - self._clock(), 0.0)
            await asyncio.sleep(delay)
            try:
                await self.refresh(stale=token)
            except ColalamoError as exc:
                failures += 1
                log.warning(
                    "refreshing the Copilot token failed (%s); retrying in %.1f s%s",
                    exc.message,
                    self._retry_delay(failures, token),
                    "; the current token is still valid"
                    if token is not None and token.is_usable(self._clock())
                    else "",
                )
            else:
                failures = 0

    def _retry_delay(self, failures: int, token: CopilotToken | None) -> float:
        """Exponential back-off, but never sleeping past the point where the token dies."""
        delay = min(BACKOFF_FIRST * 2 ** (failures - 1), BACKOFF_MAX)
        if token is not None:
            remaining = token.expires_at - self._clock()
            if remaining > 0:
                delay = min(delay, max(remaining / 2, 0.05))
        return delay


def _exchange_error(status: int, text: str) -> ColalamoError:
    detail = text.strip()[:200]
    if status == 401:
        return GitHubTokenRejected()
    if status in (403, 404):
        return CopilotNotEnabled(
            "this GitHub account has no access to GitHub Copilot "
            f"(GitHub answered {status}{': ' + detail if detail else ''})"
        )
    return UpstreamStatusError(
        502 if status < 500 else status,
        f"GitHub answered {status} to the Copilot token request{': ' + detail if detail else ''}",
    )
