"""Copilot's error answers, read into an UpstreamStatusError that says what went wrong."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from ..exceptions import UpstreamStatusError

# Upstream headers worth passing on to a client that got an error.
PASSED_ON_HEADERS = ("Retry-After", "retry-after-ms", "x-ratelimit-remaining", "x-ratelimit-reset")


async def status_error(response: aiohttp.ClientResponse) -> UpstreamStatusError:
    try:
        text = await response.text()
    except (aiohttp.ClientError, asyncio.TimeoutError):
        text = ""
    finally:
        response.release()
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
    return UpstreamStatusError(
        response.status,
        message,
        body=text,
        reason=reason,
        code=code if isinstance(code, str) else None,
        param=param if isinstance(param, str) else None,
        error_type=error_type if isinstance(error_type, str) else None,
        headers=headers,
    )
