"""Copilot's error answers, read into an UpstreamStatusError that says what went wrong."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp

from ..exceptions import UpstreamStatusError
from .bodies import MAX_ERROR_BYTES, cut, decoded, read_capped

log = logging.getLogger(__name__)

# Upstream headers worth passing on to a client that got an error.
PASSED_ON_HEADERS = ("Retry-After", "retry-after-ms", "x-ratelimit-remaining", "x-ratelimit-reset")
# Copilot's answer to a client it deems too old (since February 2026).
CLIENT_OUTDATED = 466
# The headers Copilot judges a client by, and the settings that change them.
VERSION_HEADERS = ("Editor-Version", "Editor-Plugin-Version", "X-GitHub-Api-Version")
VERSION_SETTINGS = "COLALAMO_EDITOR_VERSION, COLALAMO_PLUGIN_VERSION and COLALAMO_API_VERSION"
OUTDATED_LOG_INTERVAL = 3600.0  # seconds between two warnings in the log
_outdated_logged_at: float | None = None


async def status_error(response: aiohttp.ClientResponse) -> UpstreamStatusError:
    """The error Copilot answered; its message (and body) cut to a few KB, marked as cut."""
    more = False
    try:
        raw, more = await read_capped(response, MAX_ERROR_BYTES)
        text = decoded(response, raw)
    except (aiohttp.ClientError, asyncio.TimeoutError):
        text = ""
    finally:
        response.close() if more else response.release()
    headers = {name: response.headers[name] for name in PASSED_ON_HEADERS if name in response.headers}
    reason = response.reason or ""
    message, code, param, error_type = text.strip() or reason, None, None, None
    try:  # Copilot sometimes labels its JSON errors text/plain: look at the body, not the label
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or message)
        code, param, error_type = error.get("code"), error.get("param"), error.get("type")
    elif isinstance(error, str):
        message = error
    elif isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        message = parsed["message"]
    message = cut(message, more=more and parsed is None)
    if response.status == CLIENT_OUTDATED:
        return client_outdated(response, message)
    return UpstreamStatusError(
        response.status,
        message,
        body=cut(text, more=more),
        reason=reason,
        code=code if isinstance(code, str) else None,
        param=param if isinstance(param, str) else None,
        error_type=error_type if isinstance(error_type, str) else None,
        headers=headers,
    )


def client_outdated(response: aiohttp.ClientResponse, said: str) -> UpstreamStatusError:
    """A 466: a 502 saying which versions were refused and which settings change them.

    The versions are read from the request as sent, so the message is true whatever sent it.
    No `body`: what Copilot said is in the message, and answers that would pass the body on
    as is (/ask) give the message instead.
    """
    sent = response.request_info.headers
    versions = ", ".join(f"{name} {sent.get(name, '(not sent)')}" for name in VERSION_HEADERS)
    message = (
        f"Copilot refused colalamo's client version ({versions}): set {VERSION_SETTINGS} "
        f"to current values, or update colalamo. Copilot said: {said}"
    )
    _log_outdated(message)
    return UpstreamStatusError(502, message, code="copilot_client_outdated")


def _log_outdated(message: str) -> None:
    # Every request fails the same way until the settings change: once an hour is enough.
    global _outdated_logged_at
    now = time.monotonic()
    if _outdated_logged_at is None or now - _outdated_logged_at >= OUTDATED_LOG_INTERVAL:
        _outdated_logged_at = now
        log.warning("%s", message)
