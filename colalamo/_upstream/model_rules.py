"""Per-model request rules: what one model family refuses, handled here instead of by every client.

Where Copilot's `/models` says what a model supports (`capabilities.supports`), that decides;
OpenAI's reasoning models are recognised by their family (`o1`, `o3`, `o4-mini`, `gpt-5`...),
since `/models` has no flag for the parameters they refuse.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from typing import Any

from ..exceptions import InvalidRequest
from .headers import has_image

log = logging.getLogger(__name__)

REASONING_FAMILY = re.compile(r"^(o\d|gpt-5)")
SAMPLING = ("temperature", "top_p")


def is_reasoning(model_id: str, info: Mapping[str, Any] | None) -> bool:
    family = ((info or {}).get("capabilities") or {}).get("family") or model_id
    return _reasoning_family(family)


@functools.lru_cache(maxsize=256)  # a few families, asked on every request: matched once each
def _reasoning_family(family: str) -> bool:
    return bool(REASONING_FAMILY.match(family))


def _supports(info: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return ((info or {}).get("capabilities") or {}).get("supports") or {}


def adapt_chat_request(request: dict[str, Any], info: Mapping[str, Any] | None) -> dict[str, Any]:
    """Rewrite `request` (in place) to what its model accepts; refuse what it cannot do."""
    model = request["model"]
    supports = _supports(info)
    if supports.get("vision") is False and has_image(request.get("messages")):
        raise InvalidRequest(f"the model {model!r} does not accept images", param="messages")
    if supports.get("tool_calls") is False and request.get("tools"):
        raise InvalidRequest(f"the model {model!r} does not support tools", param="tools")
    if is_reasoning(model, info):
        _for_reasoning_model(request)
    else:
        _rename(request, "max_completion_tokens", "max_tokens")
        _retitle(request, "developer", "system")
    return request


def _for_reasoning_model(request: dict[str, Any]) -> None:
    model = request["model"]
    if (request.get("n") or 1) > 1:
        raise InvalidRequest(f"the model {model!r} answers one choice at a time; n must be 1", param="n")
    _rename(request, "max_tokens", "max_completion_tokens")
    _retitle(request, "system", "developer")
    for name in SAMPLING:
        # Reasoning models accept only their default sampling; a client's default
        # temperature must not make the request fail.
        if name in request and request[name] not in (None, 1):
            log.info("dropping %s=%s: %s does not accept it", name, request[name], model)
            del request[name]


def _rename(request: dict[str, Any], old: str, new: str) -> None:
    if old in request:
        value = request.pop(old)
        request.setdefault(new, value)


def _retitle(request: dict[str, Any], old_role: str, new_role: str) -> None:
    messages = request.get("messages")
    if not isinstance(messages, list):
        return
    for message in messages:  # a loop, not any() over a generator: every message of every request
        if message.get("role") == old_role:
            request["messages"] = [
                {**m, "role": new_role} if m.get("role") == old_role else m for m in messages
            ]
            return
