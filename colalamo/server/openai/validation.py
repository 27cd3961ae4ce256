"""Checks on OpenAI request bodies: a bad field is a 400 that names it."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def validate_chat_request(body: dict[str, Any]) -> None:
    messages = body.get("messages")
    if messages is None:
        raise ApiError.bad_request("'messages' is required", "messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError.bad_request("'messages' must be a non-empty list of messages", "messages")
    for n, message in enumerate(messages):
        where = f"messages[{n}]"
        if not isinstance(message, dict):
            raise ApiError.bad_request(f"'{where}' must be an object", where)
        role = message.get("role")
        if role not in ROLES:
            raise ApiError.bad_request(
                f"'{where}.role' must be one of {', '.join(sorted(ROLES))}, not {role!r}",
                f"{where}.role",
            )
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise ApiError.bad_request(
                f"'{where}.content' must be a string or a list of content parts", f"{where}.content"
            )
    _check_type(body, "model", str, "a string")
    _check_type(body, "stream", bool, "true or false")
    _check_type(body, "stream_options", dict, "an object")


def _check_type(body: dict[str, Any], name: str, kind: type, described: str) -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise ApiError.bad_request(f"'{name}' must be {described}", name)
