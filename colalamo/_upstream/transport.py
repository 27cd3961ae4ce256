"""Sending one request to the Copilot API: the URL, the token, one refresh-and-retry on 401,
retries of connections that could not even be made, the account-wide back-off and the local
rate limit, and failures turned into `UpstreamError`s that say what happened.

What to send and what it costs is the client's business (`client.py`); this module only
carries it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .._json import dumps_kept, loads
from .._state.base import SharedState
from ..config import Settings
from ..exceptions import (
    BadUpstreamReply,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from .bodies import MAX_ANSWER_BYTES, decoded, read_capped
from .context import current_call
from .errors import status_error
from .headers import ClientIdentity
from .pacing import PACING, Pacing
from .token_manager import TokenManager

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.githubcopilot.com"

Headers = Callable[[str], dict[str, str]]  # the Copilot token -> a call's headers


class Transport:
    def __init__(self, http: aiohttp.ClientSession, tokens: TokenManager, settings: Settings,
                 state: SharedState, pacing: Pacing = PACING) -> None:
        self._http = http
        self._connect_retry_delays = pacing.connect_retry_delays  # for connections that could not even be made
        self._tokens = tokens
        self._settings = settings
        self.backoff = state.backoff
        self._limiter = state.limiter

    @property
    def identity(self) -> ClientIdentity:
        return self._tokens.identity

    def base_url(self, token_api_url: str | None) -> str:
        settings = self._settings
        return settings.copilot_api_url or token_api_url or settings.copilot_api_fallback or DEFAULT_API_URL

    async def open(
        self,
        method: str,
        path: str,
        body: Any,
        headers: Headers,
        *,
        limited: bool = True,
    ) -> aiohttp.ClientResponse:
        """Send one request; on 401 refresh the Copilot token once and send it again.

        Every call respects the account back-off (and a 429 to a call sent after the last
        pause extends it); `limited` calls also wait for the local rate limit. Redirects are
        never followed: they would send the conversation and the token elsewhere. Raises
        `UpstreamError` for any failure.
        """
        self.backoff.check()
        if limited and self._limiter is not None:
            await self._limiter.acquire()
        token = await self._tokens.get()
        data = dumps_kept(body) if body is not None else None
        call = current_call()  # its upstream times make the Server-Timing header
        for attempt in (1, 2):
            url = f"{self.base_url(token.api_url)}{path}"
            sent_at = self.backoff.now()
            call.note_sent(time.monotonic())
            response = await self._send(method, url, data, headers(token.value))
            call.note_answered(time.monotonic())
            if response.status == 401 and attempt == 1:
                response.release()
                log.info("Copilot answered 401; refreshing the Copilot token and retrying once")
                token = await self._tokens.refresh(stale=token, wait=self._tokens.wait)
                continue
            if response.status == 429:
                pause = self.backoff.rate_limited(response.headers, sent_at=sent_at)
                log.warning("Copilot answered 429; holding requests back for %.0f s", pause)
            if 300 <= response.status < 400:
                raise _redirected(response)
            if response.status >= 400:
                raise await status_error(response)
            self.backoff.succeeded()
            return response
        raise AssertionError("unreachable")

    async def json(self, method: str, path: str, body: Any, headers: Headers, **options: Any) -> Any:
        """A whole JSON answer."""
        response = await self.open(method, path, body, headers, **options)
        too_large = False
        try:
            raw, too_large = await read_capped(response, MAX_ANSWER_BYTES)
        except asyncio.TimeoutError:
            raise UpstreamTimeout("Copilot did not finish its answer in time") from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(f"the connection to Copilot broke: {exc}") from None
        finally:
            response.close() if too_large else response.release()
        current_call().note_answered(time.monotonic())  # the whole answer is in
        if too_large:
            raise UpstreamStatusError(
                502, f"Copilot's answer is larger than {MAX_ANSWER_BYTES // 2**20} MiB (decompressed); "
                "colalamo does not take it", code="upstream_answer_too_large")
        text = decoded(response, raw)
        try:
            return loads(text)
        except ValueError:
            raise BadUpstreamReply(f"Copilot's answer is not JSON: {text[:200]!r}") from None

    async def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> aiohttp.ClientResponse:
        """One HTTP request. A connection that could not be made is tried again with
        back-off: nothing reached Copilot. Anything after that is not: Copilot may have
        processed it, and retrying is the client's decision."""
        for delay in (*self._connect_retry_delays, None):
            try:
                return await self._http.request(method, url, data=data, headers=headers, allow_redirects=False)
            except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientConnectorSSLError) as exc:
                raise UpstreamUnreachable(f"cannot reach Copilot at {url}: {exc}") from None  # no retry helps
            except aiohttp.ClientConnectorError as exc:
                if delay is None:
                    raise UpstreamUnreachable(f"cannot reach Copilot at {url}: {exc}") from None
                log.warning("cannot connect to Copilot (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
            except asyncio.TimeoutError:
                raise UpstreamTimeout(f"Copilot did not answer {method} {url} in time") from None
            except aiohttp.ClientError as exc:
                raise UpstreamUnreachable(f"the connection to Copilot broke: {exc}") from None
        raise AssertionError("unreachable")


def _redirected(response: aiohttp.ClientResponse) -> UpstreamStatusError:
    response.release()
    where = urlsplit(response.headers.get("Location", "")).netloc or "the same host"
    return UpstreamStatusError(
        502, f"Copilot answered {response.status}, a redirect to {where}; colalamo never follows "
        "redirects upstream (the request would go elsewhere). Check COLALAMO_COPILOT_API_URL, "
        "proxy settings, or what the token's endpoints.api names", code="upstream_redirect")
