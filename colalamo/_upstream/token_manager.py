"""The Copilot token's lifecycle: exchange, background refresh, single flight.

The GitHub OAuth token is exchanged for a Copilot token that lives about 30 minutes. A
background task refreshes it ahead of expiry and retries failed refreshes with exponential
back-off while the old token still works. However many requests find the token stale at
once, only one exchange runs (single flight).

Exchanges never come faster than a floor, whatever GitHub hands out: a token that arrives
already expired (a clock off by half an hour is enough) is an error naming the clock, and
is retried with back-off like any failure. A request waits for a missing token only so long
(COLALAMO_TOKEN_WAIT), then gets a 503 saying why; the exchange goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .._auth.github_http import GITHUB_HINT, github_timeout, not_answered, unreachable
from ..exceptions import (
    BadUpstreamReply,
    ColalamoError,
    CopilotNotEnabled,
    GitHubTokenRejected,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from .bodies import decoded, read_capped
from .headers import ClientIdentity
from .pacing import PACING, Pacing

log = logging.getLogger(__name__)

BACKOFF_MAX = 60.0
MAX_TOKEN_ANSWER = 1024 * 1024
EXCHANGE = "the Copilot token request"


class TokenUnavailable(UpstreamError):
    """No usable Copilot token now: GitHub has not answered yet, or the last exchange failed."""

    status = 503
    code = "copilot_token_unavailable"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}


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
            raise BadUpstreamReply("GitHub's Copilot token answer has no token") from None
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
        timeout: aiohttp.ClientTimeout | None = None,
        wait: float = 5.0,
        pacing: Pacing = PACING,
    ) -> None:
        self._http = http
        self._url = f"{github_api_url}/copilot_internal/v2/token"
        #: The client colalamo presents itself as, on this exchange and every Copilot call.
        self.identity = identity
        self._headers = identity.github_headers(github_token)
        self._clock = clock
        self._timeout = timeout or github_timeout()
        self._wait = wait  # how long a request waits for a missing token
        self._floor = pacing.refresh_floor  # between two exchanges at the least
        self._backoff_first = pacing.backoff_first
        self._token: CopilotToken | None = None
        self._exchanging: asyncio.Task[CopilotToken] | None = None  # the one exchange under way
        self._exchange_began = 0.0
        self._failing = 0  # exchanges failed in a row
        self._retry_at = 0.0  # monotonic: after a failure, no exchange before this
        self._task: asyncio.Task[None] | None = None
        #: Exchanges made, those that failed, and the last failure (None after a success).
        self.exchanges = 0
        self.failures = 0
        self.last_error: ColalamoError | None = None

    @property
    def token(self) -> CopilotToken | None:
        return self._token

    @property
    def wait(self) -> float:
        """How long a request waits for a missing token (COLALAMO_TOKEN_WAIT)."""
        return self._wait

    @property
    def exchanging_for(self) -> float | None:
        """Seconds the exchange under way has taken so far; None when none is."""
        return time.monotonic() - self._exchange_began if self._exchanging is not None else None

    async def get(self) -> CopilotToken:
        """A token that is valid now, exchanging for a new one only when needed; waits at most
        the token wait for one, then raises TokenUnavailable (503)."""
        token = self._token
        if token is not None and token.is_usable(self._clock()):
            return token
        return await self.refresh(stale=token, wait=self._wait)

    async def refresh(self, stale: CopilotToken | None = None, *, wait: float | None = None) -> CopilotToken:
        """Replace `stale` with a new token; callers that lost the race get the winner's.

        Concurrent callers share one exchange; `wait` bounds how long this one waits for it
        (the exchange goes on), then TokenUnavailable (503). Within the back-off after a failure
        no exchange is made: the last error is raised again."""
        current = self._token
        if current is not None and current is not stale and current.is_usable(self._clock()):
            return current
        exchange = self._exchanging
        if exchange is None:
            self._hold_back()
            exchange = self._exchanging = asyncio.get_running_loop().create_task(
                self._exchange_once(), name="colalamo-token-exchange")
            exchange.add_done_callback(_retrieve)
        try:
            return await asyncio.wait_for(asyncio.shield(exchange), wait)
        except asyncio.TimeoutError:
            raise TokenUnavailable(
                f"colalamo has no Copilot token yet: GitHub has not answered {EXCHANGE} for "
                f"{self.exchanging_for or 0:.0f} s (colalamo keeps waiting; /ready says when it can "
                f"answer): {GITHUB_HINT}",
                retry_after=self._wait) from None

    def _hold_back(self) -> None:
        # Within the back-off the answer would be the same: give it without asking GitHub.
        remaining = self._retry_at - time.monotonic()
        error = self.last_error
        if error is not None and remaining > 0.01:
            raise error.with_traceback(None)

    async def _exchange_once(self) -> CopilotToken:
        self._exchange_began = time.monotonic()
        try:
            token = await self._exchange()
        except ColalamoError as exc:
            self.failures += 1
            self._failing += 1
            self.last_error = exc
            self._retry_at = time.monotonic() + self._retry_delay(self._failing, self._token)
            raise
        finally:
            self._exchanging = None
        self._token, self.last_error, self._failing = token, None, 0
        return token

    async def _exchange(self) -> CopilotToken:
        self.exchanges += 1
        try:
            async with self._http.get(
                self._url, headers=self._headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                raw, too_large = await read_capped(response, MAX_TOKEN_ANSWER)
                text = decoded(response, raw)
                if response.status == 200:
                    if too_large:
                        raise BadUpstreamReply("GitHub's Copilot token answer is over 1 MiB")
                    token = CopilotToken.from_reply(_json_object(text), self._clock())
                    _check_not_expired(token, self._clock())
                    log.info("got a Copilot token valid for %.0f s", token.lifetime)
                    return token
        except asyncio.TimeoutError:  # first: aiohttp's read timeouts are ClientErrors too
            raise UpstreamTimeout(not_answered(EXCHANGE, self._timeout)) from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(unreachable(EXCHANGE, exc)) from None
        raise _exchange_error(response.status, text)

    # background refresh -------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._refresh_forever(), name="colalamo-token-refresh"
            )

    async def stop(self) -> None:
        for task in (self._task, self._exchanging):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ColalamoError):
                    await task
        self._task = None

    async def _refresh_forever(self) -> None:
        while True:
            token = self._token
            await asyncio.sleep(self._next_refresh_in(token))
            try:
                await self.refresh(stale=token)
            except ColalamoError as exc:
                log.warning(
                    "refreshing the Copilot token failed (%s); retrying in %.1f s%s",
                    exc.message,
                    max(self._retry_at - time.monotonic(), 0.0),
                    "; the current token is still valid"
                    if token is not None and token.is_usable(self._clock())
                    else "",
                )

    def _next_refresh_in(self, token: CopilotToken | None) -> float:
        """Never less than the floor once an exchange was made, whatever the token says."""
        if self._failing:
            return max(self._retry_at - time.monotonic(), 0.0)
        if token is None:
            return 0.0 if self.exchanges == 0 else self._floor
        return max(token.refresh_at - self._clock(), self._floor)

    def _retry_delay(self, failures: int, token: CopilotToken | None) -> float:
        """Exponential back-off, but not sleeping past the point where the token dies; never
        less than the floor."""
        delay: float = min(self._backoff_first * 2 ** min(failures - 1, 30), BACKOFF_MAX)
        if token is not None:
            remaining = token.expires_at - self._clock()
            if remaining > 0:
                delay = min(delay, remaining / 2)
        return max(delay, self._floor)


def _retrieve(task: asyncio.Task[CopilotToken]) -> None:
    # Every waiter may have given up on the exchange: read its outcome so asyncio does not
    # report it as never retrieved.
    if not task.cancelled():
        task.exception()


def _json_object(text: str) -> dict[str, Any]:
    try:
        reply = json.loads(text)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        raise BadUpstreamReply("GitHub's Copilot token answer is not JSON")
    return reply


def _check_not_expired(token: CopilotToken, now: float) -> None:
    """A token that is dead on arrival means this machine's clock, or GitHub's, is wrong;
    taking it would make the refresher exchange again at once, forever."""
    if token.is_usable(now):
        return
    raise UpstreamStatusError(
        502,
        f"GitHub handed out a Copilot token that has already expired by this machine's clock "
        f"(it expires at {_utc(token.expires_at)}, the clock says {_utc(now)}): this machine's clock "
        "is wrong (check its time and time sync, e.g. NTP), or GitHub's is; colalamo retries with back-off",
        code="copilot_token_expired_on_arrival",
    )


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


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
