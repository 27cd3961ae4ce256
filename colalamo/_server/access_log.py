"""One access-log line per request: id, method, route, model, status, duration, time to first
token, tokens. As text, or as JSON for log shippers. No message content and no secret, unless
`--log-bodies` asks for the bodies (tokens masked even then).

Every field a client chose (path, model) has its control characters escaped, and a text value
with a space or a quote is quoted, so no request can forge a line or a field. Requests that
never reached the app (malformed HTTP) are logged too, as one line."""

from __future__ import annotations

import json
import logging
import time as clock
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .._logging import escape_controls, mask_secrets
from .observe import (
    CLIENT_CLOSED,
    Observed,
    credits,
    final_status,
    observed,
    premium_cost,
    time_to_first_byte,
    tokens,
)
from .traffic import note_request

MAX_LOGGED_BODY = 10_000


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def access_record(request: web.BaseRequest, status: int, duration: float) -> dict[str, Any]:
    seen = observed(request) or _NOTHING_SEEN  # nothing, for a request that never reached the app
    prompt, completion = tokens(seen)
    record: dict[str, Any] = {
        "request_id": seen.request_id,
        "method": request.method,
        "path": request.path,
        "model": seen.model,
        "status": CLIENT_CLOSED if seen.client_gone else status,
        "duration_ms": _ms(duration),
        "ttft_ms": _ms(time_to_first_byte(seen)),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "premium": premium_cost(seen),
        "credits": credits(seen),
    }
    call = seen.call
    if call is not None:
        record["key"] = call.key_id
        if call.fallback_from:
            record["fallback"] = f"{call.fallback_from}->{call.fallback_to}"
    if seen.body is not None:  # only kept when --log-bodies asked for it
        record["body"] = mask_secrets(seen.body[:MAX_LOGGED_BODY])
    return record


_NOTHING_SEEN = Observed("-", 0.0)  # read, never written


def _text_value(value: Any) -> str:
    if value is None:
        return "-"
    text = escape_controls(str(value))
    if not text or any(c in text for c in ' "='):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def format_access(record: dict[str, Any], log_format: str) -> str:
    if log_format == "json":  # json.dumps escapes control characters itself
        return json.dumps({"event": "access", **record})
    return " ".join(f"{k}={_text_value(v)}" for k, v in record.items())


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access logger; its `log_format` is colalamo's: "text" or "json"."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        note_request(request, final_status(request, response.status), time)  # the status page's figures
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info(format_access(access_record(request, response.status, time), self.log_format))


def log_client_gone(request: web.BaseRequest, log_format: str) -> None:
    """The access line of a request whose handler was cancelled because its client left:
    aiohttp writes none for those."""
    seen = observed(request)
    duration = clock.monotonic() - seen.started if seen is not None else 0.0
    note_request(request, CLIENT_CLOSED, duration)
    if ACCESS_LOG.isEnabledFor(logging.INFO):
        ACCESS_LOG.info(format_access(access_record(request, CLIENT_CLOSED, duration), log_format))


ACCESS_LOG = logging.getLogger("colalamo.access")
