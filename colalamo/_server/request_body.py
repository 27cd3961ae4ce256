"""A request's JSON body, read once and checked: a 400 that says what is wrong with it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .._json import MAX_DEPTH, loads, nested_deeper_than
from .app_keys import SETTINGS
from .errors import ApiError
from .observe import note_body


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 saying what is wrong with it."""
    raw = await request.read()
    if request.app[SETTINGS].log_bodies:
        note_body(request, raw.decode("utf-8", errors="replace"))
    if not raw or raw.isspace():  # as `not raw.strip()`, without copying the body
        raise ApiError.bad_request("the request body is empty; send a JSON object")
    try:  # orjson refuses NaN, Infinity and nesting deeper than 1,024, as it should
        body = loads(raw)
    except ValueError as exc:
        raise ApiError.bad_request(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError.bad_request("the request body must be a JSON object")
    if nested_deeper_than(raw, body, MAX_DEPTH):  # deeper than colalamo can write back out
        raise ApiError.bad_request(f"the request body nests JSON deeper than {MAX_DEPTH} levels")
    return body
