"""The original colalamo's answer shapes, kept for its users (`Copilot().ask`, `POST /ask`)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from .exceptions import ColalamoError, UpstreamStatusError


def status_phrase(status: int) -> str:
    """`Bad Gateway` for 502; `Error` for a status HTTP has no name for."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def legacy_reply(completion: dict[str, Any]) -> dict[str, Any]:
    """`{"reply": <text of the first choice>, "usage": {...}}`."""
    choices = completion.get("choices") or [{}]
    message = choices[0].get("message") or {}
    return {"reply": message.get("content"), "usage": completion.get("usage")}


def legacy_error_text(status: int, message: str, *, reason: str = "", detail: str = "") -> dict[str, str]:
    """`{"reason": ..., "text": ...}`, as the original gave for a failed call: Copilot's own
    reason and words when it refused, else the status's name and colalamo's message."""
    return {"reason": reason or status_phrase(status), "text": detail or message}


def legacy_error(exc: ColalamoError) -> tuple[int, dict[str, str]]:
    """The status and `{"reason": ..., "text": ...}` of a failed library call."""
    if isinstance(exc, UpstreamStatusError):
        return exc.status, legacy_error_text(exc.status, exc.message, reason=exc.reason, detail=exc.body)
    return exc.status, legacy_error_text(exc.status, exc.message)
