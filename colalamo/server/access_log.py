"""One access-log line per request: id, method, route, model, status, duration, time to first
token, tokens. As text, or as JSON for log shippers. No message content and no secret, unless
`--log-bodies` asks for the bodies (tokens masked even then)."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .._logging import mask_secrets
from .keys import SETTINGS
from .observe import (
    BODY,
    CALL,
    MODEL,
    credits,
    premium_cost,
    request_id,
    time_to_first_byte,
    tokens,
)
from .traffic import note_request

MAX_LOGGED_BODY = 10_000


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        note_request(request, response.status, time)  # the status page's figures
        if not self.logger.isEnabledFor(logging.INFO):
            return
        prompt, completion = tokens(request)
        record: dict[str, Any] = {
            "request_id": request_id(request),
            "method": request.method,
            "path": request.path,
            "model": request.get(MODEL),
            "status": response.status,
            "duration_ms": _ms(time),
            "ttft_ms": _ms(time_to_first_byte(request)),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "premium": premium_cost(request),
            "credits": credits(request),
        }
        call = request.get(CALL)
        if call is not None:
            record["key"] = call.key_id
            if call.fallback_from:
                record["fallback"] = f"{call.fallback_from}->{call.fallback_to}"
        app = getattr(request, "app", None)
        settings = app.get(SETTINGS) if app is not None else None
        if settings is not None and settings.log_bodies and BODY in request:
            record["body"] = mask_secrets(request[BODY][:MAX_LOGGED_BODY])
        if settings is not None and settings.log_format == "json":
            self.logger.info(json.dumps({"event": "access", **record}))
        else:
            self.logger.info(" ".join(f"{k}={'-' if v is None else v}" for k, v in record.items()))


ACCESS_LOG = logging.getLogger("colalamo.access")
