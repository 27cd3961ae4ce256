"""A whole JSON answer, serialised once: orjson straight to bytes (aiohttp's `json_response`
makes text with the standard library, then encodes it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .._json import dumps


def json_answer(value: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=dumps(value), status=status, headers=headers,
                        content_type="application/json", charset="utf-8")
