"""The original colalamo's answer shapes, kept for its users (`Copilot().ask`, `POST /ask`)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from .exceptions import ColalamoError, UpstreamStatusError


def legacy_reply(completion: dict[str, Any]) -> dict[str, Any]:
    """`{"reply": <text of the first choice>, "usage": {...}}`."""
    choices = completion.get("choices") or [{}]
    message = choices[0].get("message") or {}
    return {"reply": message.get("content"), "usage": completion.get("usage")}


def legacy_error(exc: ColalamoError) -> tuple[int, dict[str, str]]:
    """The status and `{"reason": ..., "text": ...}` the original gave for a failed call."""
    status = exc.status
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if isinstance(exc, UpstreamStatusError):
        return status, {"reason": exc.reason or phrase, "text": exc.body or exc.message}
    return status, {"reason": phrase, "text": exc.message}
